import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BENCH = join(ROOT, 'dist', 'scripts', 'bench', 'index.js');

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, reject) => {
    const env = { ...process.env };
    delete env['NODE_OPTIONS'];
    const c = spawn(process.execPath, [BENCH, ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`bench ${args.join(' ')} timed out\n${stderr}`));
    }, 150_000);
    c.on('error', reject);
    c.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** Shape only: timings on a shared CI machine are data, never assertions. */
describe('npm run bench --quick', () => {
  it.skipIf(!existsSync(BENCH))(
    'prints the table and writes every figure of the issue to JSON',
    { timeout: 180_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'gov-bench-smoke-'));
      try {
        const out = join(dir, 'latest.json');
        const r = await runBench(['--quick', '--out', out]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/^figure\s+unit\s+direct\s+gov/m);
        const json = JSON.parse(readFileSync(out, 'utf8')) as {
          meta: Record<string, unknown>;
          rows: Array<Record<string, unknown>>;
          raw: Record<string, unknown>;
        };
        expect(json.meta).toMatchObject({ quick: true, node: process.version });
        expect(json.meta['cpus']).toEqual(expect.any(Number));
        // gov as shipped: no extra node flags (--gov-node-flags is for experiments).
        expect(json.meta['govNodeFlags']).toEqual([]);
        const ids = json.rows.map((row) => row['id']);
        for (const id of [
          'latency_p50',
          'latency_p99',
          'latency_p50_otlp',
          'rps_1',
          'rps_8',
          'rps_32',
          'rps_vs_mitm_1',
          'rps_vs_mitm_32',
          'cpu_per_call_1',
          'cpu_per_call_32',
          'decide_10',
          'decide_1000',
          'policy_test_1000',
          'first_host',
          'sse_ttfe_post',
          'sse_ttfe_get',
          'sse_stream',
          'scan_string',
          'scan_json',
          'pins_list_first',
          'pins_list_unseen',
          'pins_list_again',
          'pins_call',
          'big_result_e2e',
          'rss_held',
          'rss_tls_floor',
          'wrap_p50',
          'wrap_rss_growth',
          'startup_child',
          'startup_wrap',
        ]) {
          expect(ids).toContain(id);
        }
        for (const row of json.rows) {
          expect(row).toMatchObject({
            figure: expect.any(String),
            unit: expect.any(String),
            target: expect.any(String),
          });
          expect(['cli', 'in-process']).toContain(row['method']);
          expect([true, false, null]).toContain(row['pass']);
        }
        const measured = (id: string) => json.rows.find((row) => row['id'] === id)!;
        for (const id of [
          'latency_p50',
          'rps_32',
          'first_host',
          'sse_ttfe_post',
          'rss_held',
          'wrap_rss_growth',
          'startup_child',
          'startup_wrap',
        ]) {
          expect(measured(id)['gov'], id).toEqual(expect.any(Number));
        }
        expect(measured('latency_p50')['direct']).toEqual(expect.any(Number));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it.skipIf(!existsSync(BENCH))('refuses a bad option with the reason and the usage', async () => {
    for (const [args, reason] of [
      [['--phases', 'latency,nope'], /unknown phase 'nope'/],
      [['--only', 'everything'], /--only takes 'startup' or 'held'/],
      [['--bogus'], /Unknown option '--bogus'/],
    ] as const) {
      const r = await runBench([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(reason);
      expect(r.stderr).toMatch(/^usage: /m);
      expect(r.stdout).toBe('');
    }
    const help = await runBench(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: .*--gov-node-flags=FLAGS/ms);
  });
});
