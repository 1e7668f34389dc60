/**
 * The bench's load generator, run as a child process: directly against the upstream, as the
 * agent under `gov run` (it then finds the proxy in HTTPS_PROXY, as any agent would), or
 * behind mitmproxy. undici with keep-alive; every loop bounded. Takes one JSON argument (a
 * LoadPlan), prints `RESULT <json>` on stdout. In the held phase it prints `READY held` and
 * waits for a line on stdin before it reports and exits.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import { median, procCpuUs, rssMb, summarize, type LatencySummary } from './stats.js';
import type { Phase } from './options.js';

export interface LoadPlan {
  /** `https://127.0.0.1:PORT` of the upstream. */
  origin: string;
  /** The upstream's pid, for its CPU time per call. */
  upstreamPid: number | null;
  /** Use the proxy named by HTTPS_PROXY. */
  viaProxy: boolean;
  /** The load phases of `--phases`, and `held` (the memory rows' own run). */
  phases: Array<Phase | 'held'>;
  latencyCalls: number;
  concurrency: number[];
  durationMs: number;
  sseCalls: number;
  sseEvents: number;
  /** Origins of never-seen hosts (distinct loopback IPs). */
  newHosts: string[];
  bigCalls: number;
  held: { calls: number; streams: number };
}

/** CPU time per call (µs) of each process over one measured phase; null when unreadable. */
export interface CpuPerCall {
  calls: number;
  loadgenUs: number;
  upstreamUs: number | null;
  proxyUs: number | null;
}

export interface LoadResult {
  proxyPid: number | null;
  latency?: LatencySummary & { cpu: CpuPerCall };
  throughput?: Array<{
    clients: number;
    rps: number;
    p50: number;
    p99: number;
    errors: number;
    cpu: CpuPerCall;
  }>;
  sse?: {
    postTtfe: LatencySummary;
    getTtfe: LatencySummary;
    stream: {
      events: number;
      ms: number;
      rssBeforeMb: number | null;
      rssPeakMb: number | null;
      rssAfterMb: number | null;
      /** Each measured stream's time; `ms` is their median. */
      runsMs: number[];
      /** Per event, over the measured streams. */
      cpu?: CpuPerCall;
      /** The run's first stream of as many events (unmeasured otherwise): V8 still optimising the path. */
      firstMs: number;
    };
  };
  firstHost?: { firstMs: number; newConnKnownHostMs: number; hosts: number };
  /** `cpu`: per call. */
  big?: { bytes: number; ms: number; cpu?: CpuPerCall };
  held?: { streamsOpen: number; streamsOpenMs: number; callsSent: number; callsSettledEarly: number };
}

const plan = JSON.parse(process.argv[2] ?? '{}') as LoadPlan;
const proxyUrl = process.env['HTTPS_PROXY'] ?? process.env['https_proxy'];
if (plan.viaProxy && !proxyUrl) throw new Error('viaProxy but no HTTPS_PROXY');

/** Under gov the proxy is our parent; its RSS is what the held/SSE rows report. */
function proxyPid(): number | null {
  if (!plan.viaProxy) return null;
  try {
    return readFileSync(`/proc/${process.ppid}/cmdline`, 'utf8').includes('gov') ? process.ppid : null;
  } catch {
    return null;
  }
}

/** Start counting CPU time of the load generator, the upstream and the proxy; stop(calls) divides. */
function cpuMeter(): (calls: number) => CpuPerCall {
  const pid = proxyPid();
  const self0 = process.cpuUsage();
  const up0 = procCpuUs(plan.upstreamPid);
  const px0 = procCpuUs(pid);
  return (calls) => {
    const self = process.cpuUsage(self0);
    const up1 = procCpuUs(plan.upstreamPid);
    const px1 = procCpuUs(pid);
    const per = (a: number | null, b: number | null): number | null =>
      a === null || b === null || calls === 0 ? null : (b - a) / calls;
    return {
      calls,
      loadgenUs: (self.user + self.system) / Math.max(1, calls),
      upstreamUs: per(up0, up1),
      proxyUs: per(px0, px1),
    };
  };
}

function dispatcher(connections: number | null = null, connectTimeoutMs = 10_000): Dispatcher {
  const opts = { connections, keepAliveTimeout: 30_000, pipelining: 1 };
  const connect = { timeout: connectTimeoutMs };
  return plan.viaProxy
    ? new ProxyAgent({ uri: proxyUrl!, ...opts, requestTls: connect, proxyTls: connect })
    : new Agent({ ...opts, connect });
}

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
let nextId = 1;

function callBody(tool: string, args: Record<string, unknown> = {}): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: nextId++,
    method: 'tools/call',
    params: { name: tool, arguments: args },
  });
}

/** One tools/call, body fully read; returns [ms, first-chunk ms, bytes]. */
async function call(
  d: Dispatcher,
  origin: string,
  path = '/mcp',
  tool = 'echo',
): Promise<[number, number, number]> {
  const t0 = performance.now();
  const res = await request(origin + path, {
    method: 'POST',
    dispatcher: d,
    // A fresh object each time: undici ProxyAgent writes `host` into the headers object it is given.
    headers: { ...HEADERS },
    body: callBody(tool, { q: 'hello', n: nextId }),
  });
  if (res.statusCode !== 200)
    throw new Error(`HTTP ${res.statusCode} from ${origin}${path}: ${(await res.body.text()).slice(0, 300)}`);
  let first = 0;
  let bytes = 0;
  for await (const chunk of res.body) {
    if (first === 0) first = performance.now() - t0;
    bytes += (chunk as Buffer).length;
  }
  return [performance.now() - t0, first, bytes];
}

async function latency(): Promise<NonNullable<LoadResult['latency']>> {
  const d = dispatcher(1);
  for (let i = 0; i < Math.min(2000, plan.latencyCalls); i++) await call(d, plan.origin);
  const sample: number[] = [];
  const stop = cpuMeter();
  for (let i = 0; i < plan.latencyCalls; i++) sample.push((await call(d, plan.origin))[0]);
  const cpu = stop(sample.length);
  await d.close();
  return { ...summarize(sample), cpu };
}

async function throughputAt(clients: number): Promise<NonNullable<LoadResult['throughput']>[number]> {
  const d = dispatcher(clients);
  const sample: number[] = [];
  let errors = 0;
  const loop = async (until: number, record: boolean): Promise<void> => {
    while (performance.now() < until) {
      try {
        const [ms] = await call(d, plan.origin);
        if (record) sample.push(ms);
      } catch {
        errors++;
        if (errors > 1000) return;
      }
    }
  };
  const warm = performance.now() + Math.min(500, plan.durationMs / 2);
  await Promise.all(Array.from({ length: clients }, () => loop(warm, false)));
  const t0 = performance.now();
  const stop = cpuMeter();
  await Promise.all(Array.from({ length: clients }, () => loop(t0 + plan.durationMs, true)));
  const cpu = stop(sample.length);
  const elapsed = performance.now() - t0;
  await d.close();
  const s = summarize(sample);
  return { clients, rps: (sample.length / elapsed) * 1000, p50: s.p50, p99: s.p99, errors, cpu };
}

async function getStream(
  d: Dispatcher,
  events: number,
  onEvent?: (n: number) => void,
): Promise<[number, number, number]> {
  const t0 = performance.now();
  const res = await request(`${plan.origin}/stream?events=${events}`, {
    dispatcher: d,
    headers: { accept: 'text/event-stream' },
  });
  let first = 0;
  let seen = 0;
  let carry = '';
  for await (const chunk of res.body) {
    if (first === 0) first = performance.now() - t0;
    const text = carry + (chunk as Buffer).toString('utf8');
    let at = text.indexOf('\n\n');
    let from = 0;
    while (at !== -1) {
      seen++;
      onEvent?.(seen);
      from = at + 2;
      at = text.indexOf('\n\n', from);
    }
    carry = text.slice(from);
  }
  return [performance.now() - t0, first, seen];
}

/** Streams of `sseEvents` events measured after the unmeasured first one. */
const SSE_MEASURED_STREAMS = 3;

async function sse(): Promise<NonNullable<LoadResult['sse']>> {
  const d = dispatcher(1);
  // Warmed up as the latency row is: after 20 calls both sides still run their SSE paths
  // unoptimised (direct read 1.0-1.3 ms after 20, 0.34-0.38 ms after 2,000).
  const warm = Math.min(2000, plan.latencyCalls);
  for (let i = 0; i < warm; i++) await call(d, plan.origin, '/mcp-sse');
  for (let i = 0; i < warm; i++) await getStream(d, 1);
  const post: number[] = [];
  const get: number[] = [];
  for (let i = 0; i < plan.sseCalls; i++) post.push((await call(d, plan.origin, '/mcp-sse'))[1]);
  for (let i = 0; i < plan.sseCalls; i++) get.push((await getStream(d, 1))[1]);
  // Steady state, as for the 1-client calls: the first long stream also pays for V8
  // optimising the relay's per-event code (reported beside the row, not in it).
  const [firstMs] = await getStream(d, plan.sseEvents);
  const pid = proxyPid();
  const rssBeforeMb = pid ? rssMb(pid) : null;
  let rssPeakMb = rssBeforeMb;
  // The median of a few streams: one stream's time depends on what else wakes on the cores
  // while it runs (the same build measured 0.28-0.73x against direct, one stream each).
  const meter = cpuMeter();
  const runsMs: number[] = [];
  let events = 0;
  let seenInAll = 0;
  for (let i = 0; i < SSE_MEASURED_STREAMS; i++) {
    const [ms, , n] = await getStream(d, plan.sseEvents, (k) => {
      if (pid && k % 1000 === 0) rssPeakMb = Math.max(rssPeakMb ?? 0, rssMb(pid) ?? 0);
    });
    runsMs.push(ms);
    events = n;
    seenInAll += n;
  }
  const cpu = meter(seenInAll);
  const ms = median(runsMs);
  await new Promise((r) => setTimeout(r, 200));
  const rssAfterMb = pid ? rssMb(pid) : null;
  await d.close();
  return {
    postTtfe: summarize(post),
    getTtfe: summarize(get),
    stream: { events, ms, runsMs, rssBeforeMb, rssPeakMb, rssAfterMb, cpu, firstMs },
  };
}

async function firstHost(): Promise<NonNullable<LoadResult['firstHost']>> {
  const first: number[] = [];
  const again: number[] = [];
  for (const origin of plan.newHosts) {
    for (const sample of [first, again]) {
      const d = dispatcher(1);
      sample.push((await call(d, origin))[0]);
      await d.close();
    }
  }
  return { firstMs: median(first), newConnKnownHostMs: median(again), hosts: plan.newHosts.length };
}

async function big(): Promise<NonNullable<LoadResult['big']>> {
  const d = dispatcher(1);
  await call(d, plan.origin, '/mcp', 'big');
  const ms: number[] = [];
  let bytes = 0;
  const meter = cpuMeter();
  for (let i = 0; i < plan.bigCalls; i++) {
    const [t, , b] = await call(d, plan.origin, '/mcp', 'big');
    ms.push(t);
    bytes = b;
  }
  const cpu = meter(plan.bigCalls);
  await d.close();
  return { bytes, ms: median(ms), cpu };
}

/** Open streams and held calls, say READY, wait for the bench to read the proxy's RSS. */
async function held(): Promise<NonNullable<LoadResult['held']>> {
  // Generous connect timeouts: gov opens one upstream connection per stream.
  const d = dispatcher(null, 120_000);
  const bodies: Array<{ destroy(): void }> = [];
  let streamsOpen = 0;
  const openOne = (): Promise<void> =>
    request(`${plan.origin}/stream?events=1&hold=1`, {
      dispatcher: d,
      headers: { accept: 'text/event-stream' },
    }).then(
      (res) =>
        new Promise<void>((resolve) => {
          bodies.push(res.body);
          res.body.once('data', () => {
            // An error answer has a body too: only a relayed stream counts as open.
            if (res.statusCode === 200) streamsOpen++;
            resolve();
          });
          res.body.on('error', () => resolve());
        }),
    );
  const t0 = performance.now();
  // In waves, so the figure is about holding streams open, not about a connect storm.
  for (let i = 0; i < plan.held.streams; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, plan.held.streams - i) }, openOne));
  }
  const streamsOpenMs = performance.now() - t0;
  let callsSettledEarly = 0;
  for (let i = 0; i < plan.held.calls; i++) {
    call(d, plan.origin, '/mcp', 'hold_me').then(
      () => callsSettledEarly++,
      () => callsSettledEarly++,
    );
  }
  process.stdout.write('READY held\n');
  await new Promise<void>((resolve) =>
    createInterface({ input: process.stdin }).once('line', () => resolve()),
  );
  return { streamsOpen, streamsOpenMs, callsSent: plan.held.calls, callsSettledEarly };
}

async function main(): Promise<void> {
  const out: LoadResult = { proxyPid: proxyPid() };
  for (const phase of plan.phases) {
    if (phase === 'latency') out.latency = await latency();
    if (phase === 'throughput') {
      out.throughput = [];
      for (const c of plan.concurrency) out.throughput.push(await throughputAt(c));
    }
    if (phase === 'sse') out.sse = await sse();
    if (phase === 'first-host') out.firstHost = await firstHost();
    if (phase === 'big') out.big = await big();
    if (phase === 'held') out.held = await held();
  }
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench loadgen: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
