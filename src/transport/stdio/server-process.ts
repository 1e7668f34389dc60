import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { withoutGovSettings } from '../../launcher/child-env.js';
import { exitCodeFor, spawnFailure, startGoverned } from '../../launcher/spawn-child.js';

export const DEFAULT_GRACE_MS = 2000;

export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** gov's exit code for it: its own, or 128+signal when killed. */
  exitCode: number;
}

export interface ServerProcess {
  pid: number;
  stdin: Writable;
  stdout: Readable;
  /** Resolves once, when the server has exited. */
  exited: Promise<ServerExit>;
  readonly running: boolean;
  /**
   * Ask the server to exit the way MCP's stdio transport does: close its stdin, wait `graceMs`,
   * SIGTERM, wait again, SIGKILL. Resolves when it is gone.
   */
  stop(graceMs?: number): Promise<ServerExit>;
  /** Kill it now if still running (used when gov itself exits). */
  kill(): void;
}

/** The server's environment: gov's own, without gov's settings (the vault passphrase above all). */
export function serverEnv(parent: NodeJS.ProcessEnv, runId: string): Record<string, string> {
  return { ...withoutGovSettings(parent), GOV_RUN_ID: runId };
}

/**
 * Spawn the stdio MCP server (never a shell) with piped stdin/stdout; its stderr
 * is gov's stderr. If gov exits first the server is killed, so there are no orphans (on Linux
 * through a parent-death signal too, so also when gov is killed with SIGKILL).
 */
export function spawnServer(o: {
  command: string;
  args: string[];
  env: Record<string, string>;
}): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    let child: ChildProcessByStdio<Writable, Readable, null>;
    try {
      child = startGoverned({ ...o, stdio: ['pipe', 'pipe', 'inherit'] }) as ChildProcessByStdio<
        Writable,
        Readable,
        null
      >;
    } catch (err) {
      return reject(err instanceof Error ? err : new Error(String(err)));
    }
    let running = true;
    const killOnExit = () => {
      if (running) child.kill('SIGKILL');
    };
    process.on('exit', killOnExit);
    const exited = new Promise<ServerExit>((res) => {
      child.once('exit', (code, signal) => {
        running = false;
        process.off('exit', killOnExit);
        res({ code, signal, exitCode: exitCodeFor(code, signal) });
      });
    });
    // A server that stops reading must not crash gov with EPIPE; the exit handler reports it.
    child.stdin.on('error', () => undefined);
    child.stdout.on('error', () => undefined);

    const waitFor = (ms: number) =>
      new Promise<boolean>((res) => {
        if (!running) return res(true);
        const t = setTimeout(() => res(false), ms);
        void exited.then(() => {
          clearTimeout(t);
          res(true);
        });
      });

    let stopping: Promise<ServerExit> | undefined;
    const stop = (graceMs = DEFAULT_GRACE_MS): Promise<ServerExit> => {
      stopping ??= (async () => {
        if (!child.stdin.destroyed) child.stdin.end();
        if (!(await waitFor(graceMs))) {
          child.kill('SIGTERM');
          if (!(await waitFor(graceMs))) child.kill('SIGKILL');
        }
        return exited;
      })();
      return stopping;
    };

    child.once('error', (err: NodeJS.ErrnoException) => {
      running = false;
      process.off('exit', killOnExit);
      reject(spawnFailure(o.command, err));
    });
    child.once('spawn', () =>
      resolve({
        pid: child.pid!,
        stdin: child.stdin,
        stdout: child.stdout,
        exited,
        get running() {
          return running;
        },
        stop,
        kill: killOnExit,
      }),
    );
  });
}
