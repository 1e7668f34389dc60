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
 * (temp file + rename); a newer head replaces a queued older one. While the run serves, the
 * directory is not fsynced after the rename (a thread-pool open, fsync and close every 100
 * records, on the same disk as the audit file's per-call fsyncs): a power loss can then undo
 * the last renames, which only makes the next run link an older signed record. The file
 * itself is fsynced, so head.json is never left empty. The run's last head is fully durable.
 */
export class HeadWriter {
  private next: RunLink | undefined;
  private unsynced: RunLink | undefined;
  private writing: Promise<void> | undefined;

  constructor(private readonly auditDir: string) {}

  update(r: AuditRecord): void {
    this.next = { run: r.run, seq: r.seq, hash: r.hash };
    this.writing ??= this.drain();
  }

  /** Resolves when the latest head is on disk, fsynced (the session waits for it after the seal). */
  async flushed(): Promise<void> {
    while (this.writing) await this.writing;
    const last = this.unsynced;
    this.unsynced = undefined;
    if (last) await this.write(last, true);
  }

  private async drain(): Promise<void> {
    try {
      while (this.next) {
        const link = this.next;
        this.next = undefined;
        if (await this.write(link, false)) this.unsynced = link;
      }
    } finally {
      this.writing = undefined;
    }
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
