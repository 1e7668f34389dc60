import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashRecord } from '../../src/audit/record.js';
import { nodeAuditFs, type AuditFs } from '../../src/audit/audit-fs.js';
import { openAuditSink } from '../../src/audit/open-sink.js';

import { GovError } from '../../src/errors.js';
import type { AuditRecord } from '../../src/types.js';
import { call, readLines, tempHome, verifyFiles } from './helpers.js';
import { until } from '../helpers/until.js';

let t = tempHome();
afterEach(() => {
  t.cleanup();
  t = tempHome();
});

const parse = (path: string): AuditRecord[] => readLines(path).map((l) => JSON.parse(l) as AuditRecord);

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

describe('FileAuditSink chain', () => {
  it('writes a 0600 file in a 0700 dir with v, id, ts, run, seq, prev and hash filled', async () => {
    const sink = await openAuditSink({
      dir: t.audit,
      run: 'r1',
      now: () => new Date('2026-01-02T03:04:05.006Z'),
    });
    const a = await sink.append({ kind: 'run_start', detail: { pid: 42 } });
    const b = await sink.append(call(1));
    expect(a).toMatchObject({
      v: 1,
      id: 'r1.1',
      ts: '2026-01-02T03:04:05.006Z',
      run: 'r1',
      seq: 1,
      prev: null,
    });
    expect(b).toMatchObject({ id: 'r1.2', seq: 2, prev: a.hash, tool: 'get_item_1' });
    expect(a.hash).toBe(hashRecord(a));
    expect(fs.statSync(sink.path).mode & 0o777).toBe(0o600);
    expect(fs.statSync(t.audit).mode & 0o777).toBe(0o700);
    expect(parse(sink.path)).toEqual([a, b]);
  });

  it('seal writes run_end with the record count and final hash, then refuses appends', async () => {
    const sink = await openAuditSink({ dir: t.audit, run: 'r2' });
    await sink.append({ kind: 'run_start' });
    const last = await sink.append(call(1));
    await sink.seal({ exit_code: 3 });
    const recs = parse(sink.path);
    expect(recs).toHaveLength(3);
    expect(recs[2]).toMatchObject({
      kind: 'run_end',
      seq: 3,
      prev: last.hash,
      detail: { exit_code: 3, records: 2, final_hash: last.hash },
    });
    await expect(sink.append(call(2))).rejects.toThrow(/already sealed/);
    await sink.seal(); // idempotent
    expect(readLines(sink.path)).toHaveLength(3);
    expect((await verifyFiles(t.audit)).ok).toBe(true);
  });

  it('a seal requested while appends are queued comes after them', async () => {
    const sink = await openAuditSink({ dir: t.audit, run: 'r5' });
    const pending = [sink.append({ kind: 'run_start' }), sink.append(call(1)), sink.append(call(2))];
    const sealed = sink.seal();
    await expect(sink.append(call(3))).rejects.toThrow(/already sealed/);
    const recs = await Promise.all(pending);
    await sealed;
    const last = parse(sink.path).at(-1)!;
    expect(last).toMatchObject({
      kind: 'run_end',
      seq: 4,
      detail: { records: 3, final_hash: recs[2]!.hash },
    });
  });

  it('drops undefined fields and refuses a reserved field override', async () => {
    const sink = await openAuditSink({ dir: t.audit, run: 'r3', sync: 'interval' });
    const rec = await sink.append({ ...call(1), tool: undefined, ...({ seq: 99, hash: 'x' } as object) });
    expect(rec.seq).toBe(1);
    expect('tool' in rec).toBe(false);
    expect(rec.hash).toBe(hashRecord(rec));
  });

  it('escapes bidi and C1 characters on disk but keeps the value', async () => {
    const sink = await openAuditSink({ dir: t.audit, run: 'r4', sync: 'interval' });
    const rec = await sink.append(call(1, { tool: 'evil\u202etxt.exe\u0085' }));
    const line = readLines(sink.path)[0]!;
    expect(line).not.toMatch(/[\u202e\u0085]/);
    expect(line).toContain('\\u202e');
    expect((JSON.parse(line) as AuditRecord).tool).toBe(rec.tool);
  });

  it('refuses a second sink for the same run and an unsafe run id', async () => {
    await openAuditSink({ dir: t.audit, run: 'dup' });
    await expect(openAuditSink({ dir: t.audit, run: 'dup' })).rejects.toThrow(/file already exists/);
    await expect(openAuditSink({ dir: t.audit, run: '../evil' })).rejects.toThrow(/invalid run id/);
  });
});

describe('group commit', () => {
  function counting(delayMs = 0): { fs: Partial<AuditFs>; writes: number[]; fsyncs: () => number } {
    const writes: number[] = [];
    let fsyncs = 0;
    return {
      writes,
      fsyncs: () => fsyncs,
      fs: {
        write: async (fd, data) => {
          writes.push(data.toString().split('\n').length - 1);
          return nodeAuditFs.write(fd, data);
        },
        fsync: async (fd) => {
          fsyncs += 1;
          if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
          return nodeAuditFs.fsync(fd);
        },
      },
    };
  }

  it('keeps append order and the chain under 200 concurrent appends with few flushes', async () => {
    const c = counting(5);
    const sink = await openAuditSink({ dir: t.audit, run: 'g1', fsImpl: c.fs });
    const baseline = c.fsyncs(); // the directory sync at open
    const first = sink.append({ kind: 'run_start' });
    await new Promise((r) => setImmediate(r)); // first group is now in flight
    const rest = Array.from({ length: 200 }, (_, i) => sink.append(call(i)));
    const recs = await Promise.all([first, ...rest]);
    expect(recs.map((r) => r.seq)).toEqual(Array.from({ length: 201 }, (_, i) => i + 1));
    recs.slice(1).forEach((r, i) => expect(r.tool).toBe(`get_item_${i}`));
    expect(c.writes).toEqual([1, 200]);
    expect(c.fsyncs() - baseline).toBe(2);
    await sink.seal();
    const v = await verifyFiles(t.audit);
    expect(v).toMatchObject({ ok: true, records: 202, runs: 1, problems: [] });
  });

  it('outcome records (sync: false) are written at once but never wait for their own fsync', async () => {
    const c = counting();
    const sink = await openAuditSink({ dir: t.audit, run: 'lazy', fsImpl: c.fs });
    const baseline = c.fsyncs();
    await sink.append(call(1), { sync: false });
    await sink.append(call(2), { sync: false });
    expect(c.writes.length).toBe(2);
    expect(c.fsyncs() - baseline).toBe(0);
    await sink.append(call(3));
    expect(c.fsyncs() - baseline).toBe(1);
    // Lazy records still reach the disk on their own shortly after.
    await sink.append(call(4), { sync: false });
    await until(() => c.fsyncs() - baseline === 2, 'the lazy record synced');
    await sink.seal();
    expect(await verifyFiles(t.audit)).toMatchObject({ ok: true });
  });

  it('two sinks (two runs) writing at the same time each keep a valid chain', async () => {
    const [a, b] = await Promise.all([
      openAuditSink({ dir: t.audit, run: 'ra' }),
      openAuditSink({ dir: t.audit, run: 'rb' }),
    ]);
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        await (i % 2 ? a : b).append(call(i));
        await (i % 2 ? b : a).append(call(i + 1000));
      }),
    );
    await Promise.all([a.seal(), b.seal()]);
    const v = await verifyFiles(t.audit);
    expect(v).toMatchObject({ ok: true, records: 202, runs: 2, problems: [] });
  });
});

describe('write failures', () => {
  it('an unwritable audit directory (a path under a regular file) rejects with a clear GovError', async () => {
    const file = join(t.home, 'a-file');
    fs.writeFileSync(file, 'x');
    const err = await openAuditSink({ dir: join(file, 'audit'), run: 'r' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GovError);
    expect((err as GovError).code).toBe('audit');
    expect((err as GovError).message).toMatch(/cannot create audit directory .*a-file\/audit: .*ENOTDIR/);
  });

  it('ENOSPC mid-write rejects the group, leaves no torn bytes, and a later append retries cleanly', async () => {
    let fail = false;
    const sink = await openAuditSink({
      dir: t.audit,
      run: 'full',
      fsImpl: {
        write: async (fd, data) => {
          if (!fail) return nodeAuditFs.write(fd, data);
          await nodeAuditFs.write(fd, data.subarray(0, 10)); // a partial write, then the disk is full
          throw errno('ENOSPC');
        },
      },
    });
    const first = await sink.append({ kind: 'run_start' });
    fail = true;
    const results = await Promise.allSettled([sink.append(call(1)), sink.append(call(2))]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const e = (r as PromiseRejectedResult).reason as GovError;
      expect(e).toBeInstanceOf(GovError);
      expect(e.code).toBe('audit');
      expect(e.message).toMatch(/cannot write audit record to .*full\.jsonl: disk full \(ENOSPC\)/);
    }
    expect(readLines(sink.path)).toHaveLength(1);
    expect(fs.readFileSync(sink.path, 'utf8').endsWith('\n')).toBe(true);
    expect(sink.records).toBe(1);
    fail = false;
    const next = await sink.append(call(3));
    expect(next).toMatchObject({ seq: 2, prev: first.hash });
    await sink.seal();
    expect((await verifyFiles(t.audit)).ok).toBe(true);
  });

  it('an fsync failure (EIO) is a failed append and the records are cut off again', async () => {
    let fail = false;
    const sink = await openAuditSink({
      dir: t.audit,
      run: 'eio',
      fsImpl: { fsync: async (fd) => (fail ? Promise.reject(errno('EIO')) : nodeAuditFs.fsync(fd)) },
    });
    await sink.append({ kind: 'run_start' });
    fail = true;
    await expect(sink.append(call(1))).rejects.toThrow(
      /cannot flush \(fsync\) audit file .*: I\/O error \(EIO\)/,
    );
    expect(readLines(sink.path)).toHaveLength(1);
    fail = false;
    await sink.seal();
    expect(await verifyFiles(t.audit)).toMatchObject({ ok: true, records: 2 });
  });

  it('a failed truncate is repaired before the next write, or that append fails too', async () => {
    let failWrite = true;
    let failTruncate = true;
    const sink = await openAuditSink({
      dir: t.audit,
      run: 'rep',
      sync: 'interval',
      fsImpl: {
        write: async (fd, data) => {
          if (!failWrite) return nodeAuditFs.write(fd, data);
          await nodeAuditFs.write(fd, data.subarray(0, 5));
          throw errno('EIO');
        },
        ftruncate: async (fd, len) =>
          failTruncate ? Promise.reject(errno('EROFS')) : nodeAuditFs.ftruncate(fd, len),
      },
    });
    await expect(sink.append({ kind: 'run_start' })).rejects.toThrow(/I\/O error/);
    failWrite = false;
    await expect(sink.append({ kind: 'run_start' })).rejects.toThrow(
      /cannot repair .*read-only file system \(EROFS\)/,
    );
    failTruncate = false;
    await sink.append({ kind: 'run_start' });
    await sink.seal();
    expect(await verifyFiles(t.audit)).toMatchObject({ ok: true, records: 2 });
  });

  it('a record JSON cannot carry fails alone', async () => {
    const sink = await openAuditSink({ dir: t.audit, run: 'nan', sync: 'interval' });
    const [bad, good] = await Promise.allSettled([
      sink.append(call(1, { args: { x: NaN } })),
      sink.append(call(2)),
    ]);
    expect(bad.status).toBe('rejected');
    expect(good).toMatchObject({ status: 'fulfilled', value: { seq: 1 } });
  });

  it('a record whose signature fails is refused alone, and the chain goes on signed', async () => {
    let broken = true;
    const signer = {
      sign: (text: string) => {
        if (broken) throw new Error('signing key unavailable');
        return `sig:${text}`;
      },
    };
    const sink = await openAuditSink({ dir: t.audit, run: 'sigfail', sync: 'interval', signer });
    await expect(sink.append({ kind: 'run_start' })).rejects.toThrow(
      /record cannot be serialised or signed: signing key unavailable/,
    );
    broken = false;
    const start = await sink.append({ kind: 'run_start' });
    expect(start).toMatchObject({ seq: 1, signature: `sig:${start.hash}` });
    const lines = readLines(join(t.audit, 'sigfail.jsonl'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual(start);
  });
});
