import { describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/audit/filter.js';
import { formatRow, formatTable, useColor, columnWidths } from '../../src/audit/format.js';
import { GovError } from '../../src/errors.js';
import type { AuditRecord } from '../../src/types.js';

const base: AuditRecord = {
  v: 1,
  id: '20261121T050102Z-3f9a1c.2',
  ts: '2026-11-21T05:01:02.000Z',
  run: '20261121T050102Z-3f9a1c',
  seq: 2,
  kind: 'call',
  transport: 'http',
  server: { name: 'github', url: 'https://api.example.com/mcp' },
  method: 'tools/call',
  tool: 'get_issue',
  decision: 'allow',
  rule: 'github-reads',
  status: 'ok',
  latency_ms: { policy: 0.4, upstream: 41.7 },
  prev: 'a',
  hash: 'b',
};

describe('compileFilter', () => {
  it('matches decision, tool glob, server and run', () => {
    expect(compileFilter({ decision: 'allow' })(base)).toBe(true);
    expect(compileFilter({ decision: 'deny' })(base)).toBe(false);
    expect(compileFilter({ tool: 'get_*' })(base)).toBe(true);
    expect(compileFilter({ tool: 'get_issu?' })(base)).toBe(true);
    expect(compileFilter({ tool: 'get_iss?' })(base)).toBe(false);
    expect(compileFilter({ tool: 'file://*' })({ ...base, tool: undefined, uri: 'file:///x/.env' })).toBe(
      true,
    );
    expect(compileFilter({ server: 'github' })(base)).toBe(true);
    expect(compileFilter({ server: 'https://api.example.com/mcp' })(base)).toBe(true);
    expect(compileFilter({ server: 'payments' })(base)).toBe(false);
    expect(compileFilter({ run: '3f9a1c' })(base)).toBe(true);
    expect(compileFilter({ run: '20261121T050102Z' })(base)).toBe(true);
    expect(compileFilter({ run: 'zzz' })(base)).toBe(false);
    expect(compileFilter({ decision: 'allow', tool: 'list_*' })(base)).toBe(false);
    expect(compileFilter({ decision: 'allow' })({ ...base, kind: 'run_start', decision: undefined })).toBe(
      false,
    );
  });

  it('treats regex metacharacters in globs literally', () => {
    expect(compileFilter({ tool: 'a.b(c)+' })({ ...base, tool: 'a.b(c)+' })).toBe(true);
    expect(compileFilter({ tool: 'a.b' })({ ...base, tool: 'axb' })).toBe(false);
  });

  it('rejects an unknown decision as a usage error', () => {
    expect(() => compileFilter({ decision: 'maybe' })).toThrow(GovError);
  });
});

describe('format', () => {
  it('makes untrusted cells inert as the approvals TUI does: no escapes or controls; bidi, zero-width, tag and BOM characters shown escaped', () => {
    const hidden =
      'read\u200b_\ufefffile\u{E0069}\u{E0067}\u{E006E}\u202e\u001b[31mx\u001b]0;title\u0007\u2060\n';
    const row = formatRow(
      { ...base, tool: hidden },
      { color: false, widths: columnWidths([base]).map(() => 48) },
    );
    expect(row).toContain('read<U+200B>_<U+FEFF>file<U+E0069><U+E0067><U+E…');
    expect(row).not.toMatch(/[\u200b\ufeff\u202e\u2060\u001b\u0007\n]|\udb40/);
  });

  it('prints an aligned table with the short run id and total latency', () => {
    const out = formatTable([base, { ...base, seq: 3, tool: 'x\u001b[2Jy', decision: 'deny' }], false);
    const rows = out.trimEnd().split('\n');
    expect(rows[0]).toMatch(
      /^TIME\s+RUN\s+KIND\s+DECISION\s+SERVER\s+METHOD\s+TOOL\/URI\s+RULE\s+STATUS\s+LATENCY$/,
    );
    expect(rows[1]).toContain('3f9a1c');
    expect(rows[1]).toContain('42ms');
    expect(rows[2]).toContain('xy');
    expect(out).not.toContain('\u001b');
    const col = rows[0]!.indexOf('TOOL/URI');
    expect(rows[1]!.indexOf('get_issue')).toBe(col);
  });

  it('names the task a call created and the task a tasks/* request polls', () => {
    const widths = columnWidths('follow');
    const created = { ...base, tool: 'report', detail: { call_id: 'c1', task_id: 'task-25' } };
    const polled = { ...base, method: 'tasks/get', tool: undefined, detail: { task_id: 'task-25' } };
    expect(formatRow(created, { color: false, widths })).toContain('report task:task-25');
    expect(formatRow(polled, { color: false, widths })).toContain('task:task-25');
  });

  it('colours only when asked, and truncates long cells', () => {
    const widths = columnWidths('follow');
    expect(formatRow(base, { color: true, widths })).toContain('\u001b[32m');
    const long = formatRow({ ...base, tool: 't'.repeat(100) }, { color: false, widths });
    expect(long).toContain(`${'t'.repeat(31)}…`);
  });

  it('useColor: TTY only, never with NO_COLOR', () => {
    expect(useColor({ isTTY: true }, {})).toBe(true);
    expect(useColor({ isTTY: false }, {})).toBe(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
  });
});
