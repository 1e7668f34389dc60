/** Rows of the table (figure, direct, gov, mitmproxy, added/ratio, target, result) and their printing. */

export interface Row {
  id: string;
  figure: string;
  unit: string;
  /** How it was measured: 'cli' (real `gov run` / `gov mcp wrap`) or 'in-process'. */
  method: 'cli' | 'in-process';
  direct: number | null;
  gov: number | null;
  mitm?: number | null;
  /** gov − direct (latency rows). */
  added?: number | null;
  /** gov / direct (throughput rows), or gov / mitmproxy. */
  ratio?: number | null;
  target: string;
  /** null: informational, or skipped. */
  pass: boolean | null;
  note?: string;
}

const fmt = (x: number | null | undefined, digits = 2): string => {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(digits);
};

export function renderTable(rows: Row[]): string {
  const header = ['figure', 'unit', 'direct', 'gov', 'mitmproxy', 'added/ratio', 'target', 'result'];
  const body = rows.map((r) => [
    r.figure,
    r.unit,
    fmt(r.direct),
    fmt(r.gov),
    r.mitm === undefined ? '' : fmt(r.mitm, 0),
    r.added !== undefined && r.added !== null
      ? `+${fmt(r.added, 3)}`
      : r.ratio !== undefined && r.ratio !== null
        ? `${fmt(r.ratio)}×`
        : '',
    r.target,
    r.pass === null ? (r.note?.startsWith('skipped') ? 'skipped' : 'info') : r.pass ? 'PASS' : 'MISS',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === 1 || i >= 6 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.figure}: ${r.note}`);
  return (
    [
      line(header),
      widths.map((w) => '-'.repeat(w)).join('  '),
      ...body.map(line),
      '',
      'notes:',
      ...notes,
    ].join('\n') + '\n'
  );
}
