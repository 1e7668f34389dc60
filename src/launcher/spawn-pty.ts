import { constants } from 'node:os';
import type { IPty } from '@lydell/node-pty';
import { GovError } from '../errors.js';
import { exitCodeFor } from './spawn-child.js';
import { withParentDeathSignal } from './parent-death.js';

export interface PtyChild {
  pty: IPty;
  /** Resolves with gov's exit code for the child: its own, or 128+signal when killed. */
  exited: Promise<number>;
  /** Stop forwarding signals and make sure the child is gone. */
  dispose(): void;
}

/** node-pty reports a signal by number; exitCodeFor takes its name. */
function signalName(n: number): NodeJS.Signals | null {
  const entry = Object.entries(constants.signals).find(([, v]) => v === n);
  return entry ? (entry[0] as NodeJS.Signals) : null;
}

/**
 * Start the governed command on a new pseudo-terminal of the given size (an interactive
 * agent sees a real terminal). Ctrl-C reaches it through the terminal itself; SIGINT/SIGTERM/SIGHUP
 * sent to gov are forwarded, and the child is killed if gov exits first. Returns undefined
 * when node-pty cannot be loaded here (no prebuilt binary for this platform).
 */
export async function spawnInPty(opts: {
  command: string;
  args: string[];
  env: Record<string, string>;
  cols: number;
  rows: number;
}): Promise<PtyChild | undefined> {
  let spawn: typeof import('@lydell/node-pty').spawn;
  try {
    ({ spawn } = await import('@lydell/node-pty'));
  } catch {
    return undefined;
  }
  // Like spawnChild: on Linux the child dies with gov, even when gov is killed with SIGKILL.
  const launch = withParentDeathSignal(opts.command, opts.args, opts.env);
  let pty: IPty;
  try {
    pty = spawn(launch.command, launch.args, {
      name: opts.env['TERM'] ?? 'xterm-256color',
      cols: opts.cols,
      rows: opts.rows,
      cwd: process.cwd(),
      env: opts.env,
    });
  } catch (err) {
    throw new GovError('spawn', `cannot start '${opts.command}': ${(err as Error).message}`, {
      hint: 'check the command name and PATH',
    });
  }
  let done = false;
  // Like spawnChild's, these stay installed (and do nothing once the child is gone), so a
  // late signal cannot cut short gov closing the proxy and sealing the audit.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (!done) pty.kill(sig);
    });
  }
  const killOnExit = () => {
    if (!done) pty.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  const exited = new Promise<number>((resolve) => {
    pty.onExit(({ exitCode, signal }) => {
      done = true;
      resolve(signal ? exitCodeFor(null, signalName(signal)) : exitCode);
    });
  });
  return {
    pty,
    exited,
    dispose() {
      process.off('exit', killOnExit);
      killOnExit();
    },
  };
}
