import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { AuditRecord } from '../types.js';
import { hashRecord, serializeRecord } from './record.js';
import { listRunFiles, readRunFile, type ParsedRunFile } from './reader.js';

export interface AuditProblem {
  file: string;
  line: number;
  kind: 'error' | 'warning';
  message: string;
}

export interface VerifyResult {
  /** No errors (warnings allowed). */
  ok: boolean;
  /** Records read (well-formed lines). */
  records: number;
  runs: number;
  /** Errors and warnings, in file order then line order. */
  problems: AuditProblem[];
  /** Unsealed runs whose process is still alive (not a problem). */
  inProgress: string[];
}

export interface VerifyOptions {
  /** Directory of live-run descriptors (`<run>.json` with a `pid`); default `<dir>/../runs`. */
  runsDir?: string;
}

const REORDER = 'a record was deleted, inserted or reordered';

/**
 * Check every run file: each record's hash, the chain (`prev`, `seq`, `id`, `run`) and the
 * `run_end` seal. After a broken link the check re-synchronises on the record actually found,
 * so one deleted line is one error rather than one per following line.
 */
export async function verifyAudit(dir: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const runsDir = opts.runsDir ?? join(dirname(dir), 'runs');
  const result: VerifyResult = { ok: true, records: 0, runs: 0, problems: [], inProgress: [] };
  for (const f of await listRunFiles(dir)) {
    result.runs += 1;
    let parsed: ParsedRunFile;
    try {
      parsed = await readRunFile(f.path);
    } catch (err) {
      result.problems.push({
        file: f.path,
        line: 0,
        kind: 'error',
        message: `cannot read: ${(err as Error).message}`,
      });
      continue;
    }
    const live = !isSealed(parsed) && isRunLive(runsDir, f.run);
    if (live) result.inProgress.push(f.run);
    result.records += verifyRunFile(parsed, live, result.problems);
  }
  result.ok = !result.problems.some((p) => p.kind === 'error');
  return result;
}

function isSealed(file: ParsedRunFile): boolean {
  return file.lines.some((l) => l.kind === 'record' && l.rec.record.kind === 'run_end');
}

/** Verify one parsed file, pushing problems; returns the number of well-formed records. */
export function verifyRunFile(file: ParsedRunFile, live: boolean, problems: AuditProblem[]): number {
  const err = (line: number, message: string): void => {
    problems.push({ file: file.path, line, kind: 'error', message });
  };
  let expectedSeq = 1;
  let prev: string | null = null;
  let sealLine: number | undefined;
  let count = 0;
  for (const entry of file.lines) {
    if (entry.kind === 'bad') {
      const b = entry.bad;
      if (b.torn && sealLine === undefined) {
        // In a live run the last line may simply be a write in progress.
        if (!live) {
          problems.push({
            file: file.path,
            line: b.line,
            kind: 'warning',
            message: 'torn last line (an interrupted write; the records before it are intact)',
          });
        }
      } else if (b.text.trim() === '') {
        err(b.line, 'blank line (a record was removed or the file was edited)');
      } else {
        err(b.line, `unparsable line: ${b.message}`);
      }
      continue;
    }
    count += 1;
    const { record: r, line } = { record: entry.rec.record, line: entry.rec.line ?? 0 };
    const why: string[] = [];
    if (sealLine !== undefined) {
      why.push(
        r.kind === 'run_end'
          ? `duplicate seal (the run was already sealed at line ${sealLine})`
          : `record after the run_end seal at line ${sealLine}`,
      );
    }
    if (hashRecord(r) !== r.hash) why.push('hash mismatch (the record was edited)');
    // Duplicate keys hash as their last value but read differently to people and tools.
    else if (serializeRecord(r) !== `${entry.rec.raw}\n`) {
      why.push('the line differs from how gov wrote it (duplicate or reordered keys, or added whitespace)');
    }
    if (r.run !== file.run) why.push(`wrong run id '${r.run}' (the file is run '${file.run}')`);
    if (r.seq !== expectedSeq) why.push(`seq ${r.seq} where ${expectedSeq} was expected (${REORDER})`);
    else if (r.prev !== prev) why.push(`prev does not match the previous record's hash (${REORDER})`);
    if (r.id !== `${r.run}.${r.seq}`) why.push(`id '${r.id}' does not match run and seq`);
    if (r.kind === 'run_end' && sealLine === undefined) why.push(...checkSeal(r));
    if (why.length > 0) err(line, why.join('; '));
    if (r.kind === 'run_end' && sealLine === undefined) sealLine = line;
    expectedSeq = r.seq + 1;
    prev = r.hash;
  }
  if (sealLine === undefined && !live) {
    const last = file.lines.length;
    problems.push({
      file: file.path,
      line: last,
      kind: 'warning',
      message:
        last === 0
          ? 'empty run file (the run ended before its first record)'
          : 'unsealed (run ended without a seal, e.g. killed)',
    });
  }
  return count;
}

function checkSeal(r: AuditRecord): string[] {
  const d = r.detail;
  const out: string[] = [];
  if (!d || typeof d !== 'object') return ['broken seal: no detail with the record count and final hash'];
  if (d['records'] !== r.seq - 1) {
    out.push(
      `broken seal: it counts ${JSON.stringify(d['records'] ?? null)} records but ${r.seq - 1} precede it`,
    );
  }
  if (d['final_hash'] !== r.prev) out.push("broken seal: its final hash is not the previous record's hash");
  return out;
}

/** A live run has a descriptor `<runsDir>/<run>.json` whose `pid` is still running. */
export function isRunLive(runsDir: string, run: string): boolean {
  let pid: unknown;
  try {
    pid = (JSON.parse(fs.readFileSync(join(runsDir, `${basename(run)}.json`), 'utf8')) as { pid?: unknown })
      .pid;
  } catch {
    return false;
  }
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
