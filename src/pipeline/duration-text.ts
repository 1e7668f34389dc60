/** 120000 → "120s", 600000 → "10m", 1500 → "1.5s", 250 → "250ms". */
export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms >= 600_000) return `${ms / 60_000}m`;
  return `${Math.round(ms / 100) / 10}s`;
}
