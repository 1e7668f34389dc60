import * as fs from 'node:fs';
import { basename, join } from 'node:path';
import type { AuditRecord } from '../types.js';
import { errnoCode } from './io-error.js';
import { parseRecordLine } from './record.js';

/** One record as read from a run file; `raw` is the line exactly as stored (no newline). */
export interface ReadRecord {
  file: string;
  /** 1-based line number, when known (tail reads backwards and does not count lines). */
  line?: number;
  raw: string;
  record: AuditRecord;
}

export interface RunFile {
  run: string;
  path: string;
}

export interface BadLine {
  line: number;
  text: string;
  message: string;
  /** The last line, without its newline, and not parsable: an interrupted write. */
  torn: boolean;
  /** It was JSON, just not a record. */
  json: boolean;
}

export interface ParsedRunFile extends RunFile {
  /** Every line in order: a record or a bad line. */
  lines: ({ kind: 'record'; rec: ReadRecord } | { kind: 'bad'; bad: BadLine })[];
  endsWithNewline: boolean;
}

/** Run files in the audit directory, oldest run first (run ids sort by start time). */
export async function listRunFiles(dir: string): Promise<RunFile[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((n) => n.endsWith('.jsonl') && !n.startsWith('.'))
    .sort()
    .map((n) => ({ run: n.slice(0, -'.jsonl'.length), path: join(dir, n) }));
}

/** Parse a whole run file, keeping bad lines (with their line numbers) instead of throwing. */
export async function readRunFile(path: string): Promise<ParsedRunFile> {
  const text = await fs.promises.readFile(path, 'utf8');
  const endsWithNewline = text.length === 0 || text.endsWith('\n');
  const parts = text.split('\n');
  if (endsWithNewline) parts.pop();
  const lines: ParsedRunFile['lines'] = parts.map((raw, i) => {
    const line = i + 1;
    const parsed = parseRecordLine(raw);
    if (parsed.ok) return { kind: 'record', rec: { file: path, line, raw, record: parsed.record } };
    const torn = !endsWithNewline && i === parts.length - 1;
    return { kind: 'bad', bad: { line, text: raw, message: parsed.message, torn, json: parsed.json } };
  });
  return { run: basename(path, '.jsonl'), path, lines, endsWithNewline };
}

const CHUNK = 64 * 1024;

/**
 * The last `n` matching records of one file, read backwards from `size`. Also returns the
 * offset just after the last complete line, where following should resume (bytes after it
 * are a write in progress or a torn line).
 */
async function readLastRecords(
  path: string,
  size: number,
  n: number,
  filter: (r: AuditRecord) => boolean,
): Promise<{ records: ReadRecord[]; resumeAt: number }> {
  const out: ReadRecord[] = [];
  let resumeAt: number | undefined;
  const fh = await fs.promises.open(path, 'r');
  try {
    let pos = size;
    let carry = Buffer.alloc(0);
    const take = (bytes: Buffer): void => {
      const raw = bytes.toString('utf8');
      const parsed = parseRecordLine(raw);
      if (parsed.ok && filter(parsed.record)) out.push({ file: path, raw, record: parsed.record });
    };
    while (pos > 0 && (out.length < n || resumeAt === undefined)) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, pos);
      const data = carry.length > 0 ? Buffer.concat([buf, carry]) : buf;
      let end = data.length;
      for (let i = data.length - 1; i >= 0 && (out.length < n || resumeAt === undefined); i--) {
        if (data[i] !== 0x0a) continue;
        if (resumeAt === undefined) resumeAt = pos + i + 1;
        else take(data.subarray(i + 1, end));
        end = i;
      }
      carry = data.subarray(0, end);
    }
    if (pos === 0 && resumeAt !== undefined && carry.length > 0 && out.length < n) take(carry);
  } finally {
    await fh.close();
  }
  return { records: out.reverse(), resumeAt: resumeAt ?? 0 };
}

export interface TailOptions {
  dir: string;
  n: number;
  filter?: (r: AuditRecord) => boolean;
}

export interface TailResult {
  /** Oldest first, merged across runs by time. */
  records: ReadRecord[];
  /** Per file, where followRecords should continue so nothing is missed or repeated. */
  offsets: Map<string, number>;
}

/** The last `n` records (after filtering) across every run, oldest first. */
export async function tailRecords(opts: TailOptions): Promise<TailResult> {
  const filter = opts.filter ?? (() => true);
  const offsets = new Map<string, number>();
  const all: ReadRecord[] = [];
  for (const f of await listRunFiles(opts.dir)) {
    let size: number;
    try {
      size = (await fs.promises.stat(f.path)).size;
    } catch {
      continue; // removed meanwhile
    }
    const { records, resumeAt } = await readLastRecords(f.path, size, Math.max(0, opts.n), filter);
    offsets.set(f.path, resumeAt);
    all.push(...records);
  }
  all.sort(byTime);
  return { records: opts.n > 0 ? all.slice(-opts.n) : [], offsets };
}

function byTime(a: ReadRecord, b: ReadRecord): number {
  const x = a.record;
  const y = b.record;
  if (x.ts !== y.ts) return x.ts < y.ts ? -1 : 1;
  if (x.run !== y.run) return x.run < y.run ? -1 : 1;
  return x.seq - y.seq;
}

export interface FollowOptions {
  dir: string;
  filter?: (r: AuditRecord) => boolean;
  signal: AbortSignal;
  onRecord: (r: ReadRecord) => void;
  /** Where to resume each known file (from tailRecords); files not listed start at 0. Without
   * it, every file present now starts at its end. */
  offsets?: Map<string, number>;
  /** Poll interval backing up fs.watch (which misses events on some file systems). */
  pollMs?: number;
}

interface FileCursor {
  offset: number;
  partial: Buffer;
}

const MAX_READ = 4 * 1024 * 1024;

/**
 * Follow every run file in `dir`, including runs that start later, until `signal` aborts.
 * Records are delivered once each, in file order per run; partial lines wait for their end.
 */
export async function followRecords(opts: FollowOptions): Promise<void> {
  const filter = opts.filter ?? (() => true);
  const cursors = new Map<string, FileCursor>();
  const offsets = opts.offsets ?? (await tailRecords({ dir: opts.dir, n: 0 })).offsets;
  for (const [path, offset] of offsets) cursors.set(path, { offset, partial: Buffer.alloc(0) });
  if (opts.signal.aborted) return;

  let scanning: Promise<void> | undefined;
  let again = false;
  let failure: unknown;

  /** New complete records of one file (fs errors propagate; the caller skips that file). */
  const scanFile = async (path: string, emit: ReadRecord[]): Promise<void> => {
    let cur = cursors.get(path);
    if (!cur) {
      cur = { offset: 0, partial: Buffer.alloc(0) };
      cursors.set(path, cur);
    }
    const size = (await fs.promises.stat(path)).size;
    if (size < cur.offset) {
      // The writer cut off a failed write; what we held of it is void.
      cur.offset = size;
      cur.partial = Buffer.alloc(0);
      return;
    }
    if (size === cur.offset) return;
    const fh = await fs.promises.open(path, 'r');
    try {
      while (cur.offset < size && !opts.signal.aborted) {
        const len = Math.min(MAX_READ, size - cur.offset);
        const buf = Buffer.alloc(len);
        const { bytesRead } = await fh.read(buf, 0, len, cur.offset);
        if (bytesRead === 0) break;
        cur.offset += bytesRead;
        let data = Buffer.concat([cur.partial, buf.subarray(0, bytesRead)]);
        let nl: number;
        while ((nl = data.indexOf(0x0a)) !== -1) {
          const raw = data.subarray(0, nl).toString('utf8');
          data = data.subarray(nl + 1);
          const parsed = parseRecordLine(raw);
          if (parsed.ok && filter(parsed.record)) emit.push({ file: path, raw, record: parsed.record });
        }
        cur.partial = Buffer.from(data);
      }
    } finally {
      await fh.close();
    }
  };

  const scanAll = async (): Promise<void> => {
    do {
      again = false;
      let files: RunFile[] = [];
      try {
        files = await listRunFiles(opts.dir);
      } catch {
        files = [];
      }
      for (const f of files) {
        if (opts.signal.aborted) return;
        const emit: ReadRecord[] = [];
        try {
          await scanFile(f.path, emit);
        } catch {
          // Removed or unreadable right now: keep what was complete, retry on the next scan.
        }
        for (const r of emit) opts.onRecord(r); // a throwing consumer ends the follow with its error
      }
    } while (again && !opts.signal.aborted);
  };

  return new Promise<void>((resolve, reject) => {
    let watcher: fs.FSWatcher | undefined;
    const stop = (err?: unknown): void => {
      clearInterval(timer);
      watcher?.close();
      watcher = undefined;
      opts.signal.removeEventListener('abort', onAbort);
      void (scanning ?? Promise.resolve()).finally(() =>
        err === undefined
          ? resolve()
          : reject(err instanceof Error ? err : new Error(`audit follow failed: ${JSON.stringify(err)}`)),
      );
    };
    const kick = (): void => {
      if (opts.signal.aborted || failure !== undefined) return;
      if (scanning) {
        again = true;
        return;
      }
      scanning = scanAll()
        .catch((err: unknown) => {
          failure = err;
        })
        .finally(() => {
          scanning = undefined;
          if (failure !== undefined) stop(failure);
        });
    };
    const watch = (): void => {
      if (watcher) return;
      try {
        watcher = fs.watch(opts.dir, { persistent: true }, () => kick());
        watcher.on('error', () => {
          watcher?.close();
          watcher = undefined;
        });
      } catch {
        watcher = undefined; // the directory may not exist yet; the poll retries
      }
    };
    const onAbort = (): void => stop();
    const timer = setInterval(() => {
      watch();
      kick();
    }, opts.pollMs ?? 250);
    opts.signal.addEventListener('abort', onAbort, { once: true });
    watch();
    kick();
  });
}
