import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createRequire } from 'node:module';

/**
 * Start a program without a shell. cross-spawn matters only on Windows (PATHEXT, shebang
 * scripts); elsewhere it is node's own spawn, so it is loaded only there (it costs start-up
 * time on every run otherwise).
 */
export function spawnProgram(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  if (process.platform !== 'win32') return spawn(command, args, options);
  const crossSpawn = createRequire(import.meta.url)('cross-spawn') as typeof spawn;
  return crossSpawn(command, args, options);
}
