/**
 * `npm run bench`: gov's performance figures (SPEC §9, issue 8), each measured side by side
 * with the direct path in the same run. Prints a table and writes bench-results/latest.json.
 *
 *   node dist/scripts/bench/index.js [--quick] [--out FILE] [--no-mitm] [--cpu-prof DIR] [--phases a,b]
 *                                    [--heap-sample DIR] [--gov-node-flags=FLAGS] [--only startup|held]
 *
 * --quick: tiny iterations (shape check only; figures meaningless). --cpu-prof DIR: run the
 * main gov process with --cpu-prof and write its profile to DIR, and the bare proxy's to
 * DIR/floor (the same load, for comparison). --gov-node-flags: extra Node/V8 flags for the main
 * gov process only (space-separated, given with `=` since they start with a dash:
 * `--gov-node-flags="--single-threaded-gc"`), to try a setting against the
 * unchanged direct path and bare proxy in one run. --heap-sample DIR: what the main
 * gov process and the bare proxy allocate per request after the warm-up, by site (heap-sample.ts),
 * written to DIR. --phases: only these load
 * phases (latency, throughput, sse, first-host, big) — for profiling one path. --only startup:
 * just the start-up rows (startup_child, startup_wrap), printed, nothing written. --only held:
 * just the memory rows (rss_held, rss_tls_floor), the same way.
 */
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { makeBenchPki } from './pki.js';
import { benchDecide, benchScan } from './in-process.js';
import { benchPins } from './pins.js';
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
import { renderTable } from './report.js';
import { buildRows, heldRows, startupRows } from './rows.js';
import { round } from './stats.js';
import { benchHeld } from './held.js';
import { runUnderProxyFloor } from './proxy-floor.js';
import { benchWrap, wrapAvailable } from './wrap.js';
import { benchIsolation, isolationRows } from './isolation.js';
import { benchStartup } from './startup.js';
import { benchPolicyTest } from './policy-test.js';
import { runUnderServe, serveRows } from './serve.js';
import { benchOptions, PHASES } from './options.js';

const opts = benchOptions();
const quick = opts.quick;

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
      wrapMemoryCalls: 500,
      isolateRuns: 1,
      startupRuns: 1,
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
      wrapMemoryCalls: 10_000,
      isolateRuns: 15,
      startupRuns: 7,
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
  const policyPath = join(work, 'bench-policy.yaml');
  writeFileSync(policyPath, BENCH_POLICY);
  const home = (name: string): string => {
    const h = join(work, name);
    mkdirSync(h, { recursive: true, mode: 0o700 });
    return h;
  };
  if (opts.only === 'startup') {
    try {
      step('start-up: gov run to child start, gov mcp wrap to first initialize answer');
      const startup = await benchStartup({ home: home('home-startup'), policyPath, runs: SIZES.startupRuns });
      process.stdout.write(renderTable(startupRows(startup)));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  const extraHosts = Array.from({ length: SIZES.hosts }, (_, i) => `127.0.0.${10 + i}`);
  const pki = makeBenchPki(work, ['127.0.0.1', ...extraHosts]);
  const upstream = await startUpstream({
    keyPath: pki.keyPath,
    certPath: pki.certPath,
    hosts: ['127.0.0.1', ...extraHosts],
    bigBytes: SIZES.bigBytes,
  });
  const origin = `https://127.0.0.1:${upstream.ports['127.0.0.1']}`;
  const plan: LoadPlan = {
    origin,
    upstreamPid: upstream.pid,
    viaProxy: false,
    phases: opts.phases ?? [...PHASES],
    latencyCalls: SIZES.latencyCalls,
    concurrency: [1, 8, 32],
    durationMs: SIZES.durationMs,
    sseCalls: SIZES.sseCalls,
    sseEvents: SIZES.sseEvents,
    newHosts: extraHosts.map((h) => `https://${h}:${upstream.ports[h]}`),
    bigCalls: SIZES.bigCalls,
    held: { calls: SIZES.held, streams: SIZES.held },
  };

  if (opts.only === 'held') {
    try {
      const figures = await benchHeld(plan, { home: home('home-held'), policyPath, pki, step });
      process.stdout.write(renderTable(heldRows(figures)));
    } finally {
      upstream.close();
      killAll();
      rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  try {
    step('in-process: policy decide() at 10 and 1,000 rules');
    const decide = [benchDecide(10, SIZES.decideBatches), benchDecide(1000, SIZES.decideBatches)];
    step('cli: gov policy test with 1,000 cases');
    const policyTest = benchPolicyTest(1000, quick ? 1 : 5);
    step(`in-process: output scan of a ${(SIZES.bigBytes / 1e6).toFixed(0)} MB tool result`);
    const scan = benchScan(SIZES.bigBytes, SIZES.scanRounds);
    step('in-process: pins and poisoning scan of a 100-tool tools/list');
    const pins = benchPins(100, quick ? 20 : 300);

    step('direct: load generator → upstream');
    const direct = await runDirect(plan, pki.caPath);
    step(`gov: gov run --no-tui -- loadgen${opts.cpuProf ? ' (with --cpu-prof)' : ''}`);
    const profDir = opts.cpuProf ? resolve(opts.cpuProf) : undefined;
    const heap = heapSampling(opts.heapSample);
    const gov = await runUnderGov(plan, {
      home: home('home-main'),
      policyPath,
      upstreamCa: pki.caPath,
      nodeFlags: [
        ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
        ...heap.nodeFlags,
        ...opts.govNodeFlags,
      ],
      env: heap.env('gov'),
    });

    step('floor: the same load through a bare Node TLS-terminating proxy (no governance)');
    const floor = await runUnderProxyFloor(
      { ...plan, phases: plan.phases.filter((p) => p === 'latency' || p === 'throughput') },
      pki,
      {
        nodeFlags: [
          ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profDir, 'floor')}`] : []),
          ...heap.nodeFlags,
        ],
        env: heap.env('proxy-floor'),
      },
    ).catch(() => null);

    // The default is --audit-sync interval; this is the stricter mode, for comparison (info
    // rows only, so --quick leaves it out).
    let govAnswer: LoadResult | null = null;
    if (!quick) {
      step('gov: gov run --no-tui --audit-sync answer -- loadgen');
      govAnswer = await runUnderGov(
        { ...plan, phases: plan.phases.filter((p) => p === 'latency' || p === 'throughput') },
        {
          home: home('home-answer'),
          policyPath,
          upstreamCa: pki.caPath,
          govArgs: ['--audit-sync', 'answer'],
        },
      ).catch(() => null);
    }

    // Audit export on, with a collector that is down: shipping must stay off the call's path.
    step('gov: gov run --no-tui --audit-otlp <dead collector> -- loadgen');
    const govOtlp = await runUnderGov(
      { ...plan, phases: plan.phases.filter((p) => p === 'latency') },
      {
        home: home('home-otlp'),
        policyPath,
        upstreamCa: pki.caPath,
        govArgs: ['--audit-otlp', 'http://127.0.0.1:9/v1/logs'],
      },
    ).catch(() => null);

    step('gov serve: loadgen → gov serve (HTTPS) → upstream');
    const serve = await runUnderServe(
      { ...plan, phases: plan.phases.filter((p) => p === 'latency' || p === 'throughput') },
      {
        home: home('home-serve'),
        policyPath,
        upstreamCa: pki.caPath,
        certPath: pki.certPath,
        keyPath: pki.keyPath,
      },
    ).catch((err: unknown) => ({
      note: `skipped: gov serve failed: ${(err as Error).message.split('\n')[0]}`,
    }));

    let mitm: LoadResult | null = null;
    let mitmNote = 'skipped: --quick';
    if (!quick && !opts.noMitm) {
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
    } else if (opts.noMitm) mitmNote = 'skipped: --no-mitm';

    const heldFigures = await benchHeld(plan, { home: home('home-held'), policyPath, pki, step });

    let wrap: Awaited<ReturnType<typeof benchWrap>> | null = null;
    let wrapNote = 'skipped: not available (cli/commands/mcp-wrap.ts not built)';
    if (wrapAvailable()) {
      step('gov mcp wrap: stdio client → (gov mcp wrap →) stdio server');
      wrap = await benchWrap({
        home: home('home-wrap'),
        policyPath,
        calls: SIZES.wrapCalls,
        memoryCalls: SIZES.wrapMemoryCalls,
        withAnswer: !quick,
      }).catch((err: unknown) => {
        wrapNote = `skipped: gov mcp wrap failed: ${(err as Error).message.split('\n')[0]}`;
        return null;
      });
      if (wrap) wrapNote = '';
    }
    step('gov run --isolate: start-up wall time and latency');
    const isolation = await benchIsolation({
      plan,
      home: home('home-isolate'),
      policyPath,
      upstreamCa: pki.caPath,
      runs: SIZES.isolateRuns,
    }).catch((err: unknown) => ({ note: `skipped: ${(err as Error).message.split('\n')[0]}` }));
    upstream.close();

    step('start-up: gov run to child start, gov mcp wrap to first initialize answer');
    const startup = await benchStartup({
      home: home('home-startup'),
      policyPath,
      runs: SIZES.startupRuns,
    }).catch((err: unknown) => {
      step(`start-up rows skipped: ${(err as Error).message.split('\n')[0]}`);
      return null;
    });

    const rows = buildRows({
      floor,
      govAnswer,
      govOtlp,
      direct,
      gov,
      mitm,
      mitmNote,
      ...heldFigures,
      decide,
      policyTest,
      scan,
      pins,
      wrap,
      wrapNote,
      startup,
    });
    rows.push(...isolationRows(isolation, gov));
    rows.push(...serveRows(serve, direct, gov));
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
        // Figures taken with extra flags on gov are an experiment, not gov as shipped.
        govNodeFlags: opts.govNodeFlags,
      },
      rows,
      raw: {
        direct,
        gov,
        mitm,
        serve,
        held: {
          ...heldFigures.held,
          rssMb: heldFigures.heldRss,
          pendingSeen: heldFigures.pendingSeen,
          tlsFloor: heldFigures.tlsFloor,
        },
        decide,
        scan,
        wrap,
        isolation,
        startup,
        policyTest,
      },
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
    if (opts.govNodeFlags.length > 0) {
      process.stdout.write(
        `gov ran with extra node flags: ${opts.govNodeFlags.join(' ')} (not gov as shipped)\n`,
      );
    }
  } finally {
    upstream.close();
    killAll();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  killAll();
  process.exitCode = 1;
});

/** Node flags and environment that make a proxy process sample its allocations (--heap-sample). */
function heapSampling(dir: string | undefined): {
  nodeFlags: string[];
  env: (name: string) => Record<string, string>;
} {
  if (dir === undefined) return { nodeFlags: [], env: () => ({}) };
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  return {
    nodeFlags: ['--import', new URL('./heap-sample.js', import.meta.url).href],
    env: (name) => ({ GOV_BENCH_HEAP_SAMPLE_DIR: out, GOV_BENCH_HEAP_SAMPLE_NAME: name }),
  };
}
