import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SandboxConfig } from './sandbox-config.js';
import { SYSTEM_BUNDLES } from '../launcher/ca-bundle.js';
import { installPath } from '../install-path.js';

const INIT = installPath('dist', 'src', 'isolation', 'sandbox-init.js');

/** Ports captured transparently unless the user adds more. */
export const DEFAULT_CAPTURE_PORTS = [80, 443];

export interface SandboxPlan {
  /** 0700, outside GOV_HOME and visible inside: the proxy's socket and the child's trust files. */
  dir: string;
  proxySocket: string;
  /** The command gov spawns in place of the child's own. */
  launch(o: {
    proxyPort: number;
    token: string;
    /** The combined CA bundle; it also replaces the system trust store inside. */
    caBundle: string;
    command: string;
    args: string[];
    env: Record<string, string>;
    newSession: boolean;
  }): { command: string; args: string[]; env: Record<string, string> };
  /** The sandbox's init, the process gov's signals must reach (unshare itself blocks them). */
  signalPid(unsharePid: number): number | undefined;
  cleanup: () => void;
}

/** What the child must not reach: gov's state (this home and the default one) and the keyring's bus. */
function hiddenPaths(o: { home: string; extraDirs: string[]; env: NodeJS.ProcessEnv }) {
  const dirs = new Set<string>([resolve(o.home), ...o.extraDirs.map((d) => resolve(d))]);
  const defaultHome = join(homedir(), '.gov');
  if (existsSync(defaultHome)) dirs.add(defaultHome);
  const files = new Set<string>();
  const runtime = o.env['XDG_RUNTIME_DIR'] ?? `/run/user/${process.getuid?.() ?? 0}`;
  if (existsSync(join(runtime, 'keyring'))) dirs.add(join(runtime, 'keyring'));
  const busPaths = [join(runtime, 'bus')];
  // A filesystem bus socket crosses namespaces (an abstract one does not): cover it.
  const m = /(?:^|[;,])unix:path=([^,;]+)/.exec(o.env['DBUS_SESSION_BUS_ADDRESS'] ?? '');
  if (m?.[1]) busPaths.push(m[1]);
  for (const p of busPaths) {
    if (!existsSync(p)) continue;
    if (statSync(p).isDirectory()) dirs.add(p);
    else files.add(p);
  }
  return { hideDirs: [...dirs].filter((d) => existsSync(d)), hideFiles: [...files] };
}

export function planSandbox(o: {
  home: string;
  /** Also hidden, e.g. the control socket's temp-dir fallback. */
  extraHiddenDirs: string[];
  capturePorts: number[];
  tools: SandboxConfig['tools'];
  env?: NodeJS.ProcessEnv;
}): SandboxPlan {
  const dir = mkdtempSync(join(tmpdir(), 'gov-iso-'));
  const proxySocket = join(dir, 'proxy.sock');
  const configPath = join(dir, 'sandbox.json');
  const hidden = hiddenPaths({ home: o.home, extraDirs: o.extraHiddenDirs, env: o.env ?? process.env });
  return {
    dir,
    proxySocket,
    launch(l) {
      const cfg: SandboxConfig = {
        tools: o.tools,
        proxySocket,
        proxyPort: l.proxyPort,
        proxyAuth: `gov:${l.token}`,
        capturePorts: [...new Set([...DEFAULT_CAPTURE_PORTS, ...o.capturePorts])],
        ...hidden,
        // Clients started with a scrubbed environment (no CA variables) still trust gov's CA
        // when they read the system store: OpenSSL, Go, Python, curl. Node reads its own roots.
        bindFiles: SYSTEM_BUNDLES.filter((f) => existsSync(f)).map((f): [string, string] => [l.caBundle, f]),
        uid: process.getuid?.() ?? 0,
        gid: process.getgid?.() ?? 0,
        command: l.command,
        args: l.args,
        env: l.env,
        newSession: l.newSession,
      };
      writeFileSync(configPath, JSON.stringify(cfg), { mode: 0o600 });
      const ns = [
        '--user',
        '--map-root-user',
        '--net',
        '--mount',
        '--pid',
        '--fork',
        '--kill-child',
        '--mount-proc',
      ];
      return {
        command: o.tools.unshare,
        args: [...ns, '--', process.execPath, INIT, configPath],
        // The init needs nothing of gov's environment (and must not hold its secrets).
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      };
    },
    signalPid(unsharePid) {
      try {
        const kids = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim();
        if (kids) return Number(kids.split(/\s+/)[0]);
      } catch {
        /* no CONFIG_PROC_CHILDREN: look for the child by its parent */
      }
      for (const name of readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        try {
          const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
          if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === unsharePid) return Number(name);
        } catch {
          /* gone */
        }
      }
      return undefined;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
