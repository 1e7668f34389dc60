/**
 * PID 1 of the sandbox, run by gov as `unshare --user --map-root-user --net --mount --pid
 * --fork --kill-child --mount-proc -- node sandbox-init.js CONFIG`. As root of the outer user
 * namespace it wires loopback, covers gov's state, starts the relay and the DNS stub, then
 * starts the child in a nested user namespace mapped back to the real uid/gid: the child has no
 * capability over this network or mount namespace, so it can neither change the routes nor
 * uncover what is hidden. Its exit is this process's exit, which ends the PID namespace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
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

async function main(): Promise<void> {
  const configPath = process.argv[2];
  if (!configPath) fail('no configuration given');
  let cfg: SandboxConfig;
  try {
    cfg = JSON.parse(readFileSync(configPath, 'utf8')) as SandboxConfig;
    rmSync(configPath, { force: true });
  } catch (err) {
    fail(`cannot read ${configPath}: ${(err as Error).message}`);
  }

  // Every IPv4 address is local: a connection to anywhere reaches a listener here or is reset.
  must(cfg.tools.ip, ['-batch', '-'], 'link set lo up\nroute add local 0.0.0.0/0 dev lo\n');
  for (const dir of cfg.hideDirs)
    must(cfg.tools.mount, [
      '-t',
      'tmpfs',
      '-o',
      'ro,nosuid,nodev,noexec,mode=0555,size=4k',
      'gov-hidden',
      dir,
    ]);
  for (const file of cfg.hideFiles) must(cfg.tools.mount, ['--bind', '/dev/null', file]);
  for (const [source, target] of cfg.bindFiles) must(cfg.tools.mount, ['--bind', source, target]);

  const names = new SyntheticNames();
  try {
    await startDnsStub(names);
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

  const child = spawn(
    cfg.tools.unshare,
    [`--user`, `--map-user=${cfg.uid}`, `--map-group=${cfg.gid}`, '--', cfg.command, ...cfg.args],
    { env: cfg.env, stdio: 'inherit', detached: cfg.newSession },
  );
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    });
  }
  child.on('error', (err) => fail(`cannot start the child: ${err.message}`));
  child.on('exit', (code, signal) => {
    // PID 1 cannot re-raise a signal on itself; gov maps 128+n exactly as for a signal.
    process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
  });
}

void main();
