import { readFileSync } from 'node:fs';

/** Nearest-rank percentile of an unsorted sample (p in 0..100). */
export function percentile(sample: number[], p: number): number {
  if (sample.length === 0) return NaN;
  const s = Float64Array.from(sample).sort();
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank]!;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

export function summarize(sample: number[]): LatencySummary {
  const mean = sample.reduce((a, b) => a + b, 0) / (sample.length || 1);
  return { n: sample.length, p50: percentile(sample, 50), p99: percentile(sample, 99), mean };
}

export function median(sample: number[]): number {
  return percentile(sample, 50);
}

/** VmRSS of a process in MB, or null when it cannot be read (not Linux, process gone). */
export function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** CPU time (user + system) a process has used, in µs, from /proc/<pid>/stat (10 ms ticks); null when unreadable. */
export function procCpuUs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at "state" (field 3).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

export const round = (x: number, digits = 3): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
