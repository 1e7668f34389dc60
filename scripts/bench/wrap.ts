/**
 * The `gov mcp wrap` row: the same stdio client drives the bench stdio server directly and
 * wrapped by gov (one call at a time, newline-delimited JSON-RPC).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { cleanEnv, GOV_BIN, ROOT } from './processes.js';
import { rssMb, summarize, type LatencySummary } from './stats.js';

const STDIO_SERVER = join(dirname(fileURLToPath(import.meta.url)), 'stdio-server.js');

export function wrapAvailable(): boolean {
  return existsSync(join(ROOT, 'dist', 'cli', 'commands', 'mcp-wrap.js'));
}

/**
 * Sequential tools/call round trips through a spawned stdio server: per-call ms, and how much
 * the spawned process's RSS grew over the measured calls (after a warm-up).
 */
async function drive(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  calls: number,
): Promise<{ latency: LatencySummary; rssGrowthMb: number | null }> {
  const c = spawn(cmd, args, { env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  c.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const waiting = new Map<number, (line: string) => void>();
  createInterface({ input: c.stdout }).on('line', (line) => {
    const m = /"id":(\d+)/.exec(line);
    const w = m ? waiting.get(Number(m[1])) : undefined;
    if (w) {
      waiting.delete(Number(m![1]));
      w(line);
    }
  });
  const exited = new Promise<never>((_, reject) =>
    c.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`))),
  );
  exited.catch(() => undefined);
  let id = 0;
  const send = (method: string, params: unknown): Promise<string> => {
    const n = ++id;
    const p = new Promise<string>((resolve) => waiting.set(n, resolve));
    c.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: n, method, params }) + '\n');
    return Promise.race([p, exited]);
  };
  const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
  try {
    await send('initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'bench', version: '1' },
    });
    c.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
    for (let i = 0; i < Math.min(200, calls); i++)
      await send('tools/call', { name: 'echo', arguments: { i } });
    const sample: number[] = [];
    const rssBefore = c.pid === undefined ? null : rssMb(c.pid);
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      await send('tools/call', { name: 'echo', arguments: { q: 'hello', i } });
      sample.push(performance.now() - t0);
    }
    const rssAfter = c.pid === undefined ? null : rssMb(c.pid);
    const rssGrowthMb = rssBefore === null || rssAfter === null ? null : rssAfter - rssBefore;
    return { latency: summarize(sample), rssGrowthMb };
  } finally {
    clearTimeout(timer);
    c.stdin.end();
    setTimeout(() => c.kill('SIGKILL'), 2000).unref();
  }
}

export async function benchWrap(o: {
  home: string;
  policyPath: string;
  calls: number;
  /** Sequential calls for the memory-growth figure (10,000 in the full bench). */
  memoryCalls: number;
  /** Also measure `--audit-sync answer` (the full bench; --quick leaves it out). */
  withAnswer: boolean;
}): Promise<{
  direct: LatencySummary;
  gov: LatencySummary;
  /** `--audit-sync answer` (the default is interval); null when not measured. */
  govAnswer: LatencySummary | null;
  rssGrowthMb: number | null;
  memoryCalls: number;
}> {
  const direct = (await drive(process.execPath, [STDIO_SERVER], cleanEnv(), o.calls)).latency;
  const wrapped = (extra: string[], calls = o.calls) =>
    drive(
      process.execPath,
      [
        GOV_BIN,
        'mcp',
        'wrap',
        ...extra,
        '--policy',
        o.policyPath,
        '--name',
        'bench',
        '--',
        process.execPath,
        STDIO_SERVER,
      ],
      cleanEnv({ GOV_HOME: o.home }),
      calls,
    );
  const gov = (await wrapped([])).latency;
  const govAnswer = o.withAnswer ? (await wrapped(['--audit-sync', 'answer'])).latency : null;
  const { rssGrowthMb } = await wrapped([], o.memoryCalls);
  return { direct, gov, govAnswer, rssGrowthMb, memoryCalls: o.memoryCalls };
}
