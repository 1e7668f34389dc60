import type { ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import type { SandboxLayout, SandboxRun } from './sandbox-config.js';
import { Server } from 'node:net';
import { SYSTEM_BUNDLES } from '../launcher/ca-bundle.js';
import { spawnFailure, startGoverned } from '../launcher/spawn-child.js';
import { installPath } from '../install-path.js';
import { NAMESPACES } from './availability.js';

/** sandbox-init.ts, bundled (scripts/bundle.mjs). */
const INIT = installPath('dist', 'bundle', 'sandbox-init.cjs');

/** Ports captured transparently unless the user adds more. */
export const DEFAULT_CAPTURE_PORTS = [80, 443];

export interface SandboxPlan {
  /** 0700, outside GOV_HOME and visible inside: the proxy's socket and the child's trust files. */
  dir: string;
  proxySocket: string;
  /**
   * Start the sandbox's init now: it builds the namespaces while gov opens its session and
   * proxy, then waits on its fd 3 for `configure`. Resolves once it is spawned.
   */
  start(stdio: 'inherit' | 'pipe'): Promise<ChildProcess>;
  /**
   * Tell the started init what to hide and which child to run, once gov's proxy is up. The
   * init opens the proxy port inside the sandbox and hands the listener back: `accept` gets it
   * before the child can connect (gov's proxy accepts on it directly, no relay hop for
   * proxy-aware clients). Resolves once handed over, or when the init is gone (its exit code
   * then tells gov why).
   */
  configure(
    init: ChildProcess,
    o: {
      /** Also hidden, e.g. the control socket's temp-dir fallback. */
      extraHiddenDirs: string[];
      /** Read-only inside (the policy file: the child must not rewrite what governs it). */
      readOnlyFiles: string[];
      proxyPort: number;
      token: string;
      /** The combined CA bundle; it also replaces the system trust store inside. */
      caBundle: string;
      command: string;
      args: string[];
      env: Record<string, string>;
      newSession: boolean;
      accept: (listener: Server) => void;
    },
  ): Promise<void>;
  /** The sandbox's init, the process gov's signals must reach (unshare itself blocks them). */
  signalPid(unsharePid: number): number | undefined;
  cleanup: () => void;
}

/** What the child must not reach: gov's state (this home and the default one) and the keyring's bus. */
function hiddenPaths(o: { home: string; env: NodeJS.ProcessEnv }) {
  const dirs = new Set<string>([resolve(o.home)]);
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

/** `path` is `dir` or inside it (both resolved, `path` through its symlinks). */
function under(path: string, dir: string): boolean {
  const d = existsSync(dir) ? realpathSync(dir) : resolve(dir);
  return path === d || path.startsWith(d + sep);
}

export function planSandbox(o: {
  home: string;
  capturePorts: number[];
  tools: SandboxLayout['tools'];
  env?: NodeJS.ProcessEnv;
}): SandboxPlan {
  const dir = mkdtempSync(join(tmpdir(), 'gov-iso-'));
  const proxySocket = join(dir, 'proxy.sock');
  // Bound over the system trust store before gov's CA exists; filled in place by configure.
  const systemTrust = join(dir, 'system-trust.pem');
  writeFileSync(systemTrust, '', { mode: 0o644 });
  const hidden = hiddenPaths({ home: o.home, env: o.env ?? process.env });
  return {
    dir,
    proxySocket,
    start(stdio) {
      const ns = [...NAMESPACES, '--kill-child', '--mount-proc'];
      const init = startGoverned({
        command: o.tools.unshare,
        args: [...ns, '--', process.execPath, INIT],
        // The init needs nothing of gov's environment (and must not hold its secrets).
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
        // The channel carries the configuration in and the proxy port's listener out.
        stdio: [stdio, stdio, stdio, 'ipc'],
      });
      const layout: SandboxLayout = {
        tools: o.tools,
        ...hidden,
        // Clients started with a scrubbed environment (no CA variables) still trust gov's CA
        // when they read the system store: OpenSSL, Go, Python, curl. Node reads its own roots.
        bindFiles: SYSTEM_BUNDLES.filter((f) => existsSync(f)).map((f): [string, string] => [systemTrust, f]),
        // An installation inside a hidden directory (~/.gov) is out of the child's sight already.
        readOnlyDirs: [realpathSync(installPath())].filter((d) => !hidden.hideDirs.some((h) => under(d, h))),
      };
      init.send(layout, () => undefined); // a failure shows as the init's exit
      return new Promise((resolve, reject) => {
        const failed = (err: NodeJS.ErrnoException) => reject(spawnFailure(o.tools.unshare, err));
        // Stays attached: a later 'error' (none is expected) must not go unhandled before
        // spawnChild takes the process over; a rejection after the resolve is a no-op.
        init.once('error', failed);
        init.once('spawn', () => resolve(init));
      });
    },
    configure(init, l) {
      writeFileSync(systemTrust, readFileSync(l.caBundle));
      const run: SandboxRun = {
        proxySocket,
        proxyPort: l.proxyPort,
        proxyAuth: `gov:${l.token}`,
        capturePorts: [...new Set([...DEFAULT_CAPTURE_PORTS, ...o.capturePorts])],
        hideDirs: l.extraHiddenDirs.filter((d) => existsSync(d)),
        // A file under a hidden directory ($GOV_HOME/policy.yaml) is out of the child's sight already.
        readOnlyFiles: l.readOnlyFiles
          .filter((f) => existsSync(f))
          .map((f) => realpathSync(f))
          .filter((f) => ![...hidden.hideDirs, ...l.extraHiddenDirs].some((d) => under(f, d))),
        uid: process.getuid?.() ?? 0,
        gid: process.getgid?.() ?? 0,
        command: l.command,
        args: l.args,
        env: l.env,
        newSession: l.newSession,
      };
      // Over the channel, not a file: the child's environment holds the run's proxy token.
      return new Promise((resolve) => {
        if (init.exitCode !== null || init.signalCode !== null) return resolve();
        const gone = () => resolve();
        init.once('exit', gone);
        init.once('message', (_m, handle) => {
          init.off('exit', gone);
          if (handle instanceof Server) l.accept(handle);
          resolve();
        });
        init.send(run, (err) => err && gone());
      });
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
