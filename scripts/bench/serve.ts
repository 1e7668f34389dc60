/**
 * `gov serve` in the bench: the load generator calls a TLS gateway (no proxy) in front of the
 * same upstream, next to the direct and `gov run` figures of the same run.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { LoadPlan, LoadResult } from './loadgen.js';
import { cleanEnv, GOV_BIN, LOADGEN, runForResult, track } from './processes.js';
import type { Row } from './report.js';
import { round } from './stats.js';

export interface ServeBenchOptions {
  home: string;
  policyPath: string;
  upstreamCa: string;
  /** The bench PKI's server certificate (its SANs include 127.0.0.1) serves the gateway too. */
  certPath: string;
  keyPath: string;
}

/** `gov serve --target <origin>/mcp` over HTTPS, then the load generator against it. */
export async function runUnderServe(plan: LoadPlan, o: ServeBenchOptions): Promise<LoadResult> {
  const args = [
    GOV_BIN,
    'serve',
    '--target',
    `${plan.origin}/mcp`,
    '--listen',
    '127.0.0.1:0',
    '--tls-cert',
    o.certPath,
    '--tls-key',
    o.keyPath,
    '--upstream-ca',
    o.upstreamCa,
    '--policy',
    o.policyPath,
  ];
  const gov = track(
    spawn(process.execPath, args, {
      env: cleanEnv({ GOV_HOME: o.home }),
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error('gov serve did not start in time')), 30_000);
      const rl = createInterface({ input: gov.stderr! });
      rl.on('line', (l) => {
        const m = /serving (https:\/\/\S+) /.exec(l);
        if (!m) return;
        clearTimeout(timer);
        rl.close();
        gov.stderr!.resume();
        resolveUrl(m[1]!);
      });
      gov.once('exit', (code) => reject(new Error(`gov serve exited (${code}) before it was ready`)));
    });
    const served: LoadPlan = { ...plan, origin: url, upstreamPid: plan.upstreamPid, viaProxy: false };
    return await runForResult(
      process.execPath,
      [LOADGEN, JSON.stringify(served)],
      cleanEnv({ NODE_EXTRA_CA_CERTS: o.upstreamCa }),
    );
  } finally {
    gov.kill('SIGTERM');
  }
}

/** p50/p99 per call and calls/s at each client count: gov serve vs direct, gov run in the note. */
export function serveRows(serve: LoadResult | { note: string }, direct: LoadResult, gov: LoadResult): Row[] {
  const base = { unit: 'ms', method: 'cli' as const, target: '-', pass: null };
  if ('note' in serve)
    return [
      {
        ...base,
        id: 'serve_latency_p50',
        figure: 'gov serve: latency per tools/call, p50',
        direct: null,
        gov: null,
        note: serve.note,
      },
    ];
  const rows: Row[] = [];
  for (const q of ['p50', 'p99'] as const) {
    const d = direct.latency?.[q];
    const s = serve.latency?.[q];
    const g = gov.latency?.[q];
    rows.push({
      ...base,
      id: `serve_latency_${q}`,
      figure: `gov serve: latency per tools/call, ${q}`,
      direct: d === undefined ? null : round(d, 3),
      gov: s === undefined ? null : round(s, 3),
      added: d !== undefined && s !== undefined ? round(s - d, 3) : null,
      note: g === undefined ? '' : `gov run ${g.toFixed(3)} ms`,
    });
  }
  for (const d of direct.throughput ?? []) {
    const s = serve.throughput?.find((t) => t.clients === d.clients);
    const g = gov.throughput?.find((t) => t.clients === d.clients);
    rows.push({
      ...base,
      unit: 'calls/s',
      id: `serve_rps_${d.clients}`,
      figure: `gov serve: calls/s at ${d.clients} client${d.clients > 1 ? 's' : ''} (serve/direct)`,
      direct: round(d.rps, 0),
      gov: s ? round(s.rps, 0) : null,
      ratio: s ? round(s.rps / d.rps, 3) : null,
      note: s
        ? `p50/p99 direct ${d.p50.toFixed(2)}/${d.p99.toFixed(2)} ms, serve ${s.p50.toFixed(2)}/${s.p99.toFixed(2)} ms` +
          (g ? `; gov run ${Math.round(g.rps)} calls/s, ${g.p50.toFixed(2)}/${g.p99.toFixed(2)} ms` : '') +
          (s.errors ? `; ${s.errors} serve errors` : '')
        : '',
    });
  }
  return rows;
}
