import type { AuditRecord } from '../types.js';
import { shortRunId } from './run-id.js';
import { stripUnsafe, truncate } from '../terminal-text.js';

/**
 * The human table of `gov audit tail`. Every cell comes from the audit file, which holds
 * strings chosen by the agent or an MCP server (tool names, URIs, reasons), so cells are
 * made inert (terminal-text.ts, as in the approvals TUI) before they reach the screen.
 */

export interface Column {
  header: string;
  max: number;
  /** Width used when following (rows arrive one by one, so widths cannot fit the data). */
  follow: number;
  get: (r: AuditRecord) => string;
  color?: (value: string, r: AuditRecord) => string | undefined;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Local `YYYY-MM-DD HH:MM:SS` (the raw ts when it does not parse). */
export function formatTime(ts: string): string {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

function latency(r: AuditRecord): string {
  const l = r.latency_ms;
  if (!l || typeof l !== 'object') return '';
  const total = [l.policy, l.approval, l.upstream].reduce<number>(
    (a, b) => a + (typeof b === 'number' ? b : 0),
    0,
  );
  return `${Math.round(total)}ms`;
}

const str = (v: unknown): string => {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v) ?? '';
};

/** The tool or URI, and the task a call created or a `tasks/*` request names (the chain). */
function toolCell(r: AuditRecord): string {
  const target = str(r.tool ?? r.uri);
  const task = r.detail?.['task_id'];
  if (typeof task !== 'string') return target;
  return target ? `${target} task:${task}` : `task:${task}`;
}

const DECISION_COLOR: Record<string, string> = { allow: '32', deny: '31', approve: '33' };

export const COLUMNS: Column[] = [
  { header: 'TIME', max: 19, follow: 19, get: (r) => formatTime(str(r.ts)) },
  { header: 'RUN', max: 8, follow: 6, get: (r) => shortRunId(str(r.run)), color: () => '2' },
  {
    header: 'KIND',
    max: 9,
    follow: 9,
    get: (r) => str(r.kind),
    color: (v) => (v === 'alert' ? '31;1' : undefined),
  },
  {
    header: 'DECISION',
    max: 13,
    follow: 13,
    // Shadow mode: what happened, then what the policy would have done.
    get: (r) => (r.shadow_decision ? `${str(r.decision)}>${r.shadow_decision}` : str(r.decision)),
    color: (v) => DECISION_COLOR[v] ?? DECISION_COLOR[v.split('>')[1] ?? ''],
  },
  { header: 'SERVER', max: 24, follow: 16, get: (r) => str(r.server?.name ?? r.server?.url) },
  { header: 'METHOD', max: 24, follow: 16, get: (r) => str(r.method) },
  { header: 'TOOL/URI', max: 48, follow: 32, get: toolCell },
  { header: 'RULE', max: 24, follow: 16, get: (r) => str(r.rule) },
  { header: 'STATUS', max: 16, follow: 10, get: (r) => str(r.status) },
  { header: 'LATENCY', max: 9, follow: 9, get: latency },
];

/** Fit a cell: sanitized, truncated with an ellipsis, padded to `width`. */
function cell(text: string, width: number): string {
  const fitted = truncate(stripUnsafe(text), width);
  return fitted + ' '.repeat(Math.max(0, width - [...fitted].length));
}

export interface TableOptions {
  color: boolean;
  /** Column widths; see columnWidths(). */
  widths: number[];
}

/** Widths that fit these records (bounded by each column's max), or the fixed follow widths. */
export function columnWidths(records: AuditRecord[] | 'follow'): number[] {
  if (records === 'follow') return COLUMNS.map((c) => c.follow);
  return COLUMNS.map((c) => {
    let w = c.header.length;
    for (const r of records) w = Math.max(w, [...stripUnsafe(c.get(r))].length);
    return Math.min(w, c.max);
  });
}

function join(cells: string[]): string {
  return cells.join('  ').trimEnd();
}

export function formatHeader(opts: TableOptions): string {
  const line = join(COLUMNS.map((c, i) => cell(c.header, opts.widths[i] ?? c.max)));
  return opts.color ? `\u001b[1m${line}\u001b[0m` : line;
}

export function formatRow(r: AuditRecord, opts: TableOptions): string {
  return join(
    COLUMNS.map((c, i) => {
      const raw = c.get(r);
      const text = cell(raw, opts.widths[i] ?? c.max);
      const code = opts.color ? c.color?.(raw, r) : undefined;
      return code ? `\u001b[${code}m${text}\u001b[0m` : text;
    }),
  );
}

/** The whole table for a finished list of records. */
export function formatTable(records: AuditRecord[], color: boolean): string {
  const opts = { color, widths: columnWidths(records) };
  return [formatHeader(opts), ...records.map((r) => formatRow(r, opts))].join('\n') + '\n';
}

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === '');
}
