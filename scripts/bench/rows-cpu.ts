/** The headline rows: CPU time per call of gov and of the bare proxy against the endpoints'. */
import type { CpuPerCall, LoadResult } from './loadgen.js';
import type { Row } from './report.js';
import type { Inputs } from './rows.js';
import { round } from './stats.js';

/**
 * The headline: gov's CPU time per call against the two endpoints' (load generator + upstream,
 * measured in the same gov run). CPU time barely depends on how loaded the machine is.
 */
export function cpuRows(i: Inputs): Row[] {
  const at32 = (r: LoadResult | null) => r?.throughput?.find((t) => t.clients === 32)?.cpu;
  const phases: Array<[string, ...Array<CpuPerCall | undefined>]> = [
    ['1 client', i.direct.latency?.cpu, i.gov.latency?.cpu, i.floor?.latency?.cpu],
    ['32 clients', at32(i.direct), at32(i.gov), at32(i.floor)],
  ];
  const rows: Row[] = [];
  for (const [label, d, g, f] of phases) {
    if (g && g.proxyUs !== null && g.upstreamUs !== null) {
      const endpoints = g.loadgenUs + g.upstreamUs;
      const ratio = g.proxyUs / endpoints;
      const direct = d && d.upstreamUs !== null ? d.loadgenUs + d.upstreamUs : null;
      rows.push({
        id: `cpu_per_call_${label.split(' ')[0]}`,
        figure: `CPU per tools/call, ${label}: gov / (load generator + upstream)`,
        unit: 'µs',
        method: 'cli',
        direct: direct === null ? null : round(direct, 1),
        gov: round(g.proxyUs, 1),
        ratio: round(ratio),
        target: '≤ 1.5× endpoints',
        pass: ratio <= 1.5,
        note: `CPU time (utime+stime) over ${g.calls} calls; endpoints under gov: load generator ${g.loadgenUs.toFixed(0)} µs + upstream ${g.upstreamUs.toFixed(0)} µs; direct column: both endpoints without gov`,
      });
    }
    if (f && f.proxyUs !== null && f.upstreamUs !== null) {
      const ratio = f.proxyUs / (f.loadgenUs + f.upstreamUs);
      rows.push({
        id: `cpu_proxy_floor_${label.split(' ')[0]}`,
        figure: `CPU per tools/call, ${label}, bare Node TLS proxy (no governance) / endpoints`,
        unit: 'µs',
        method: 'cli',
        direct: round(f.loadgenUs + f.upstreamUs, 1),
        gov: round(f.proxyUs, 1),
        ratio: round(ratio),
        target: '-',
        pass: null,
        note: `node:http + undici, bodies read whole, nothing else (scripts/bench/proxy-floor.ts); gov's figure minus this one is what governance costs${g?.proxyUs ? ` (${(g.proxyUs - f.proxyUs).toFixed(0)} µs per call in this run)` : ''}${label === '32 clients' ? floorRate(i) : ''}`,
      });
    }
  }
  return rows;
}

/** The bare proxy's calls/s at 32 clients against direct: the ceiling of any Node proxy here. */
function floorRate(i: Inputs): string {
  const f = i.floor?.throughput?.find((t) => t.clients === 32)?.rps;
  const d = i.direct.throughput?.find((t) => t.clients === 32)?.rps;
  return f && d ? `; its calls/s at 32 clients: ${f.toFixed(0)} (${(f / d).toFixed(2)}× direct)` : '';
}
