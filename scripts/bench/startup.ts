/**
 * Start-up rows: how long `gov run` takes before the child starts, and how long `gov mcp
 * wrap` takes to the first `initialize` answer, each against the same thing without gov.
 * Medians of a few cold starts (one process each).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnv, GOV_BIN, ROOT } from './processes.js';

const STDIO_SERVER = join(dirname(fileURLToPath(import.meta.url)), 'stdio-server.js');
/** The child prints the wall clock the moment it runs. */
const STAMP = ['-e', 'process.stdout.write(String(Date.now()))'];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** ms from spawning `cmd` until the node child inside it prints its clock. */
function timeToChild(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const c = spawn(cmd, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
    c.on('close', (code) => {
      clearTimeout(timer);
      const stamp = Number(/(\d{13})/.exec(out)?.[1]);
      if (code !== 0 || !Number.isFinite(stamp)) reject(new Error(`exited ${code}: ${err}`));
      else resolve(stamp - t0);
    });
  });
}

/** ms from spawning `cmd` until its first line on stdout after an `initialize` request. */
function timeToInitialize(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(cmd, args, { env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
    c.stdout.once('data', () => {
      resolve(performance.now() - t0);
      clearTimeout(timer);
      c.stdin.end();
      setTimeout(() => c.kill('SIGKILL'), 2000).unref();
    });
    c.once('exit', (code) => reject(new Error(`exited ${code} before answering: ${err}`)));
    const init = {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'bench', version: '1' },
    };
    c.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: init }) + '\n');
  });
}

export interface StartupResult {
  childDirect: number;
  childGov: number;
  wrapDirect: number;
  wrapGov: number;
}

export async function benchStartup(o: {
  home: string;
  policyPath: string;
  runs: number;
}): Promise<StartupResult> {
  const env = cleanEnv({ GOV_HOME: o.home });
  const node = process.execPath;
  const govRun = [GOV_BIN, 'run', '--no-tui', '--quiet', '--policy', o.policyPath, '--', node, ...STAMP];
  const govWrap = [
    GOV_BIN,
    'mcp',
    'wrap',
    '--quiet',
    '--policy',
    o.policyPath,
    '--name',
    'bench',
    '--',
    node,
    STDIO_SERVER,
  ];
  // One warm-up each: the first start of anything pays for the disk cache.
  await timeToChild(node, govRun, env);
  const r: Record<keyof StartupResult, number[]> = {
    childDirect: [],
    childGov: [],
    wrapDirect: [],
    wrapGov: [],
  };
  for (let i = 0; i < o.runs; i++) {
    r.childDirect.push(await timeToChild(node, STAMP, env));
    r.childGov.push(await timeToChild(node, govRun, env));
    r.wrapDirect.push(await timeToInitialize(node, [STDIO_SERVER], env));
    r.wrapGov.push(await timeToInitialize(node, govWrap, env));
  }
  return {
    childDirect: median(r.childDirect),
    childGov: median(r.childGov),
    wrapDirect: median(r.wrapDirect),
    wrapGov: median(r.wrapGov),
  };
}
