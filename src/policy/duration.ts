/** Durations and rates as written in gov.yaml. Pure; returns null instead of throwing. */

/** `500ms`, `30s`, `10m`, `1h`; a bare number is seconds. */
export function parseDurationMs(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? Math.round(value * 1000) : null;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  const ms = Math.round(n * factor);
  return ms > 0 ? ms : null;
}

const PER: Record<string, number> = {
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
};

/** `10/min`, `5/sec`, `100/hour` (also s, second, m, minute, h). */
export function parseRate(value: string): { count: number; perMs: number } | null {
  const m = /^\s*(\d+)\s*\/\s*([a-z]+)\s*$/.exec(value);
  if (!m) return null;
  const count = Number(m[1]);
  const perMs = PER[m[2] ?? ''];
  if (perMs === undefined || !Number.isSafeInteger(count) || count < 1) return null;
  return { count, perMs };
}

/** 600000 → '10m', 120000 → '2m', 1500 → '1500ms': the largest unit that is exact, so the text
 * parses back (parseDurationMs) to the same value. */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
