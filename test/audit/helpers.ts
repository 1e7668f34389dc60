import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAuditSink, type FileAuditSink } from '../../src/audit/sink.js';
import type { AuditInput } from '../../src/types.js';

export function tempHome(): { home: string; audit: string; cleanup: () => void } {
  const home = mkdtempSync(join(tmpdir(), 'gov-audit-'));
  return { home, audit: join(home, 'audit'), cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

export function call(i: number, extra: Partial<AuditInput> = {}): AuditInput {
  return {
    kind: 'call',
    transport: 'http',
    server: { name: 'github', url: 'https://api.example.com/mcp' },
    method: 'tools/call',
    tool: `get_item_${i}`,
    args_digest: 'sha256:00',
    args: { i },
    decision: i % 3 === 0 ? 'deny' : 'allow',
    rule: `rule-${i % 3}`,
    reason: 'test',
    status: 'ok',
    latency_ms: { policy: 1, upstream: 5 },
    ...extra,
  };
}

/** A run with run_start, `calls` call records and (unless `seal: false`) a seal. */
export async function writeRun(
  dir: string,
  run: string,
  opts: { calls?: number; seal?: boolean } = {},
): Promise<{ sink: FileAuditSink; path: string }> {
  const sink = await openAuditSink({ dir, run, durable: false });
  await sink.append({ kind: 'run_start', transport: 'http', detail: { pid: 1 } });
  for (let i = 1; i <= (opts.calls ?? 3); i++) await sink.append(call(i));
  if (opts.seal ?? true) await sink.seal({ exit_code: 0 });
  else await sink.close();
  return { sink, path: sink.path };
}

export function readLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').slice(0, -1);
}

export function writeLines(path: string, lines: string[], trailingNewline = true): void {
  writeFileSync(path, lines.join('\n') + (trailingNewline && lines.length > 0 ? '\n' : ''));
}
