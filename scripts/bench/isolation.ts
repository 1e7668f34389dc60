/** `gov run --isolate` against `gov run`: start-up wall time and added latency per call. */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { isolationSupport } from '../../src/isolation/availability.js';
import type { LoadPlan, LoadResult } from './loadgen.js';
import { cleanEnv, GOV_BIN, runUnderGov } from './processes.js';
import type { Row } from './report.js';
import { percentile, round } from './stats.js';

export type IsolationBench =
  { startupMs: { plain: number; isolated: number }; runs: number; isolated: LoadResult } | { note: string };

function wallMs(args: string[], home: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(process.execPath, [GOV_BIN, ...args], {
      env: cleanEnv({ GOV_HOME: home }),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
    c.once('error', reject);
    c.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(performance.now() - t0);
      else reject(new Error(`gov ${args.join(' ')} exited ${code}`));
    });
  });
}

export async function benchIsolation(o: {
  plan: LoadPlan;
  home: string;
  policyPath: string;
  upstreamCa: string;
  runs: number;
}): Promise<IsolationBench> {
  const support = isolationSupport();
  if (!support.ok) return { note: `skipped: ${support.cause}` };
  const plain: number[] = [];
  const isolated: number[] = [];
  // Interleaved, so machine noise hits both alike.
  for (let i = 0; i < o.runs; i++) {
    plain.push(await wallMs(['run', '--quiet', '--no-tui', '--', 'true'], o.home));
    isolated.push(await wallMs(['run', '--quiet', '--no-tui', '--isolate', '--', 'true'], o.home));
  }
  const load = await runUnderGov(
    { ...o.plan, phases: ['latency'] },
    { home: o.home, policyPath: o.policyPath, upstreamCa: o.upstreamCa, govArgs: ['--isolate'] },
  );
  return {
    startupMs: { plain: percentile(plain, 50), isolated: percentile(isolated, 50) },
    runs: o.runs,
    isolated: load,
  };
}

export function isolationRows(b: IsolationBench, gov: LoadResult): Row[] {
  const base = { unit: 'ms', method: 'cli' as const };
  if ('note' in b)
    return [
      {
        ...base,
        id: 'isolate_startup',
        figure: 'gov run --isolate -- true, wall time p50',
        direct: null,
        gov: null,
        target: 'added ≤ 50 ms',
        pass: null,
        note: b.note,
      },
    ];
  const startupAdded = b.startupMs.isolated - b.startupMs.plain;
  const plainP50 = gov.latency?.p50;
  const isoP50 = b.isolated.latency?.p50;
  const latencyAdded = plainP50 !== undefined && isoP50 !== undefined ? isoP50 - plainP50 : null;
  return [
    {
      ...base,
      id: 'isolate_startup',
      figure: 'gov run --isolate -- true, wall time p50',
      direct: round(b.startupMs.plain, 1),
      gov: round(b.startupMs.isolated, 1),
      added: round(startupAdded, 1),
      target: 'added ≤ 50 ms',
      pass: startupAdded <= 50,
      note: `"direct" is gov run -- true without --isolate; p50 of ${b.runs} interleaved runs each`,
    },
    {
      ...base,
      id: 'isolate_latency_p50',
      figure: 'added latency per tools/call with --isolate, p50',
      direct: plainP50 === undefined ? null : round(plainP50, 3),
      gov: isoP50 === undefined ? null : round(isoP50, 3),
      added: latencyAdded === null ? null : round(latencyAdded, 3),
      target: 'added ≤ 0.1 ms',
      pass: latencyAdded === null ? null : latencyAdded <= 0.1,
      note: '"direct" is the same load through gov run without --isolate (relay + Unix socket is the difference)',
    },
  ];
}
