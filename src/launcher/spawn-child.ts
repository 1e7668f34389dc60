import type { ChildProcess, StdioOptions } from 'node:child_process';
import { spawnProgram } from './spawn-program.js';
import { constants } from 'node:os';
import { GovError } from '../errors.js';
import { withParentDeathSignal } from './parent-death.js';

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
 * Start a governed process (never a shell), with a parent-death signal on Linux
 * so it dies even when gov is killed with SIGKILL. Throws gov's spawn error when the command
 * cannot be resolved; a failure after that arrives as the child's 'error' (see spawnFailure).
 */
export function startGoverned(o: {
  command: string;
  args: string[];
  env: Record<string, string>;
  stdio: StdioOptions;
}): ChildProcess {
  try {
    const spawned = withParentDeathSignal(o.command, o.args, o.env);
    return spawnProgram(spawned.command, spawned.args, { env: o.env, stdio: o.stdio });
  } catch (err) {
    if (err instanceof GovError) throw err;
    throw new GovError('spawn', `cannot start '${o.command}': ${(err as Error).message}`);
  }
}

/** gov's error for a child's 'error' event (the command could not be executed). */
export function spawnFailure(command: string, err: NodeJS.ErrnoException): GovError {
  const hint =
    err.code === 'ENOENT' ? 'check the command name and PATH' : 'check the command and its permissions';
  return new GovError('spawn', `cannot start '${command}': ${err.code ?? err.message}`, { hint });
}

/**
 * Spawn the governed command (never a shell). SIGINT/SIGTERM/SIGHUP sent to gov are
 * forwarded to the child; if gov itself exits first the child is killed, so no orphans. On Linux
 * it also gets a parent-death signal, so it dies even when gov is killed with SIGKILL.
 */
export function spawnChild(opts: {
  command: string;
  args: string[];
  env: Record<string, string>;
  stdio: 'inherit' | 'pipe';
  /** Where forwarded signals go when not to the spawned process itself (an isolation sandbox's init). */
  signalTarget?: (pid: number) => number | undefined;
  /** Already started (and spawned) by startGoverned: take it over instead of starting `command`. */
  started?: ChildProcess;
}): Promise<SpawnedChild> {
  return new Promise((resolve, reject) => {
    // Handlers first: a signal that arrives while the child is being started is delivered to
    // it as soon as it exists. They stay installed after the child is gone and then do nothing,
    // so a signal arriving while gov closes the proxy and seals the audit cannot cut that short.
    let child: ChildProcess | undefined;
    let early: NodeJS.Signals | undefined;
    const forward = (c: ChildProcess, sig: NodeJS.Signals) => {
      const target = c.pid !== undefined ? opts.signalTarget?.(c.pid) : undefined;
      if (target === undefined) return void c.kill(sig);
      try {
        process.kill(target, sig);
      } catch {
        c.kill(sig);
      }
    };
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(sig, () => {
        if (!child) early = sig;
        else if (child.exitCode === null && child.signalCode === null) forward(child, sig);
      });
    }
    try {
      child = opts.started ?? startGoverned(opts);
    } catch (err) {
      return reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (early) child.kill(early);
    const started = child;
    const killOnExit = () => {
      if (started.exitCode === null && started.signalCode === null) started.kill('SIGKILL');
    };
    process.on('exit', killOnExit);
    const dispose = () => {
      process.off('exit', killOnExit);
      killOnExit();
    };
    const exited = new Promise<number>((res) => {
      // A process taken over may be gone already.
      if (started.exitCode !== null || started.signalCode !== null)
        return res(exitCodeFor(started.exitCode, started.signalCode));
      started.once('exit', (code, signal) => res(exitCodeFor(code, signal)));
    });
    started.once('error', (err: NodeJS.ErrnoException) => {
      dispose();
      reject(spawnFailure(opts.command, err));
    });
    if (opts.started) resolve({ child: started, exited, dispose });
    else started.once('spawn', () => resolve({ child: started, exited, dispose }));
  });
}
