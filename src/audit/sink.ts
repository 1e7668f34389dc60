import { GovError } from '../errors.js';
import type { AuditInput, AuditRecord, AuditSink, JsonObject } from '../types.js';
import type { AuditFs } from './audit-fs.js';
import { describeIoError } from './io-error.js';
import { GroupSync } from './group-sync.js';
import { buildRecordLine } from './record.js';

export interface OpenAuditSinkOptions {
  /** The audit directory, normally homePaths().audit. */
  dir: string;
  /** The run id; the file is `<dir>/<run>.jsonl`. */
  run: string;
  /** When a record that asks for it (`sync`, the default) reaches the disk; see AuditSync. */
  sync?: AuditSync;
  /** Replace some file system calls (tests: ENOSPC, EIO...). */
  fsImpl?: Partial<AuditFs>;
  /** Clock for `ts` (a fixed clock makes records replayable in tests). */
  now?: () => Date;
  /** Signs run_start, run_end, checkpoints and every `checkpoint.records`th record. */
  signer?: { sign(text: string): string } | undefined;
  checkpoint?: Partial<CheckpointPolicy> | undefined;
  /** Each committed record, in chain order (the OTLP exporter queues it; must not block). */
  onRecord?: ((r: AuditRecord) => void) | undefined;
}

/**
 * How often unsigned records are covered by a signature: the Nth unsigned record is signed
 * itself, and a `checkpoint` record is written when records stayed unsigned for `ms`.
 */
export interface CheckpointPolicy {
  records: number;
  ms: number;
}
export const DEFAULT_CHECKPOINT: CheckpointPolicy = { records: 100, ms: 5000 };

/**
 * Every record is written (write(2)) before append() resolves, so it survives a crash of gov.
 * What differs is when a record appended with `sync` (decision records) is fsynced:
 * - 'always': before append() resolves (the call is forwarded only once it is on disk);
 * - 'answer': right after the write, while the call is forwarded; flushed(seq) resolves once
 *   it is on disk, and transports answer only then (group commit: one fsync covers every
 *   record written while the previous one ran);
 * - 'interval' (default): within FLUSH_LATER_MS (group-sync.ts); flushed() does not wait. A failed
 *   background fsync stops further commits until an fsync gets through again.
 * The run_end seal is fsynced before seal() resolves in every mode.
 */
export type AuditSync = 'always' | 'answer' | 'interval';

interface Pending {
  input: AuditInput | { seal: JsonObject };
  /** This record must be on disk (fsync) before append() resolves. */
  sync: boolean;
  ts: string;
  resolve: (r: AuditRecord) => void;
  reject: (e: unknown) => void;
}

type State = 'open' | 'sealing' | 'sealed' | 'closed';

const FLUSHED = Promise.resolve();

/**
 * Append-only, hash-chained JSONL file for one run. Appends are queued and committed in
 * groups: whatever arrives while one write+fsync is in flight goes out in the next single
 * write+fsync, so many concurrent calls cost one disk flush. The chain only advances when
 * a group is on disk; a failed group is cut off the file again so the chain never has a
 * hole or a torn line, and later appends can retry.
 */
export class FileAuditSink implements AuditSink {
  readonly path: string;
  readonly run: string;
  private seq = 0;
  private prev: string | null = null;
  /** Bytes of the file known to hold complete, committed records. */
  private size = 0;
  private queue: Pending[] = [];
  private flushing = false;
  private idleWaiters: (() => void)[] = [];
  private state: State = 'open';
  /** A failed write may have left bytes behind that could not be cut off yet. */
  private needsRepair = false;
  private sealing: Promise<void> | undefined;
  /** Seq of the last committed signed record (0: none yet). */
  private signedSeq = 0;
  private checkpointTimer: NodeJS.Timeout | undefined;
  /** Which records are on disk; 'answer' mode's fsyncs beside the writes. */
  private readonly disk: GroupSync;

  /** Use openAuditSink(). */
  constructor(
    private readonly fd: number,
    opts: {
      path: string;
      run: string;
      sync: AuditSync;
      fs: AuditFs;
      now: () => Date;
      signer: OpenAuditSinkOptions['signer'];
      checkpoint: CheckpointPolicy;
      onRecord: OpenAuditSinkOptions['onRecord'];
    },
  ) {
    this.path = opts.path;
    this.run = opts.run;
    this.syncMode = opts.sync;
    this.fs = opts.fs;
    this.now = opts.now;
    this.signer = opts.signer;
    this.checkpoint = opts.checkpoint;
    this.onRecord = opts.onRecord;
    this.disk = new GroupSync(
      () => this.fs.fsync(this.fd),
      () => this.seq,
      (err) => this.fail('flush (fsync) audit file', err),
    );
  }
  private readonly syncMode: AuditSync;
  private readonly fs: AuditFs;
  private readonly now: () => Date;
  private readonly signer: OpenAuditSinkOptions['signer'];
  private readonly checkpoint: CheckpointPolicy;
  private readonly onRecord: OpenAuditSinkOptions['onRecord'];

  /** Records committed so far. */
  get records(): number {
    return this.seq;
  }

  /** Hash of the last committed record (null before the first). */
  get lastHash(): string | null {
    return this.prev;
  }

  get sealed(): boolean {
    return this.state === 'sealed';
  }

  /**
   * Append one record; it is written before the promise resolves, and fsynced as the sync mode
   * says (AuditSync). `sync: false` (outcome records): reaches the disk with the next synced
   * group or within FLUSH_LATER_MS (group-sync.ts), so it never delays a decision record.
   */
  append(rec: AuditInput, opts: { sync?: boolean } = {}): Promise<AuditRecord> {
    if (this.state !== 'open') {
      return Promise.reject(
        new GovError(
          'audit',
          `cannot append to audit run ${this.run}: the run is already ${this.stateWord()}`,
        ),
      );
    }
    if (rec.kind === 'run_end' || rec.kind === 'checkpoint') {
      return Promise.reject(
        new GovError('internal', `audit: a ${rec.kind} record is written by the sink, not append()`),
      );
    }
    return this.enqueue(rec, opts.sync ?? true);
  }

  /**
   * Resolves once record `seq` is on disk, as far as the sync mode promises it ('interval':
   * at once); rejects if its fsync failed. Only 'answer' mode ever waits here.
   */
  flushed(seq: number): Promise<void> {
    return this.syncMode === 'answer' ? this.disk.waitFor(seq) : FLUSHED;
  }

  /** Write the run_end seal (record count + final hash), then close the file. */
  seal(detail: JsonObject = {}): Promise<void> {
    if (this.state === 'sealed') return Promise.resolve();
    if (this.state === 'closed') {
      return Promise.reject(
        new GovError('audit', `cannot seal audit run ${this.run}: the audit file is closed`),
      );
    }
    this.sealing ??= (async () => {
      this.state = 'sealing';
      this.clearCheckpoint();
      try {
        await this.enqueue({ seal: detail }, true);
      } catch (err) {
        // Nothing was committed: the run stays open so the caller may retry the seal.
        this.state = 'open';
        this.sealing = undefined;
        throw err;
      }
      this.state = 'sealed';
      await this.disk.idle();
      await this.fs.close(this.fd).catch(() => undefined);
    })();
    return this.sealing;
  }

  /** Close without a seal (the run will verify as "unsealed"); waits for queued appends. */
  async close(): Promise<void> {
    if (this.state === 'sealed' || this.state === 'closed') return;
    if (this.sealing) {
      await this.sealing.catch(() => undefined);
      if ((this.state as State) === 'sealed') return;
    }
    this.state = 'closed';
    this.clearCheckpoint();
    await this.idle();
    // Calls waiting to be answered get their records flushed (or the failure) before the fd goes.
    this.disk.soon();
    await this.disk.idle();
    await this.fs.close(this.fd).catch(() => undefined);
  }

  /** Cover records that stayed unsigned for `checkpoint.ms` with a signed checkpoint. */
  private armCheckpoint(): void {
    if (!this.signer || this.checkpointTimer || this.state !== 'open' || this.signedSeq === this.seq) return;
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = undefined;
      if (this.state === 'open' && this.signedSeq < this.seq) {
        // A failed checkpoint is retried with the next record's group; calls never wait on it.
        this.enqueue({ kind: 'checkpoint' }, false).catch(() => this.armCheckpoint());
      }
    }, this.checkpoint.ms);
    this.checkpointTimer.unref();
  }

  private clearCheckpoint(): void {
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = undefined;
  }

  private stateWord(): string {
    return this.state === 'closed' ? 'closed' : 'sealed';
  }

  private enqueue(input: Pending['input'], sync: boolean): Promise<AuditRecord> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, sync, ts: this.now().toISOString(), resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // A microtask, so appends issued in the same tick share the first group too.
        queueMicrotask(() => void this.flushLoop());
      }
    });
  }

  private idle(): Promise<void> {
    if (!this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        // ext4 blocks a write(2) into a page that an fsync is writing back: wait instead of stalling.
        if (this.syncMode !== 'always') await this.disk.idle();
        await this.commit(this.queue.splice(0));
      }
    } finally {
      this.flushing = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private fail(what: string, err: unknown): GovError {
    return new GovError('audit', `cannot ${what} ${this.path}: ${describeIoError(err)}`, {
      hint: 'free disk space or fix the permissions of the audit directory; governed calls are denied until the audit can be written',
      cause: err,
    });
  }

  private async commit(group: Pending[]): Promise<void> {
    if (this.needsRepair) {
      try {
        await this.fs.ftruncate(this.fd, this.size);
        this.needsRepair = false;
      } catch (err) {
        const e = this.fail('repair (truncate after an earlier failed write) audit file', err);
        for (const item of group) item.reject(e);
        return;
      }
    }
    if (this.disk.failure) {
      // The records of answered-for calls may not be on disk: commit nothing more until they are.
      try {
        await this.fs.fsync(this.fd);
        this.disk.synced(this.seq);
      } catch (err) {
        const e = this.fail('flush (fsync) audit file', err);
        for (const item of group) item.reject(e);
        return;
      }
    }
    let seq = this.seq;
    let prev = this.prev;
    let signedSeq = this.signedSeq;
    const built: { item: Pending; record: AuditRecord }[] = [];
    let text = '';
    for (const item of group) {
      const input: AuditInput =
        'seal' in item.input
          ? { kind: 'run_end', detail: { ...item.input.seal, records: seq, final_hash: prev } }
          : item.input;
      // run_start, approvals, alerts, checkpoints and the seal are signed at once, calls every
      // Nth: signing the hash covers the whole chain before it, amortised over N calls.
      const signer = this.signer;
      const signs = signer && (input.kind !== 'call' || seq + 1 - signedSeq >= this.checkpoint.records);
      let out: { record: AuditRecord; line: string };
      try {
        out = buildRecordLine(
          input,
          { run: this.run, seq: seq + 1, prev, ts: item.ts },
          signs ? (hash) => signer.sign(hash) : undefined,
        );
      } catch (err) {
        // A record JSON cannot carry (NaN, BigInt...) or a failed signature fails alone (its
        // call is denied); the rest of the group goes on.
        item.reject(
          new GovError('internal', `audit: record cannot be serialised or signed: ${(err as Error).message}`),
        );
        continue;
      }
      seq += 1;
      prev = out.record.hash;
      if (signs) signedSeq = seq;
      built.push({ item, record: out.record });
      text += out.line;
    }
    if (built.length === 0) return;
    const data = Buffer.from(text, 'utf8');
    let step = 'write audit record to';
    try {
      let off = 0;
      while (off < data.length) {
        const n = await this.fs.write(this.fd, data.subarray(off));
        if (!(n > 0)) throw Object.assign(new Error('short write'), { code: 'EIO' });
        off += n;
      }
      if (this.fsyncsInGroup(built)) {
        step = 'flush (fsync) audit file';
        await this.fs.fsync(this.fd);
        this.disk.synced(seq);
      } else this.disk.later();
    } catch (err) {
      // Cut the group off again so the file ends at the last committed record.
      this.needsRepair = true;
      try {
        await this.fs.ftruncate(this.fd, this.size);
        this.needsRepair = false;
      } catch {
        // Retried before the next group is written.
      }
      const e = this.fail(step, err);
      for (const b of built) b.item.reject(e);
      return;
    }
    this.seq = seq;
    this.prev = prev;
    this.signedSeq = signedSeq;
    this.size += data.length;
    for (const b of built) {
      this.onRecord?.(b.record);
      b.item.resolve(b.record);
    }
    if (this.syncMode === 'answer' && built.some((b) => b.item.sync)) this.disk.soon();
    this.armCheckpoint();
  }

  /** Whether this group is fsynced before its appends resolve. */
  private fsyncsInGroup(built: { item: Pending }[]): boolean {
    if (this.syncMode === 'always') return built.some((b) => b.item.sync);
    return built.some((b) => 'seal' in b.item.input);
  }
}
