import type { GovError } from '../errors.js';

/** Records written without an fsync reach the disk within this ('interval' mode, outcomes). */
const FLUSH_LATER_MS = 200;

/**
 * The audit file's fsyncs, beside the writes (`--audit-sync answer` and `interval`). One fsync
 * at a time covers every record written before it started, so records written while one runs
 * share the next (group commit). Tracks which seq is on disk and who waits for it. After a failed fsync every waiter
 * is rejected and `failure` stays set until the sink gets an fsync through again.
 */
export class GroupSync {
  /** Seq of the last record known to be on disk. */
  syncedSeq = 0;
  failure: GovError | undefined;
  private running: Promise<void> | undefined;
  private waiters: { seq: number; resolve: () => void; reject: (e: unknown) => void }[] = [];

  constructor(
    private readonly fsync: () => Promise<void>,
    /** The seq of the last record written. */
    private readonly writtenSeq: () => number,
    private readonly fail: (err: unknown) => GovError,
  ) {}

  /** Resolves once record `seq` (already written) is on disk. */
  waitFor(seq: number): Promise<void> {
    if (seq <= this.syncedSeq) return FLUSHED;
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
      this.soon();
    });
  }

  /** Start an fsync of what is written unless one runs; `idle()` waits for it. */
  soon(): void {
    if (this.running || this.syncedSeq >= this.writtenSeq()) return;
    this.running = this.loop().finally(() => (this.running = undefined));
  }

  idle(): Promise<void> {
    return this.running ?? FLUSHED;
  }

  private laterTimer: NodeJS.Timeout | undefined;

  /**
   * An fsync within FLUSH_LATER_MS (records written without one: 'interval' mode, outcome
   * records). It goes through this group sync, so a failure stops further commits.
   */
  later(): void {
    if (this.laterTimer) return;
    this.laterTimer = setTimeout(() => {
      this.laterTimer = undefined;
      this.soon();
    }, FLUSH_LATER_MS);
    this.laterTimer.unref();
  }

  /** Records up to `seq` are on disk (also after the sink's own fsyncs). */
  synced(seq: number): void {
    if (this.laterTimer) clearTimeout(this.laterTimer);
    this.laterTimer = undefined;
    this.failure = undefined;
    this.syncedSeq = Math.max(this.syncedSeq, seq);
    if (this.waiters.length === 0) return;
    const waiting: typeof this.waiters = [];
    for (const w of this.waiters)
      if (w.seq <= this.syncedSeq) w.resolve();
      else waiting.push(w);
    this.waiters = waiting;
  }

  private async loop(): Promise<void> {
    while (this.syncedSeq < this.writtenSeq() && !this.failure) {
      const target = this.writtenSeq();
      try {
        await this.fsync();
      } catch (err) {
        this.failure = this.fail(err);
        for (const w of this.waiters.splice(0)) w.reject(this.failure);
        return;
      }
      this.synced(target);
    }
  }
}

const FLUSHED = Promise.resolve();
