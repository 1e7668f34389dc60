import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dirname } from 'node:path';
import type { FileAuditSink } from '../../src/audit/sink.js';
import { readRunFile, listRunFiles } from '../../src/audit/reader.js';
import { openRunAudit } from '../../src/audit/run-audit.js';
import { openAuditSigner, parsePublicKey, type AuditSigner } from '../../src/audit/signing-key.js';
import { verifyRunFile, type AuditProblem } from '../../src/audit/verify.js';
import type { MasterKeyStore } from '../../vault/keyring.js';
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

/** A keyring that is never there, so tests get the file-kept key and never touch a real keyring. */
export const noKeyring: MasterKeyStore = {
  description: 'no keyring',
  get: () => Promise.reject(new Error('no keyring')),
  set: () => Promise.reject(new Error('no keyring')),
  delete: () => Promise.reject(new Error('no keyring')),
};

/** The installation signer of the GOV_HOME that holds audit directory `dir` (created on first use). */
export function testSigner(dir: string): Promise<AuditSigner> {
  return openAuditSigner({ home: dirname(dir), env: {}, keyring: noKeyring });
}

/**
 * A run as a governed session writes it (signed, linked to the previous run, head.json
 * updated): run_start, `calls` call records and (unless `seal: false`) a seal.
 */
export async function writeRun(
  dir: string,
  run: string,
  opts: { calls?: number; seal?: boolean; checkpointRecords?: number } = {},
): Promise<{ sink: FileAuditSink; path: string }> {
  const signer = await testSigner(dir);
  const ra = await openRunAudit({
    dir,
    run,
    sync: 'interval',
    signer,
    start: { kind: 'run_start', transport: 'http', detail: { pid: 1 } },
    checkpoint: { records: opts.checkpointRecords ?? 100 },
  });
  for (let i = 1; i <= (opts.calls ?? 3); i++) await ra.sink.append(call(i));
  if (opts.seal ?? true) await ra.seal({ exit_code: 0 });
  else await ra.sink.close();
  return { sink: ra.sink, path: ra.sink.path };
}

/**
 * The per-file chain checks alone (hashes, links, seal), for tests of the sink's mechanics
 * that open bare sinks: signature and cross-run checks are covered by verify.test.ts.
 */
export async function verifyFiles(
  dir: string,
): Promise<{ ok: boolean; records: number; runs: number; problems: AuditProblem[] }> {
  const key = parsePublicKey((await testSigner(dir)).publicKey);
  const problems: AuditProblem[] = [];
  let records = 0;
  const files = await listRunFiles(dir);
  for (const f of files) {
    records += verifyRunFile(await readRunFile(f.path), key, problems).records.size;
  }
  const relevant = problems.filter((p) => !/is not signed|exactly one run_start/.test(p.message));
  return { ok: !relevant.some((p) => p.kind === 'error'), records, runs: files.length, problems: relevant };
}

export function readLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').slice(0, -1);
}

export function writeLines(path: string, lines: string[], trailingNewline = true): void {
  writeFileSync(path, lines.join('\n') + (trailingNewline && lines.length > 0 ? '\n' : ''));
}
