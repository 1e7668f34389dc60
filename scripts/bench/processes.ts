/**
 * Child processes of the bench: the upstream, the load generator (direct, under `gov run`,
 * behind mitmdump) and mitmdump itself. Every child is tracked and killed on exit, and every
 * wait has a deadline.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { LoadPlan, LoadResult } from './loadgen.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Repository root (this file runs from dist/scripts/bench/). */
export const ROOT = resolve(HERE, '..', '..', '..');
export const GOV_BIN = join(ROOT, 'bin', 'gov.js');
export const LOADGEN = join(HERE, 'loadgen.js');
export const UPSTREAM = join(HERE, 'upstream-server.js');

const live = new Set<ChildProcess>();
export function killAll(): void {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  live.clear();
}
process.once('exit', killAll);

export function track(c: ChildProcess): ChildProcess {
  live.add(c);
  c.once('exit', () => live.delete(c));
  return c;
}

/** The environment without anything that would redirect or instrument the child by accident. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^(https?_proxy|all_proxy|no_proxy|NODE_OPTIONS|NODE_EXTRA_CA_CERTS)$/i.test(k)) delete env[k];
  }
  return { ...env, ...extra };
}

export interface Upstream {
  ports: Record<string, number>;
  pid: number;
  close(): void;
}

export async function startUpstream(cfg: {
  keyPath: string;
  certPath: string;
  hosts: string[];
  bigBytes: number;
}): Promise<Upstream> {
  const c = track(
    spawn(process.execPath, [UPSTREAM, JSON.stringify(cfg)], {
      env: cleanEnv(),
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const line = await firstLine(c, 15_000);
  const { ports } = JSON.parse(line) as { ports: Record<string, number> };
  return { ports, pid: c.pid!, close: () => c.stdin?.end() };
}

function firstLine(c: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolveLine, reject) => {
    const timer = setTimeout(() => reject(new Error('child did not start in time')), timeoutMs);
    const rl = createInterface({ input: c.stdout! });
    rl.once('line', (l) => {
      clearTimeout(timer);
      rl.close();
      resolveLine(l);
    });
    c.once('exit', (code) => reject(new Error(`child exited (${code}) before it was ready`)));
  });
}

export interface LoadRun {
  /** Called when the load generator prints READY; resolve to let it finish. */
  onReady?: (pid: number) => Promise<void>;
  timeoutMs?: number;
}

/** Run a command whose output ends in `RESULT <json>`; `pid` of the spawned process goes to onReady. */
export function runForResult(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  o: LoadRun = {},
): Promise<LoadResult> {
  const c = track(spawn(cmd, args, { env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] }));
  let stderr = '';
  c.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  return new Promise((resolveRun, reject) => {
    let result: LoadResult | null = null;
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`${args.slice(0, 3).join(' ')} timed out\n${stderr}`));
    }, o.timeoutMs ?? 180_000);
    createInterface({ input: c.stdout! }).on('line', (l) => {
      if (l.startsWith('RESULT ')) result = JSON.parse(l.slice(7)) as LoadResult;
      else if (l === 'READY held' && o.onReady) {
        o.onReady(c.pid!).then(
          () => c.stdin!.write('done\n'),
          (err: unknown) => {
            stderr += String(err);
            c.stdin!.write('done\n');
          },
        );
      }
    });
    c.once('exit', (code) => {
      clearTimeout(timer);
      if (result) resolveRun(result);
      else reject(new Error(`load run failed (exit ${code})\n${stderr}`));
    });
  });
}

export function runDirect(plan: LoadPlan, upstreamCa: string): Promise<LoadResult> {
  return runForResult(
    process.execPath,
    [LOADGEN, JSON.stringify(plan)],
    cleanEnv({ NODE_EXTRA_CA_CERTS: upstreamCa }),
  );
}

export interface GovRunOptions {
  home: string;
  policyPath: string;
  upstreamCa: string;
  /** Extra node flags for the gov process (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Extra environment for the gov process. */
  env?: Record<string, string>;
  /** Extra `gov run` options (e.g. --audit-sync interval). */
  govArgs?: string[];
  onReady?: (pid: number) => Promise<void>;
}

/** The real CLI: `gov run --no-tui -- node loadgen.js PLAN`; the load generator is the agent. */
export function runUnderGov(plan: LoadPlan, o: GovRunOptions): Promise<LoadResult> {
  const args = [
    ...(o.nodeFlags ?? []),
    GOV_BIN,
    'run',
    '--no-tui',
    ...(o.govArgs ?? []),
    '--upstream-ca',
    o.upstreamCa,
    '--policy',
    o.policyPath,
    '--',
    process.execPath,
    LOADGEN,
    JSON.stringify({ ...plan, viaProxy: true }),
  ];
  return runForResult(
    process.execPath,
    args,
    cleanEnv({ ...o.env, GOV_HOME: o.home }),
    o.onReady ? { onReady: o.onReady } : {},
  );
}

export function findMitmdump(install: boolean): string | null {
  const which = () =>
    spawnSync('sh', ['-c', 'command -v mitmdump'], { encoding: 'utf8' }).stdout.trim() || null;
  let bin = which();
  if (bin || !install) return bin;
  process.stderr.write('bench: mitmdump not found; trying apt-get install -y mitmproxy …\n');
  const r = spawnSync('apt-get', ['install', '-y', 'mitmproxy'], { stdio: 'ignore', timeout: 240_000 });
  if (r.status === 0) bin = which();
  return bin;
}

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolveWait, reject) => {
    const attempt = (): void => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolveWait();
      });
      s.on('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listening on ${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/** mitmdump as a plain pass-through proxy, then the load generator behind it. */
export async function runUnderMitm(
  plan: LoadPlan,
  o: { bin: string; confdir: string; upstreamCa: string; port: number },
): Promise<LoadResult> {
  const m = track(
    spawn(
      o.bin,
      [
        '--listen-host',
        '127.0.0.1',
        '--listen-port',
        String(o.port),
        '--set',
        `confdir=${o.confdir}`,
        '--set',
        `ssl_verify_upstream_trusted_ca=${o.upstreamCa}`,
        '-q',
      ],
      { env: cleanEnv(), stdio: ['ignore', 'ignore', 'inherit'] },
    ),
  );
  try {
    await waitForPort(o.port, 30_000);
    const ca = join(o.confdir, 'mitmproxy-ca-cert.pem');
    if (!existsSync(ca)) throw new Error('mitmdump wrote no CA');
    const env = cleanEnv({ HTTPS_PROXY: `http://127.0.0.1:${o.port}`, NODE_EXTRA_CA_CERTS: ca });
    return await runForResult(process.execPath, [LOADGEN, JSON.stringify({ ...plan, viaProxy: true })], env);
  } finally {
    m.kill('SIGTERM');
  }
}
