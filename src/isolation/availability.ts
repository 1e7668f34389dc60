import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The namespaces the sandbox runs in (unshare flags): the probe checks exactly these. */
export const NAMESPACES = ['--user', '--map-root-user', '--net', '--mount', '--pid', '--fork'];
import { GovError } from '../errors.js';

/** The helper binaries the sandbox runs, as found on PATH. */
type Tools = { ip: string; mount: string; unshare: string };

/** Whether `gov run --isolate` can work here, and if not, the one cause and its fix. */
export type IsolationSupport = { ok: true; tools: Tools } | { ok: false; cause: string; fix: string };

function readSysctl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function which(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const dirs = (env['PATH'] ?? '').split(delimiter).concat(['/usr/bin', '/usr/sbin', '/bin', '/sbin']);
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

const TOOLS = [
  ['unshare', 'util-linux'],
  ['mount', 'mount'],
  ['ip', 'iproute2'],
] as const;

/**
 * The checks that start no process, cheapest first: the OS, the helper binaries, the sysctls
 * that switch unprivileged user namespaces off.
 */
function prerequisites(env: NodeJS.ProcessEnv): IsolationSupport {
  if (process.platform !== 'linux')
    return {
      ok: false,
      cause: `isolation needs Linux namespaces; this is ${process.platform}`,
      fix: 'run gov inside a Linux VM or container to use --isolate',
    };
  const tools: Record<string, string> = {};
  for (const [name, pkg] of TOOLS) {
    const p = which(name, env);
    if (!p)
      return { ok: false, cause: `the helper '${name}' is not installed`, fix: `install the ${pkg} package` };
    tools[name] = p;
  }
  if (readSysctl('/proc/sys/kernel/unprivileged_userns_clone') === '0')
    return {
      ok: false,
      cause: 'unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0)',
      fix: 'enable them: sysctl -w kernel.unprivileged_userns_clone=1',
    };
  if (readSysctl('/proc/sys/user/max_user_namespaces') === '0')
    return {
      ok: false,
      cause: 'user namespaces are disabled (user.max_user_namespaces=0)',
      fix: 'enable them: sysctl -w user.max_user_namespaces=15000',
    };
  return { ok: true, tools: { ip: tools['ip']!, mount: tools['mount']!, unshare: tools['unshare']! } };
}

/** One real attempt at the namespaces: it also catches AppArmor policies and seccomp filters that no file names. */
function probe(tools: Tools): IsolationSupport {
  const r = spawnSync(tools.unshare, [...NAMESPACES, '--', tools.ip, 'link', 'set', 'lo', 'up'], {
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (r.status !== 0) {
    const detail = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n')[0];
    const apparmor = readSysctl('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1';
    return {
      ok: false,
      cause: apparmor
        ? `AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1): ${detail}`
        : `cannot create user, network, mount and PID namespaces: ${detail}`,
      fix: apparmor
        ? 'allow them: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile granting userns to node)'
        : 'enable unprivileged user namespaces in the kernel (user.max_user_namespaces > 0) and in any container runtime seccomp profile',
    };
  }
  return { ok: true, tools };
}

/** Whether `gov run --isolate` can work here: every check, the probe last. */
export function isolationSupport(env: NodeJS.ProcessEnv = process.env): IsolationSupport {
  const s = prerequisites(env);
  return s.ok ? probe(s.tools) : s;
}

function required(s: IsolationSupport): Tools {
  if (!s.ok) throw new GovError('spawn', `--isolate is unavailable: ${s.cause}`, { hint: s.fix });
  return s.tools;
}

/**
 * The preflight for `--isolate`, in two steps, so that the sandbox's init can start between
 * them (the probe takes a process start, about 9 ms, off the init's path): the checks that
 * start no process, which answer most machines where isolation cannot work, then the probe.
 * Never a silent fallback to an unisolated child.
 */
export function requireIsolationTools(env: NodeJS.ProcessEnv = process.env): Tools {
  return required(prerequisites(env));
}

export function requireNamespaces(tools: Tools): void {
  required(probe(tools));
}
