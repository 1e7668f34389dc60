import { join } from 'node:path';
import { GovError } from '../errors.js';
import { nodeAuditFs, type AuditFs } from './audit-fs.js';
import { describeIoError } from './io-error.js';
import { isValidRunId } from './run-id.js';
import { DEFAULT_CHECKPOINT, FileAuditSink, type OpenAuditSinkOptions } from './sink.js';

/** Create a run's audit file (O_EXCL, 0600) and the sink that appends to it. */
export async function openAuditSink(opts: OpenAuditSinkOptions): Promise<FileAuditSink> {
  if (!isValidRunId(opts.run)) {
    throw new GovError('audit', `invalid run id '${opts.run}'`, {
      hint: 'use letters, digits, ".", "_" and "-"',
    });
  }
  const impl: AuditFs = { ...nodeAuditFs, ...opts.fsImpl };
  const sync = opts.sync ?? 'always';
  try {
    await impl.mkdir(opts.dir, 0o700);
  } catch (err) {
    throw new GovError('audit', `cannot create audit directory ${opts.dir}: ${describeIoError(err)}`, {
      hint: 'make GOV_HOME a writable directory; governed calls are denied until the audit can be written',
      cause: err,
    });
  }
  const path = join(opts.dir, `${opts.run}.jsonl`);
  let fd: number;
  try {
    // O_EXCL: a run's chain is only ever written by the sink that created the file.
    fd = await impl.open(path, 'ax', 0o600);
  } catch (err) {
    throw new GovError('audit', `cannot create audit file ${path}: ${describeIoError(err)}`, {
      hint: 'check the permissions of the audit directory; governed calls are denied until the audit can be written',
      cause: err,
    });
  }
  if (sync !== 'interval') await syncDir(impl, opts.dir);
  return new FileAuditSink(fd, {
    path,
    run: opts.run,
    sync,
    fs: impl,
    now: opts.now ?? (() => new Date()),
    signer: opts.signer,
    checkpoint: { ...DEFAULT_CHECKPOINT, ...opts.checkpoint },
    onRecord: opts.onRecord,
  });
}

/** Make the new directory entry durable too (best effort: not every file system allows it). */
async function syncDir(impl: AuditFs, dir: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = await impl.open(dir, 'r', 0);
    await impl.fsync(fd);
  } catch {
    // ignore
  } finally {
    if (fd !== undefined) await impl.close(fd).catch(() => undefined);
  }
}
