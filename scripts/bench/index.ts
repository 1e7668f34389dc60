/**
 * `npm run bench`: gov's performance figures (SPEC §9, issue 8), each measured side by side
 * with the direct path in the same run. Prints a table and writes bench-results/latest.json.
 *
 *   node dist/scripts/bench/index.js [--quick] [--out FILE] [--no-mitm] [--cpu-prof DIR] [--phases a,b]
 *
 * --quick: tiny iterations (shape check only; figures meaningless). --cpu-prof DIR: run the
 * main gov process with --cpu-prof and write its profile to DIR. --phases: only these load
 * phases (latency, throughput, sse, first-host, big) — for profiling one path.
 */
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { listPending } from '../../src/approvals/client.js';
import { makeBenchPki } from './pki.js';
import { benchDecide, benchScan } from './in-process.js';
import {
  findMitmdump,
  killAll,
  ROOT,
  runDirect,
  runUnderGov,
  runUnderMitm,
  startUpstream,
} from './processes.js';
import type { LoadPlan, LoadResult } from './loadgen.js';
import { renderTable, type Row } from './report.js';
import { rssMb, round } from './stats.js';
import { benchWrap, wrapAvailable } from './wrap.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    'no-mitm': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    phases: { type: 'string' },
  },
});
const quick = opts.quick === true;

const SIZES = quick
  ? {
      latencyCalls: 50,
      durationMs: 200,
      sseCalls: 10,
      sseEvents: 500,
      hosts: 3,
      bigCalls: 1,
      bigBytes: 1_000_000,
      held: 20,
      decideBatches: 200,
      scanRounds: 1,
      wrapCalls: 50,
    }
  : {
      latencyCalls: 3000,
      durationMs: 3000,
      sseCalls: 300,
      sseEvents: 10_000,
      hosts: 15,
      bigCalls: 5,
      bigBytes: 10_000_000,
      held: 1000,
      decideBatches: 20_000,
      scanRounds: 5,
      wrapCalls: 2000,
    };

const BENCH_POLICY = `version: 1
default: allow
approval_timeout: 10m
rules:
  - id: bench-hold
    tool: hold_me
    decision: approve
output:
  redact: [vault, secrets]
`;

const step = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'gov-bench-'));
  const extraHosts = Array.from({ length: SIZES.hosts }, (_, i) => `127.0.0.${10 + i}`);
  const pki = makeBenchPki(work, ['127.0.0.1', ...extraHosts]);
  const policyPath = join(work, 'bench-policy.yaml');
  writeFileSync(policyPath, BENCH_POLICY);
  const home = (name: string): string => {
    const h = join(work, name);
    mkdirSync(h, { recursive: true, mode: 0o700 });
    return h;
  };
  const upstream = await startUpstream({
    keyPath: pki.keyPath,
    certPath: pki.certPath,
    hosts: ['127.0.0.1', ...extraHosts],
    bigBytes: SIZES.bigBytes,
  });
  const origin = `https://127.0.0.1:${upstream.ports['127.0.0.1']}`;
  const plan: LoadPlan = {
    origin,
    viaProxy: false,
    phases: opts.phases
      ? (opts.phases.split(',') as LoadPlan['phases'])
      : ['latency', 'throughput', 'sse', 'first-host', 'big'],
    latencyCalls: SIZES.latencyCalls,
    concurrency: [1, 8, 32],
    durationMs: SIZES.durationMs,
    sseCalls: SIZES.sseCalls,
    sseEvents: SIZES.sseEvents,
    newHosts: extraHosts.map((h) => `https://${h}:${upstream.ports[h]}`),
    bigCalls: SIZES.bigCalls,
    held: { calls: SIZES.held, streams: SIZES.held },
  };

  try {
    step('in-process: policy decide() at 10 and 1,000 rules');
    const decide = [benchDecide(10, SIZES.decideBatches), benchDecide(1000, SIZES.decideBatches)];
    step(`in-process: output scan of a ${(SIZES.bigBytes / 1e6).toFixed(0)} MB tool result`);
    const scan = benchScan(SIZES.bigBytes, SIZES.scanRounds);

    step('direct: load generator → upstream');
    const direct = await runDirect(plan, pki.caPath);
    step(`gov: gov run --no-tui -- loadgen${opts['cpu-prof'] ? ' (with --cpu-prof)' : ''}`);
    const profDir = opts['cpu-prof'] ? resolve(opts['cpu-prof']) : undefined;
    const gov = await runUnderGov(plan, {
      home: home('home-main'),
      policyPath,
      upstreamCa: pki.caPath,
      ...(profDir ? { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] } : {}),
    });

    let mitm: LoadResult | null = null;
    let mitmNote = 'skipped: --quick';
    if (!quick && !opts['no-mitm']) {
      const bin = findMitmdump(true);
      if (!bin) mitmNote = 'skipped: mitmdump not installed and apt-get install -y mitmproxy failed';
      else {
        step('mitmproxy: mitmdump pass-through → upstream');
        const port = 20_000 + Math.floor(Math.random() * 20_000);
        mitm = await runUnderMitm(
          { ...plan, phases: ['latency', 'throughput'], latencyCalls: 500 },
          { bin, confdir: join(work, 'mitm'), upstreamCa: pki.caPath, port },
        ).catch((err: unknown) => {
          mitmNote = `skipped: mitmdump failed: ${(err as Error).message.split('\n')[0]}`;
          return null;
        });
        if (mitm) mitmNote = `mitmdump pass-through (${bin})`;
      }
    } else if (opts['no-mitm']) mitmNote = 'skipped: --no-mitm';

    step(`gov: ${SIZES.held} held calls + ${SIZES.held} open SSE streams`);
    const heldHome = home('home-held');
    let heldRss: number | null = null;
    let pendingSeen = 0;
    const held = await runUnderGov(
      { ...plan, phases: ['held'] },
      {
        home: heldHome,
        policyPath,
        upstreamCa: pki.caPath,
        onReady: async (govPid) => {
          const deadline = Date.now() + 60_000;
          while (Date.now() < deadline) {
            pendingSeen = (await listPending(heldHome)).length;
            if (pendingSeen >= SIZES.held) break;
            await new Promise((r) => setTimeout(r, 250));
          }
          await new Promise((r) => setTimeout(r, 500));
          heldRss = rssMb(govPid);
        },
      },
    );

    let wrap: Awaited<ReturnType<typeof benchWrap>> | null = null;
    let wrapNote = 'skipped: not available (cli/commands/mcp-wrap.ts not built)';
    if (wrapAvailable()) {
      step('gov mcp wrap: stdio client → (gov mcp wrap →) stdio server');
      wrap = await benchWrap({ home: home('home-wrap'), policyPath, calls: SIZES.wrapCalls }).catch(
        (err: unknown) => {
          wrapNote = `skipped: gov mcp wrap failed: ${(err as Error).message.split('\n')[0]}`;
          return null;
        },
      );
      if (wrap) wrapNote = '';
    }
    upstream.close();

    const rows = buildRows({
      direct,
      gov,
      mitm,
      mitmNote,
      held,
      heldRss,
      pendingSeen,
      decide,
      scan,
      wrap,
      wrapNote,
    });
    const result = {
      meta: {
        date: new Date().toISOString(),
        quick,
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        totalMemMb: Math.round(totalmem() / 2 ** 20),
        loadavgAtEnd: loadavg().map((x) => round(x, 2)),
        durationS: round((Date.now() - started) / 1000, 1),
        method:
          'cli rows: the real `gov run --no-tui -- node loadgen.js` (undici ProxyAgent, keep-alive) vs the same load generator direct, in one run; in-process rows: src/ modules called directly',
        cpuProfileDir: profDir ?? null,
      },
      rows,
      raw: { direct, gov, mitm, held: { ...held, rssMb: heldRss, pendingSeen }, decide, scan, wrap },
    };
    const out = opts.out ? resolve(opts.out) : join(ROOT, 'bench-results', 'latest.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(renderTable(rows));
    process.stdout.write(
      `\n${cpus().length} cpus, node ${process.version}, load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}; figures written to ${out}\n`,
    );
  } finally {
    upstream.close();
    killAll();
    rmSync(work, { recursive: true, force: true });
  }
}

interface Inputs {
  direct: LoadResult;
  gov: LoadResult;
  mitm: LoadResult | null;
  mitmNote: string;
  held: LoadResult;
  heldRss: number | null;
  pendingSeen: number;
  decide: ReturnType<typeof benchDecide>[];
  scan: ReturnType<typeof benchScan>;
  wrap: Awaited<ReturnType<typeof benchWrap>> | null;
  wrapNote: string;
}

function buildRows(i: Inputs): Row[] {
  const rows: Row[] = [];
  const r = (x: number | null | undefined, d = 3): number | null =>
    x === null || x === undefined ? null : round(x, d);
  const latencyRow = (
    id: string,
    figure: string,
    d: number | undefined,
    g: number | undefined,
    limit: number,
    target: string,
    method: Row['method'] = 'cli',
  ): Row => {
    const added = d !== undefined && g !== undefined ? g - d : null;
    return {
      id,
      figure,
      unit: 'ms',
      method,
      direct: r(d),
      gov: r(g),
      added: r(added),
      target,
      pass: added === null ? null : added <= limit,
    };
  };
  rows.push(
    latencyRow(
      'latency_p50',
      'added latency per tools/call, p50',
      i.direct.latency?.p50,
      i.gov.latency?.p50,
      1,
      'added ≤ 1 ms',
    ),
  );
  rows.push(
    latencyRow(
      'latency_p99',
      'added latency per tools/call, p99',
      i.direct.latency?.p99,
      i.gov.latency?.p99,
      5,
      'added ≤ 5 ms',
    ),
  );
  if (i.mitm?.latency) rows[rows.length - 2]!.mitm = r(i.mitm.latency.p50);
  if (i.mitm?.latency) rows[rows.length - 1]!.mitm = r(i.mitm.latency.p99);
  for (const d of i.direct.throughput ?? []) {
    const g = i.gov.throughput?.find((t) => t.clients === d.clients);
    const m = i.mitm?.throughput?.find((t) => t.clients === d.clients);
    const ratio = g ? g.rps / d.rps : null;
    rows.push({
      id: `rps_${d.clients}`,
      figure: `calls/s at ${d.clients} client${d.clients > 1 ? 's' : ''} (gov/direct)`,
      unit: 'calls/s',
      method: 'cli',
      direct: r(d.rps, 0),
      gov: r(g?.rps, 0),
      mitm: m ? r(m.rps, 0) : null,
      ratio: r(ratio),
      target: d.clients === 32 ? '≥ 0.50× direct' : '-',
      pass: d.clients === 32 && ratio !== null ? ratio >= 0.5 : null,
      note: g
        ? `p50 direct ${d.p50.toFixed(2)} ms, gov ${g.p50.toFixed(2)} ms${m ? `, mitmproxy ${m.p50.toFixed(2)} ms` : ''}${g.errors ? `; ${g.errors} gov errors` : ''}`
        : '',
    });
  }
  const g32 = i.gov.throughput?.find((t) => t.clients === 32);
  const m32 = i.mitm?.throughput?.find((t) => t.clients === 32);
  rows.push({
    id: 'rps_vs_mitm_32',
    figure: 'calls/s at 32 clients, gov/mitmproxy',
    unit: 'calls/s',
    method: 'cli',
    direct: null,
    gov: r(g32?.rps, 0),
    mitm: m32 ? r(m32.rps, 0) : null,
    ratio: g32 && m32 ? r(g32.rps / m32.rps) : null,
    target: '≥ 3× mitmproxy',
    pass: g32 && m32 ? g32.rps / m32.rps >= 3 : null,
    note: i.mitmNote,
  });
  for (const d of i.decide) {
    rows.push({
      id: `decide_${d.rules}`,
      figure: `policy decide() at ${d.rules} rules, p99 per call`,
      unit: 'µs',
      method: 'in-process',
      direct: null,
      gov: d.p99Us,
      target: '≤ 10 µs',
      pass: d.p99Us <= 10,
      note: `p50 ${d.p50Us} µs over ${d.calls} calls in batches of 16`,
    });
  }
  const fh = latencyRow(
    'first_host',
    'first request to a never-seen host',
    i.direct.firstHost?.firstMs,
    i.gov.firstHost?.firstMs,
    10,
    'added ≤ 10 ms',
  );
  fh.note = `median of ${i.gov.firstHost?.hosts ?? 0} hosts (127.0.0.x), fresh client connection each; gov with a new connection to an already-seen host: ${i.gov.firstHost?.newConnKnownHostMs.toFixed(2)} ms (direct ${i.direct.firstHost?.newConnKnownHostMs.toFixed(2)} ms)`;
  rows.push(fh);
  rows.push(
    latencyRow(
      'sse_ttfe_post',
      'SSE time to first event (POST tools/call), p50',
      i.direct.sse?.postTtfe.p50,
      i.gov.sse?.postTtfe.p50,
      2,
      'added ≤ 2 ms',
    ),
  );
  rows.push(
    latencyRow(
      'sse_ttfe_get',
      'SSE time to first event (GET stream), p50',
      i.direct.sse?.getTtfe.p50,
      i.gov.sse?.getTtfe.p50,
      2,
      'added ≤ 2 ms',
    ),
  );
  const st = i.gov.sse?.stream;
  const growth =
    st && st.rssAfterMb !== null && st.rssBeforeMb !== null ? st.rssAfterMb - st.rssBeforeMb : null;
  rows.push({
    id: 'sse_stream',
    figure: `${st?.events ?? 0} SSE events streamed, gov RSS growth`,
    unit: 'MB',
    method: 'cli',
    direct: null,
    gov: r(growth, 1),
    target: 'flat (≤ 10 MB growth)',
    pass: growth === null ? null : growth <= 10,
    note: st
      ? `gov RSS before ${st.rssBeforeMb?.toFixed(1)} MB, peak ${st.rssPeakMb?.toFixed(1)}, after ${st.rssAfterMb?.toFixed(1)}; stream took ${st.ms.toFixed(0)} ms via gov vs ${i.direct.sse?.stream.ms.toFixed(0)} ms direct`
      : '',
  });
  rows.push({
    id: 'scan_string',
    figure: `output scan, redactString of ${(i.scan.bytes / 1e6).toFixed(1)} MB result`,
    unit: 'MB/s',
    method: 'in-process',
    direct: i.scan.jsonParseMBps,
    gov: i.scan.redactStringMBps,
    target: '≥ 200 MB/s',
    pass: i.scan.redactStringMBps >= 200,
    note: `direct column: JSON.parse of the same text, for scale; ${i.scan.redactions} planted secrets redacted`,
  });
  rows.push({
    id: 'scan_json',
    figure: `output scan, redactJson of ${(i.scan.bytes / 1e6).toFixed(1)} MB result`,
    unit: 'MB/s',
    method: 'in-process',
    direct: i.scan.jsonParseMBps,
    gov: i.scan.redactJsonMBps,
    target: '≥ 200 MB/s',
    pass: i.scan.redactJsonMBps >= 200,
  });
  if (i.direct.big && i.gov.big) {
    const mbps = (b: { bytes: number; ms: number }) => b.bytes / 1e6 / (b.ms / 1000);
    rows.push({
      id: 'big_result_e2e',
      figure: `${(i.gov.big.bytes / 1e6).toFixed(1)} MB tools/call result end to end`,
      unit: 'MB/s',
      method: 'cli',
      direct: r(mbps(i.direct.big), 1),
      gov: r(mbps(i.gov.big), 1),
      ratio: r(mbps(i.gov.big) / mbps(i.direct.big)),
      target: '-',
      pass: null,
      note: `median call ${i.direct.big.ms.toFixed(1)} ms direct, ${i.gov.big.ms.toFixed(1)} ms via gov (read, parse, scan, re-serialise)`,
    });
  }
  rows.push({
    id: 'rss_held',
    figure: `gov RSS, ${i.held.held?.callsSent ?? 0} held calls + ${i.held.held?.streamsOpen ?? 0} open SSE streams`,
    unit: 'MB',
    method: 'cli',
    direct: null,
    gov: r(i.heldRss, 1),
    target: '≤ 150 MB',
    pass: i.heldRss === null ? null : i.heldRss <= 150,
    note: `${i.pendingSeen} calls pending in gov when measured; ${i.held.held?.callsSettledEarly ?? 0} settled early; opening the streams (50 at a time) took ${i.held.held?.streamsOpenMs.toFixed(0)} ms`,
  });
  const w = i.wrap;
  rows.push(
    w
      ? latencyRow(
          'wrap_p50',
          'gov mcp wrap added latency per call, p50',
          w.direct.p50,
          w.gov.p50,
          0.3,
          'added ≤ 0.3 ms',
        )
      : {
          id: 'wrap_p50',
          figure: 'gov mcp wrap added latency per call, p50',
          unit: 'ms',
          method: 'cli',
          direct: null,
          gov: null,
          target: 'added ≤ 0.3 ms',
          pass: null,
          note: i.wrapNote,
        },
  );
  if (w)
    rows[rows.length - 1]!.note =
      `p99 direct ${w.direct.p99.toFixed(3)} ms, wrapped ${w.gov.p99.toFixed(3)} ms`;
  return rows;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  killAll();
  process.exitCode = 1;
});
