import type { AuditInput, AuditRecord, JsonObject } from '../types.js';
import { livenessText } from './liveness.js';
import { HeadWriter, readHead, startLinks } from './run-chain.js';
import { type AuditSync, type CheckpointPolicy, type FileAuditSink } from './sink.js';
import { openAuditSink } from './open-sink.js';
import type { AuditSigner } from './signing-key.js';

export interface RunAudit {
  sink: FileAuditSink;
  /** The `audit_head` answer of the control socket: the chain head signed with the nonce. */
  liveHead(nonce: string): { seq: number; hash: string; signature: string };
  /** Seal the run and wait until head.json names the seal. */
  seal(detail?: JsonObject): Promise<void>;
}

export interface OpenRunAuditOptions {
  /** The audit directory. */
  dir: string;
  run: string;
  sync: AuditSync;
  signer: AuditSigner;
  /** The run_start record; its `detail.prev_run` (and `prev_runs`) are filled here. */
  start: AuditInput & { kind: 'run_start' };
  checkpoint?: Partial<CheckpointPolicy> | undefined;
  onRecord?: ((r: AuditRecord) => void) | undefined;
}

/**
 * A run's audit as the session uses it: a signing sink, its run_start linked to the
 * installation's latest signed record, and head.json kept on the newest signed record.
 */
export async function openRunAudit(o: OpenRunAuditOptions): Promise<RunAudit> {
  const tips = readHead(o.dir);
  const links = startLinks(tips);
  const head = new HeadWriter(o.dir, undefined, [
    ...(links.prev_run ? [links.prev_run] : []),
    ...(links.prev_runs ?? []),
  ]);
  const sink = await openAuditSink({
    dir: o.dir,
    run: o.run,
    sync: o.sync,
    signer: o.signer,
    checkpoint: o.checkpoint,
    onRecord: (r) => {
      if (r.signature !== undefined) head.update(r);
      o.onRecord?.(r);
    },
  });
  const prev_runs = links.prev_runs?.map((l) => ({ ...l }));
  await sink.append({
    ...o.start,
    detail: {
      ...o.start.detail,
      prev_run: links.prev_run && { ...links.prev_run },
      ...(prev_runs ? { prev_runs } : {}),
    },
  });
  return {
    sink,
    liveHead(nonce) {
      const seq = sink.records;
      const hash = sink.lastHash ?? '';
      return { seq, hash, signature: o.signer.sign(livenessText(o.run, nonce, seq, hash)) };
    },
    async seal(detail) {
      await sink.seal(detail);
      await head.flushed();
    },
  };
}
