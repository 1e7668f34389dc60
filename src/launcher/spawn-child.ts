import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import crossSpawn from 'cross-spawn';
import { GovError } from '../errors.js';

export interface SpawnedChild {
  child: ChildProcess;
  /** Resolves with gov's exit code for the child: its own, or 128+signal when killed. */
  exited: Promise<number>;
  /** Stop forwarding signals and make sure the child is gone. */
  dispose(): void;
}

export function exitCodeFor(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  if (signal) return 128 + (constants.signals[signal] ?? 0);
  return 1;
}

/**
 * Spawn the governed command (cross-spawn, never a shell). SIGINT/SIGTERM/SIGHUP sent to gov are
 * forwarded to the child; if gov itself exits first the child is killed, so no orphans.
 */
export function spawnChild(opts: {
  command: string;
  args: string[];
  env: Record<string, string>;
  stdio: 'inherit' | 'pipe';
}): Promise<SpawnedChild> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = crossSpawn(opts.command, opts.args, { env: opts.env, stdio: opts.stdio });
    } catch (err) {
      reject(new GovError('spawn', `cannot start '${opts.command}': ${(err as Error).message}`));
      return;
    }
    const forwarded: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const handlers = new Map<NodeJS.Signals, () => void>();
    for (const sig of forwarded) {
      const h = () => {
        if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      };
      handlers.set(sig, h);
      process.on(sig, h);
    }
    const killOnExit = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    process.on('exit', killOnExit);
    const dispose = () => {
      for (const [sig, h] of handlers) process.off(sig, h);
      process.off('exit', killOnExit);
      killOnExit();
    };
    const exited = new Promise<number>((res) => {
      child.once('exit', (code, signal) => res(exitCodeFor(code, signal)));
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      dispose();
      const hint =
        err.code === 'ENOENT' ? 'check the command name and PATH' : 'check the command and its permissions';
      reject(new GovError('spawn', `cannot start '${opts.command}': ${err.code ?? err.message}`, { hint }));
    });
    child.once('spawn', () => resolve({ child, exited, dispose }));
  });
}
