/**
 * PID 1 of the sandbox, run by gov as `unshare --user --map-root-user --net --mount --pid
 * --fork --kill-child --mount-proc -- node sandbox-init.js`, started early so that its own
 * start-up overlaps gov's. As root of the outer user namespace it wires loopback and starts the
 * DNS stub at once; then it reads its configuration (JSON, from fd 3, which gov writes once its
 * proxy is up), covers gov's state, starts the relay, and starts the child in a nested user
 * namespace mapped back to the real uid/gid: the child has no capability over this network or
 * mount namespace, so it can neither change the routes nor uncover what is hidden. Its exit is
 * this process's exit, which ends the PID namespace.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { constants } from 'node:os';
import { SETUP_FAILED_EXIT, type SandboxConfig } from './sandbox-config.js';
import { startDnsStub, SyntheticNames } from './dns-stub.js';
import { startRelay } from './relay.js';

function fail(what: string): never {
  process.stderr.write(`gov: cannot build the isolation sandbox: ${what} — run 'gov doctor' for details\n`);
  process.exit(SETUP_FAILED_EXIT);
}

function must(tool: string, args: string[], input?: string): void {
  const r = spawnSync(tool, args, { input, encoding: 'utf8', stdio: ['pipe', 'ignore', 'pipe'] });
  if (r.status !== 0) fail(`${tool} ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
}

/** Like `must`, without blocking: independent steps run side by side. */
function mustAsync(tool: string, args: string[]): Promise<void> {
  return new Promise((resolve) => {
    let stderr = '';
    const p = spawn(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('error', (err) => fail(`${tool} ${args.join(' ')}: ${err.message}`));
    p.once('close', (code) => (code === 0 ? resolve() : fail(`${tool} ${args.join(' ')}: ${stderr.trim()}`)));
  });
}

/** The configuration gov writes to fd 3; none (gov gave up before starting the child) ends the sandbox quietly. */
function readConfig(): Promise<SandboxConfig> {
  return new Promise((resolve) => {
    let text = '';
    const input = createReadStream('', { fd: 3, encoding: 'utf8' });
    input.on('data', (d) => (text += String(d)));
    input.on('error', (err) => fail(`cannot read the configuration: ${err.message}`));
    input.on('close', () => {
      if (!text) process.exit(SETUP_FAILED_EXIT);
      try {
        resolve(JSON.parse(text) as SandboxConfig);
      } catch (err) {
        fail(`bad configuration: ${(err as Error).message}`);
      }
    });
  });
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
  const ipTool = process.argv[2];
  if (!ipTool) fail('no ip tool given');
  // Every IPv4 address is local: a connection to anywhere reaches a listener here or is reset.
  must(ipTool, ['-batch', '-'], 'link set lo up\nroute add local 0.0.0.0/0 dev lo\n');
  const names = new SyntheticNames();
  try {
    await startDnsStub(names);
  } catch (err) {
    fail(`dns stub: ${(err as Error).message}`);
  }

  const cfg = await readConfig();
  await Promise.all([
    ...cfg.hideDirs.map((dir) =>
      mustAsync(cfg.tools.mount, [
        '-t',
        'tmpfs',
        '-o',
        'ro,nosuid,nodev,noexec,mode=0555,size=4k',
        'gov-hidden',
        dir,
      ]),
    ),
    ...cfg.hideFiles.map((file) => mustAsync(cfg.tools.mount, ['--bind', '/dev/null', file])),
    ...cfg.bindFiles.map(([source, target]) => mustAsync(cfg.tools.mount, ['--bind', source, target])),
  ]);
  try {
    await startRelay({
      proxySocket: cfg.proxySocket,
      proxyPort: cfg.proxyPort,
      proxyAuth: cfg.proxyAuth,
      capturePorts: cfg.capturePorts,
      names,
    });
  } catch (err) {
    fail(`relay: ${(err as Error).message}`);
  }

  const started = spawn(
    cfg.tools.unshare,
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
