import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { GovError } from '../errors.js';

/** Where gov looks for util-linux `setpriv` (an absolute path: the child's PATH is not trusted). */
const SETPRIV_CANDIDATES = ['/usr/bin/setpriv', '/bin/setpriv', '/usr/sbin/setpriv', '/sbin/setpriv'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Resolve `command` the way execvp would, with the child's PATH; undefined when not found. */
export function resolveCommand(command: string, env: Record<string, string>): string | undefined {
  if (command.includes('/')) {
    const abs = isAbsolute(command) ? command : resolve(command);
    return executable(abs) ? abs : undefined;
  }
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * On Linux the governed process must die with gov, even when gov is killed with SIGKILL and no
 * exit handler runs: otherwise the agent (or a stdio server) lives on ungoverned. `setpriv
 * --pdeathsig KILL` sets the parent-death signal and then execs the command, so the pid gov
 * holds is the command's own and signals forwarded to it arrive unchanged. Elsewhere the
 * command is returned as is (see README: gov's exit handler kills it, SIGKILL of gov does not).
 *
 * The command is resolved first so that a missing one is reported as gov's usual spawn error
 * rather than as setpriv's exit status 127.
 */
export function withParentDeathSignal(
  command: string,
  args: string[],
  env: Record<string, string>,
  platform: NodeJS.Platform = process.platform,
): { command: string; args: string[] } {
  if (platform !== 'linux') return { command, args };
  const setpriv = SETPRIV_CANDIDATES.find(executable);
  if (!setpriv) {
    throw new GovError('spawn', 'setpriv not found: gov needs it so the governed process dies with gov', {
      hint: 'install util-linux (apt-get install util-linux)',
    });
  }
  const resolved = resolveCommand(command, env);
  if (!resolved) {
    throw new GovError('spawn', `cannot start '${command}': ENOENT`, {
      hint: 'check the command name and PATH',
    });
  }
  return { command: setpriv, args: ['--pdeathsig', 'KILL', '--', resolved, ...args] };
}
