import { readFileSync } from 'node:fs';
import { writeFileAtomicAsync } from '../../vault/atomic-file.js';
import { join } from 'node:path';
import { z } from 'zod';
import type { AuditRecord } from '../types.js';

/**
 * The chain of runs. `$GOV_HOME/audit/head.json` names the installation's latest signed
 * record ({run, seq, hash}); each run_start copies it into `detail.prev_run` (and is itself
 * signed), so every run is named by a later run or by head.json, and verify can tell a
 * deleted run file or a cut tail from a history that simply ends.
 */
export interface RunLink {
  run: string;
  seq: number;
  hash: string;
}

const linkSchema = z.object({ run: z.string(), seq: z.number().int().positive(), hash: z.string() }).strict();

export const HEAD_FILE = 'head.json';

/** The link a new run_start carries: null only for the installation's first run. */
export function readHead(auditDir: string): RunLink | null {
  let text: string;
  try {
    text = readFileSync(join(auditDir, HEAD_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = linkSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The `prev_run` link of a run_start record: a RunLink, null (first run), or undefined (absent/malformed). */
export function runStartLink(r: AuditRecord): RunLink | null | undefined {
  const v = r.detail?.['prev_run'];
  if (v === null) return null;
  const parsed = linkSchema.safeParse(v);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Moves head.json forward as signed records are committed. One write in flight per process
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
  private next: RunLink | undefined;
  private unsynced: RunLink | undefined;
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastWrite = 0;
  private finishing = false;

  constructor(
    private readonly auditDir: string,
    private readonly minIntervalMs = 1000,
  ) {}

  update(r: AuditRecord): void {
    this.next = { run: r.run, seq: r.seq, hash: r.hash };
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
    const link = this.next!;
    this.next = undefined;
    try {
      if (await this.write(link, false)) this.unsynced = link;
    } finally {
      this.lastWrite = Date.now();
      this.writing = undefined;
    }
    this.schedule();
  }

  private async write(link: RunLink, durable: boolean): Promise<boolean> {
    try {
      await writeFileAtomicAsync(join(this.auditDir, HEAD_FILE), JSON.stringify(link) + '\n', 0o600, {
        syncDir: durable,
      });
      return true;
    } catch {
      // The run_start of the next run then links an older signed record; verify still
      // holds every run to its own signatures.
      return false;
    }
  }
}
