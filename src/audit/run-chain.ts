import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { writeFileAtomicAsync } from '../../vault/atomic-file.js';
import { acquireLock, type HeldLock } from '../../vault/file-lock.js';
import { processExists } from '../pid.js';
import { join } from 'node:path';
import { z } from 'zod';
import type { AuditRecord } from '../types.js';

/**
 * The chain of runs. `$GOV_HOME/audit/head.json` names, per run, its newest signed record
 * ({run, seq, hash}, and `sealed` once that is its run_end); each run_start links every one of
 * them (`detail.prev_run`, and `detail.prev_runs` when there are more) and is itself signed.
 * So every run is named by a later run or by head.json, even when runs overlap (a run that
 * seals while another still runs stays in head.json until a later run_start links its seal),
 * and verify can tell a deleted run file or a cut tail from a history that simply ends.
 */
export interface RunLink {
  run: string;
  seq: number;
  hash: string;
}

/** One run's entry in head.json: its newest signed record; a live run's gov process. */
export interface RunTip extends RunLink {
  sealed?: true;
  pid?: number;
  host?: string;
}

const linkSchema = z.object({ run: z.string(), seq: z.number().int().positive(), hash: z.string() }).strict();
const tipSchema = linkSchema
  .extend({
    sealed: z.literal(true).optional(),
    pid: z.number().int().optional(),
    host: z.string().optional(),
  })
  .strict();
const headSchema = z.object({ tips: z.array(tipSchema) }).strict();

export const HEAD_FILE = 'head.json';

/** What head.json names (one link in files written before runs could overlap); null when absent or unreadable. */
export function readHead(auditDir: string): RunTip[] | null {
  let text: string;
  try {
    text = readFileSync(join(auditDir, HEAD_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const v: unknown = JSON.parse(text);
    const tips = headSchema.safeParse(v);
    if (tips.success) return tips.data.tips;
    const one = linkSchema.safeParse(v);
    return one.success ? [{ ...one.data, sealed: true }] : null;
  } catch {
    return null;
  }
}

/** The links a new run_start carries (`prev_run`, then `prev_runs`): null only for the first run. */
export function startLinks(tips: RunTip[] | null): { prev_run: RunLink | null; prev_runs?: RunLink[] } {
  const links = (tips ?? []).map(({ run, seq, hash }) => ({ run, seq, hash }));
  const [first, ...rest] = links;
  return { prev_run: first ?? null, ...(rest.length ? { prev_runs: rest } : {}) };
}

/** The links of a run_start record: RunLinks, null (first run), or undefined (absent/malformed). */
export function runStartLinks(r: AuditRecord): RunLink[] | null | undefined {
  const v = r.detail?.['prev_run'];
  if (v === null) return null;
  const first = linkSchema.safeParse(v);
  if (!first.success) return undefined;
  const more = r.detail?.['prev_runs'];
  if (more === undefined) return [first.data];
  const rest = z.array(linkSchema).safeParse(more);
  return rest.success ? [first.data, ...rest.data] : undefined;
}

/**
 * Moves this run's entry in head.json forward as signed records are committed (the other
 * runs' entries stay, except those this run's run_start linked once they are sealed or their
 * process is gone). One write in flight per process
 * (temp file + rename); a newer head replaces a queued older one, and while the run serves,
 * head.json moves at most once per `minIntervalMs` (each move is an open, write, fsync and
 * rename on the audit disk, and a signed record comes every 100 records: at a few thousand
 * calls a second that was dozens of fsyncs a second next to the audit file's own). The
 * directory is not fsynced after the rename while serving: a power loss can then undo the
 * last renames, and a crash can leave head.json one interval behind; either only makes the
 * next run link an older signed record. The file itself is fsynced, so head.json is never
 * left empty. The run's last head (after the seal) is written at once and fully durable.
 */
export class HeadWriter {
  private next: RunTip | undefined;
  private unsynced: RunTip | undefined;
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastWrite = 0;
  private finishing = false;

  constructor(
    private readonly auditDir: string,
    private readonly minIntervalMs = 1000,
    /** What this run's run_start linked: those entries go once they are sealed or their run died. */
    private readonly linked: RunLink[] = [],
  ) {}

  update(r: AuditRecord): void {
    const own = r.kind === 'run_end' ? { sealed: true as const } : { pid: process.pid, host: hostname() };
    this.next = { run: r.run, seq: r.seq, hash: r.hash, ...own };
    this.schedule();
  }

  private schedule(): void {
    if (this.writing || this.timer || !this.next) return;
    const wait = this.lastWrite + this.minIntervalMs - Date.now();
    if (wait <= 0 || this.finishing) {
      this.writing = this.drain();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, wait);
    this.timer.unref();
  }

  /** Resolves when the latest head is on disk, fsynced (the session waits for it after the seal). */
  async flushed(): Promise<void> {
    this.finishing = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule();
    while (this.writing) await this.writing;
    const last = this.unsynced;
    this.unsynced = undefined;
    if (last) await this.write(last, true);
  }

  private async drain(): Promise<void> {
    const tip = this.next!;
    this.next = undefined;
    try {
      if (await this.write(tip, false)) this.unsynced = tip;
    } finally {
      this.lastWrite = Date.now();
      this.writing = undefined;
    }
    this.schedule();
  }

  /** Whether an entry can leave head.json: this run's run_start named it, and it will not move again. */
  private settled(t: RunTip): boolean {
    if (!this.linked.some((l) => l.run === t.run && l.seq === t.seq && l.hash === t.hash)) return false;
    return t.sealed === true || (t.host === hostname() && t.pid !== undefined && !processExists(t.pid));
  }

  private async write(tip: RunTip, durable: boolean): Promise<boolean> {
    const file = join(this.auditDir, HEAD_FILE);
    let lock: HeldLock | undefined;
    try {
      // Runs that overlap each move their own entry: read, change and replace under a lock.
      lock = await acquireLock(`${file}.lock`, { what: 'the audit head (head.json)', timeoutMs: 5000 });
      const tips = (readHead(this.auditDir) ?? []).filter((t) => t.run !== tip.run && !this.settled(t));
      tips.push(tip);
      await writeFileAtomicAsync(file, JSON.stringify({ tips }) + '\n', 0o600, { syncDir: durable });
      return true;
    } catch {
      // The run_start of the next run then links an older signed record; verify still
      // holds every run to its own signatures.
      return false;
    } finally {
      lock?.release();
    }
  }
}
