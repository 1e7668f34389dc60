/**
 * PID 1 of the sandbox, run by gov as `unshare --user --map-root-user --net --mount --pid
 * --fork --kill-child --mount-proc -- node sandbox-init.cjs` (this file, bundled), started
 * early so that its work overlaps gov's start-up. As root of the outer user namespace it first
 * builds what gov sends at once (SandboxLayout): loopback, the DNS stub, the covers over gov's
 * state and the trust store, and gov's installation made read-only. Then, on the SandboxRun gov
 * sends once its proxy is up, it hands gov a listener on the proxy port, starts the relay for
 * captured connections, and starts the child in a nested user namespace mapped back to the
 * real uid/gid: the child has no capability over this network or mount namespace, so it can
 * neither change the routes nor uncover what is hidden. Its exit is this process's exit, which
 * ends the PID namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { constants } from 'node:os';
import { SETUP_FAILED_EXIT, type SandboxLayout, type SandboxRun } from './sandbox-config.js';
import { startDnsStub, SyntheticNames } from './dns-stub.js';
import { startRelay } from './relay.js';

// The child shares this PID namespace and this process's kernel uid, so it may send PID 1 any
// signal PID 1 handles. Node answers SIGUSR1 by opening its inspector on 127.0.0.1:9229, inside
// the sandbox, and code run through it runs as this process, which can uncover what is hidden
// ($GOV_HOME, the keyring's socket). A listener of its own keeps Node's from ever running.
process.on('SIGUSR1', () => {});

function fail(what: string): never {
  process.stderr.write(`gov: cannot build the isolation sandbox: ${what} — run 'gov doctor' for details\n`);
  process.exit(SETUP_FAILED_EXIT);
}

/** Run a set-up step; any failure ends the sandbox. Independent steps run side by side. */
function must(tool: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve) => {
    let stderr = '';
    const p = spawn(tool, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdin.on('error', () => undefined); // a tool that exits before reading fails by its exit code
    p.stdin.end(input);
    p.once('error', (err) => fail(`${tool} ${args.join(' ')}: ${err.message}`));
    p.once('close', (code) => (code === 0 ? resolve() : fail(`${tool} ${args.join(' ')}: ${stderr.trim()}`)));
  });
}

// gov's messages, in order. The channel closing before the SandboxRun means gov gave up
// before starting the child: the sandbox ends quietly.
const inbox: unknown[] = [];
let waiting: ((m: unknown) => void) | undefined;
let running = false;
process.on('message', (m) => {
  if (waiting) {
    const w = waiting;
    waiting = undefined;
    w(m);
  } else inbox.push(m);
});
process.once('disconnect', () => {
  if (!running) process.exit(SETUP_FAILED_EXIT);
});
function nextMessage<T>(): Promise<T> {
  if (!process.send) fail('started without a channel to gov');
  if (inbox.length) return Promise.resolve(inbox.shift() as T);
  return new Promise((resolve) => (waiting = (m) => resolve(m as T)));
}

function hide(mount: string, dir: string): Promise<void> {
  return must(mount, ['-t', 'tmpfs', '-o', 'ro,nosuid,nodev,noexec,mode=0555,size=4k', 'gov-hidden', dir]);
}

/**
 * Open the proxy port (the one the child's proxy variables name) here and hand the listener to
 * gov: proxy-aware connections then reach gov's proxy with no hop through this process. The
 * channel is closed after, so the child can never use it.
 */
async function handOverProxyPort(port: number): Promise<void> {
  const listener = createServer();
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, '127.0.0.1', resolve);
  });
  await new Promise<void>((resolve, reject) =>
    process.send!({ listening: port }, listener, (err: Error | null) => (err ? reject(err) : resolve())),
  );
  listener.close();
  process.disconnect();
}

let child: ChildProcess | undefined;
// Until the child exists a signal ends the sandbox (as it would have ended gov's start-up).
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (!child) process.exit(128 + (constants.signals[sig] ?? 0));
    else if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  });
}

async function main(): Promise<void> {
  const layout = await nextMessage<SandboxLayout>();
  const { ip, mount, unshare } = layout.tools;
  const names = new SyntheticNames();
  // The network (loopback, then the DNS stub on it) and the mounts are separate namespaces.
  await Promise.all([
    // Every IPv4 address is local: a connection to anywhere reaches a listener here or is reset.
    must(ip, ['-batch', '-'], 'link set lo up\nroute add local 0.0.0.0/0 dev lo\n').then(() =>
      startDnsStub(names).catch((err: Error) => fail(`dns stub: ${err.message}`)),
    ),
    ...layout.hideDirs.map((dir) => hide(mount, dir)),
    ...layout.hideFiles.map((file) => must(mount, ['--bind', '/dev/null', file])),
    ...layout.bindFiles.map(([source, target]) => must(mount, ['--bind', source, target])),
    // Recursive: a cover mounted below (a hidden $GOV_HOME inside it) stays in place.
    ...layout.readOnlyDirs.map((dir) => must(mount, ['--rbind', '-o', 'ro', dir, dir])),
  ]);

  const cfg = await nextMessage<SandboxRun>();
  running = true;
  // All of it before the child starts; none of it depends on another.
  await Promise.all([
    ...cfg.hideDirs.map((dir) => hide(mount, dir)),
    // Read-only, and a mount point (not replaced by a rename): the child cannot rewrite its policy.
    ...cfg.readOnlyFiles.map((file) => must(mount, ['--bind', '-o', 'ro', file, file])),
    handOverProxyPort(cfg.proxyPort).catch((err: Error) =>
      fail(`proxy port ${cfg.proxyPort}: ${err.message}`),
    ),
    startRelay({
      proxySocket: cfg.proxySocket,
      proxyPort: cfg.proxyPort,
      proxyAuth: cfg.proxyAuth,
      capturePorts: cfg.capturePorts,
      names,
    }).catch((err: Error) => fail(`relay: ${err.message}`)),
  ]);

  const started = spawn(
    unshare,
    [`--user`, `--map-user=${cfg.uid}`, `--map-group=${cfg.gid}`, '--', cfg.command, ...cfg.args],
    { env: cfg.env, stdio: 'inherit', detached: cfg.newSession },
  );
  child = started;
  started.on('error', (err) => fail(`cannot start the child: ${err.message}`));
  started.on('exit', (code, signal) => {
    // PID 1 cannot re-raise a signal on itself; gov maps 128+n exactly as for a signal.
    process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
  });
}

void main();
