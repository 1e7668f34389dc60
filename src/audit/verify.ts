import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AuditRecord } from '../types.js';
import { askLiveHead } from './liveness.js';
import { hashRecord, serializeRecord } from './record.js';
import { listRunFiles, readRunFile, type ParsedRunFile } from './reader.js';
import { HEAD_FILE, readHead, runStartLinks, type RunLink } from './run-chain.js';
import { DEFAULT_CHECKPOINT } from './sink.js';
import { parsePublicKey, verifySignature } from './signing-key.js';

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
  /** Unsealed runs whose gov proved, with a signed answer on its control socket, that it is running. */
  inProgress: string[];
}

export interface VerifyOptions {
  /** Directory of live runs' descriptors and control sockets; default `<dir>/../runs`. */
  runsDir?: string;
  /** The public key to check signatures with; default `<dir>/key.pub`. */
  key?: KeyObject;
}

const REORDER = 'a record was deleted, inserted or reordered';

/** What the cross-run checks need to know about one run file. */
interface RunSummary {
  run: string;
  path: string;
  /** seq → where it is and its hash. */
  records: Map<number, { hash: string; line: number }>;
  lastSeq: number;
  lastLine: number;
  /** Last record whose signature verified (0: none). */
  signedSeq: number;
  signedLine: number;
  sealed: boolean;
  tornLine: number | undefined;
  start: { line: number; links: RunLink[] | null | undefined } | undefined;
}

/**
 * Check the whole audit directory: every record's hash and chain link, every signature
 * against the audit public key, every run's end (sealed, provably in progress, or signed up
 * to its last record), and the chain of runs (each run_start and head.json name a signed
 * record that must still be there). After a broken link the per-file check re-synchronises
 * on the record actually found, so one deleted line is one error rather than one per line.
 */
export async function verifyAudit(dir: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const runsDir = opts.runsDir ?? join(dirname(dir), 'runs');
  const result: VerifyResult = { ok: true, records: 0, runs: 0, problems: [], inProgress: [] };
  const problems = result.problems;
  // head.json first: it only ever names records already in their files, so whatever a busy
  // run writes after this point cannot make it name one the files below lack.
  const head = readHead(dir);
  const files = await listRunFiles(dir);
  const key = opts.key ?? installedKey(dir, files.length > 0, problems);
  if (!key) return finish(result);
  // Asked before the files are read, so a live run's signed head is already in what we read.
  const liveHeads = await Promise.all(files.map((f) => askLiveHead(runsDir, f.run, key)));
  const summaries = new Map<string, RunSummary>();
  const live = new Set<string>();
  for (const [i, f] of files.entries()) {
    result.runs += 1;
    let parsed: ParsedRunFile;
    try {
      parsed = await readRunFile(f.path);
    } catch (err) {
      problems.push({
        file: f.path,
        line: 0,
        kind: 'error',
        message: `cannot read: ${(err as Error).message}`,
      });
      continue;
    }
    const s = verifyRunFile(parsed, key, problems);
    result.records += s.records.size;
    summaries.set(f.run, s);
    const liveHead = liveHeads[i];
    // The run's own answer must name a record this file holds, else the file was cut or swapped.
    if (!s.sealed && liveHead) {
      if (s.records.get(liveHead.seq)?.hash === liveHead.hash) live.add(f.run);
      else
        problems.push({
          file: f.path,
          line: s.lastLine,
          kind: 'error',
          message: `the run is live and signed record ${liveHead.seq} as its newest, which this file does not hold: the file was cut or replaced while the run writes it`,
        });
    }
  }
  for (const s of summaries.values()) {
    if (live.has(s.run)) result.inProgress.push(s.run);
    else checkRunEnd(s, problems);
  }
  checkRunChain(dir, head, summaries, problems);
  return finish(result);
}

function finish(result: VerifyResult): VerifyResult {
  result.problems.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  result.ok = !result.problems.some((p) => p.kind === 'error');
  return result;
}

function installedKey(dir: string, needed: boolean, problems: AuditProblem[]): KeyObject | undefined {
  const file = join(dir, 'key.pub');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    if (needed) {
      problems.push({
        file,
        line: 0,
        kind: 'error',
        message: 'no audit public key (pass the one you keep elsewhere with --key)',
      });
    }
    return undefined;
  }
  try {
    return parsePublicKey(text);
  } catch (err) {
    problems.push({ file, line: 1, kind: 'error', message: (err as Error).message });
    return undefined;
  }
}

/** Verify one parsed file: hashes, chain, seal and signatures. */
export function verifyRunFile(file: ParsedRunFile, key: KeyObject, problems: AuditProblem[]): RunSummary {
  const err = (line: number, message: string): void => {
    problems.push({ file: file.path, line, kind: 'error', message });
  };
  const s: RunSummary = {
    run: file.run,
    path: file.path,
    records: new Map(),
    lastSeq: 0,
    lastLine: file.lines.length,
    signedSeq: 0,
    signedLine: 0,
    sealed: false,
    tornLine: undefined,
    start: undefined,
  };
  let expectedSeq = 1;
  let prev: string | null = null;
  let sealLine: number | undefined;
  let chainIntact = true;
  for (const entry of file.lines) {
    if (entry.kind === 'bad') {
      const b = entry.bad;
      // A torn last line is a write in progress in a live run; decided in checkRunEnd.
      if (b.torn && sealLine === undefined) s.tornLine = b.line;
      else if (b.text.trim() === '') err(b.line, 'blank line (a record was removed or the file was edited)');
      else err(b.line, `unparsable line: ${b.message}`);
      chainIntact = false;
      continue;
    }
    const { record: r, line } = { record: entry.rec.record, line: entry.rec.line ?? 0 };
    const why: string[] = [];
    if (sealLine !== undefined) {
      why.push(
        r.kind === 'run_end'
          ? `duplicate seal (the run was already sealed at line ${sealLine})`
          : `record after the run_end seal at line ${sealLine}`,
      );
    }
    const hashOk = hashRecord(r) === r.hash;
    if (!hashOk) why.push('hash mismatch (the record was edited)');
    // Duplicate keys hash as their last value but read differently to people and tools.
    else if (serializeRecord(r) !== `${entry.rec.raw}\n`) {
      why.push('the line differs from how gov wrote it (duplicate or reordered keys, or added whitespace)');
    }
    if (r.run !== file.run) why.push(`wrong run id '${r.run}' (the file is run '${file.run}')`);
    if (r.seq !== expectedSeq) why.push(`seq ${r.seq} where ${expectedSeq} was expected (${REORDER})`);
    else if (r.prev !== prev) why.push(`prev does not match the previous record's hash (${REORDER})`);
    if (r.id !== `${r.run}.${r.seq}`) why.push(`id '${r.id}' does not match run and seq`);
    if ((r.seq === 1) !== (r.kind === 'run_start'))
      why.push('a run starts with exactly one run_start record');
    if (r.kind === 'run_end' && sealLine === undefined) why.push(...checkSeal(r));
    why.push(...checkSignature(r, key, hashOk));
    if (why.length > 0) {
      err(line, why.join('; '));
      chainIntact = false;
    } else if (r.signature !== undefined && chainIntact) {
      s.signedSeq = r.seq;
      s.signedLine = line;
    }
    if (r.kind === 'run_start' && r.seq === 1) s.start = { line, links: runStartLinks(r) };
    if (r.kind === 'run_end' && sealLine === undefined) sealLine = line;
    s.records.set(r.seq, { hash: r.hash, line });
    s.lastSeq = r.seq;
    s.lastLine = line;
    expectedSeq = r.seq + 1;
    prev = r.hash;
  }
  s.sealed = sealLine !== undefined;
  return s;
}

function checkSignature(r: AuditRecord, key: KeyObject, hashOk: boolean): string[] {
  if (r.signature === undefined) {
    return r.kind === 'call' || r.kind === 'approval' || r.kind === 'alert'
      ? []
      : [`the ${r.kind} record is not signed (gov signs every run_start, checkpoint and seal)`];
  }
  if (hashOk && verifySignature(key, r.hash, r.signature)) return [];
  return [
    'signature does not verify against the audit public key (this record or one before it was rewritten, deleted or re-linked, or another key signed it)',
  ];
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

/** A run that is neither sealed nor provably running must be signed up to its last record. */
function checkRunEnd(s: RunSummary, problems: AuditProblem[]): void {
  if (s.sealed) return;
  const at = (line: number, kind: AuditProblem['kind'], message: string): void => {
    problems.push({ file: s.path, line, kind, message });
  };
  if (s.tornLine !== undefined) {
    at(
      s.tornLine,
      'error',
      'a record was cut in the middle (torn last line) in a run that is neither sealed nor running',
    );
  } else if (s.lastSeq === 0) {
    at(s.lastLine, 'warning', 'empty run file (the run ended before its first record)');
  } else if (s.signedSeq === s.lastSeq) {
    at(
      s.lastLine,
      'warning',
      'unsealed (the run was killed); every record up to its last signed one at this line verifies',
    );
  } else {
    const after = s.signedLine > 0 ? `after the signed record at line ${s.signedLine}` : 'and none is signed';
    at(
      s.lastLine,
      'error',
      `unsealed and not running, and its last ${s.lastSeq - s.signedSeq} record(s) ${after} carry no signature: the tail was cut after its last signed checkpoint, or the run was killed within ${DEFAULT_CHECKPOINT.ms / 1000}s of them`,
    );
  }
}

/** Every run_start link and head.json must name a record that is still there, unchanged. */
function checkRunChain(
  dir: string,
  head: RunLink[] | null,
  runs: Map<string, RunSummary>,
  problems: AuditProblem[],
): void {
  if (runs.size === 0) return;
  const headFile = join(dir, HEAD_FILE);
  const links: { file: string; line: number; link: RunLink }[] = [];
  if (head) for (const link of head) links.push({ file: headFile, line: 1, link });
  else {
    problems.push({
      file: headFile,
      line: 0,
      kind: 'error',
      message:
        'missing or unreadable: it names the latest signed record, so the newest runs cannot be checked for deletion',
    });
  }
  let genesis: string | undefined;
  for (const s of runs.values()) {
    if (!s.start) continue;
    const { line, links: starts } = s.start;
    if (starts === undefined) {
      problems.push({
        file: s.path,
        line,
        kind: 'error',
        message: 'run_start has no prev_run link to the previous run',
      });
    } else if (starts === null) {
      if (genesis !== undefined) {
        problems.push({
          file: s.path,
          line,
          kind: 'error',
          message: `run_start links no previous run, but run ${genesis} already began this installation's chain of runs (head.json was removed or reset)`,
        });
      }
      genesis ??= s.run;
    } else for (const link of starts) links.push({ file: s.path, line, link });
  }
  for (const { file, line, link } of links) {
    const target = runs.get(link.run);
    if (!target) {
      problems.push({
        file,
        line,
        kind: 'error',
        message: `links run ${link.run} (record ${link.seq}), whose file ${link.run}.jsonl is missing (a run file was deleted)`,
      });
      continue;
    }
    const rec = target.records.get(link.seq);
    if (!rec) {
      problems.push({
        file: target.path,
        line: target.lastLine,
        kind: 'error',
        message: `the run was cut: ${file}:${line} links its record ${link.seq}, which is missing (its tail was removed)`,
      });
    } else if (rec.hash !== link.hash) {
      problems.push({
        file: target.path,
        line: rec.line,
        kind: 'error',
        message: `record ${link.seq} is not the one ${file}:${line} links (it was rewritten after it was linked)`,
      });
    }
  }
}
