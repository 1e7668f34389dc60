/**
 * Crash-safe replacement of a small file: write a temp file in the same directory
 * (exclusive create, final mode from the start), fsync it, rename over the target, fsync
 * the directory. Readers see the old or the new content, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  constants,
} from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

const CREATE_EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

/**
 * `durable: false` is for files that mean nothing after a reboot (a live run's descriptor, a
 * per-run trust file): readers still never see a torn file, but the two fsyncs (often 5-20 ms
 * on a busy disk, paid on every start) are skipped.
 */
export function writeFileAtomic(
  path: string,
  data: string,
  mode = 0o600,
  opts: { durable?: boolean } = {},
): void {
  const durable = opts.durable ?? true;
  const dir = dirname(path);
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, CREATE_EXCLUSIVE, mode);
  try {
    const buf = Buffer.from(data, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkQuiet(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkQuiet(tmp);
    throw err;
  }
  if (durable) fsyncDir(dir);
}

/**
 * The same steps without blocking the event loop (for files rewritten while gov serves).
 * `syncDir: false` keeps the file's fsync (after a power loss the file is the old or the new
 * content, never empty) but skips the directory's, so the rename itself may be lost.
 */
export async function writeFileAtomicAsync(
  path: string,
  data: string,
  mode = 0o600,
  opts: { syncDir?: boolean } = {},
): Promise<void> {
  const syncDir = opts.syncDir ?? true;
  const tmp = tempPathFor(path);
  const file = await fsp.open(tmp, CREATE_EXCLUSIVE, mode);
  try {
    try {
      await file.writeFile(data, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  if (!syncDir) return;
  const dir = await fsp.open(dirname(path), constants.O_RDONLY).catch(() => undefined);
  if (dir) {
    // Some platforms cannot fsync a directory; the rename is still atomic.
    await dir.sync().catch(() => undefined);
    await dir.close();
  }
}

/**
 * What identifies one version of a file that is only ever replaced by rename: its inode
 * changes with every replacement, which mtime alone (kernel tick granularity) can miss when
 * two writes land in the same few milliseconds. '' when the file is absent.
 */
export function fileStamp(path: string): string {
  try {
    const st = statSync(path);
    return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch {
    return '';
  }
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
