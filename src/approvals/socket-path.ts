import { mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * sun_path is 108 bytes on Linux and 104 on macOS, NUL included; stay under both.
 */
export const MAX_SOCKET_PATH_BYTES = 100;

export function socketPathFits(path: string): boolean {
  return Buffer.byteLength(path, 'utf8') <= MAX_SOCKET_PATH_BYTES;
}

/**
 * Where a run's control socket lives: `$GOV_HOME/runs/<run>.sock` when that path fits,
 * else a fresh 0700 directory under the OS temp dir (the descriptor records the real
 * path, so clients never guess). `fallbackDir` is set when the temp dir was used.
 */
export function chooseSocketPath(runsDir: string, run: string): { socket: string; fallbackDir?: string } {
  const preferred = join(runsDir, `${run}.sock`);
  if (socketPathFits(preferred)) return { socket: preferred };
  const dir = mkdtempSync(join(tmpdir(), 'gov-'));
  chmodSync(dir, 0o700);
  const socket = join(dir, 'control.sock');
  if (!socketPathFits(socket)) {
    throw new Error(`no usable control socket path: ${socket} is longer than ${MAX_SOCKET_PATH_BYTES} bytes`);
  }
  return { socket, fallbackDir: dir };
}
