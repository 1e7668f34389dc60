import { afterEach, describe, expect, it } from 'vitest';
import { openAuditSink } from '../../src/audit/open-sink.js';
import { nodeAuditFs, type AuditFs } from '../../src/audit/audit-fs.js';
import { call, readLines, tempHome, verifyFiles } from './helpers.js';

let t = tempHome();
afterEach(() => {
  t.cleanup();
  t = tempHome();
});

/** An fsync the test can hold (queued until released) or make fail, counting calls. */
function heldFsync(): {
  fs: Partial<AuditFs>;
  calls: () => number;
  hold: () => void;
  release: () => void;
  failWith: (code: string | null) => void;
} {
  let calls = 0;
  let holding = false;
  let failure: string | null = null;
  const waiting: (() => void)[] = [];
  return {
    calls: () => calls,
    hold: () => (holding = true),
    release: () => {
      holding = false;
      for (const w of waiting.splice(0)) w();
    },
    failWith: (code) => (failure = code),
    fs: {
      fsync: async (fd) => {
        calls += 1;
        if (holding) await new Promise<void>((r) => waiting.push(r));
        if (failure) throw Object.assign(new Error(`${failure}: simulated`), { code: failure });
        return nodeAuditFs.fsync(fd);
      },
    },
  };
}

const settledYet = async (p: Promise<unknown>): Promise<boolean> => {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  return settled;
};

describe('--audit-sync answer: written before forwarding, on disk before the answer', () => {
  it('append resolves once written; flushed(seq) waits for the fsync that follows at once', async () => {
    const f = heldFsync();
    const sink = await openAuditSink({ dir: t.audit, run: 'ans', sync: 'answer', fsImpl: f.fs });
    const base = f.calls(); // the directory sync at open
    f.hold();
    const rec = await sink.append(call(1));
    expect(readLines(sink.path)).toHaveLength(1); // written: it survives a crash of gov
    const flushed = sink.flushed(rec.seq);
    expect(await settledYet(flushed)).toBe(false); // its fsync is held
    expect(f.calls() - base).toBe(1);
    // Records appended meanwhile wait for it (ext4 would block a write(2) into a page under
    // writeback) and then share the next fsync (group commit).
    const more = Promise.all([sink.append(call(2)), sink.append(call(3))]);
    expect(await settledYet(more)).toBe(false);
    expect(readLines(sink.path)).toHaveLength(1);
    f.release();
    await flushed;
    const written = await more;
    await Promise.all(written.map((r) => sink.flushed(r.seq)));
    expect(f.calls() - base).toBe(2);
    await sink.seal();
    expect(await verifyFiles(t.audit)).toMatchObject({ ok: true, records: 4 });
  });

  it('a failed fsync rejects flushed(); nothing more is committed until an fsync succeeds', async () => {
    const f = heldFsync();
    const sink = await openAuditSink({ dir: t.audit, run: 'ansfail', sync: 'answer', fsImpl: f.fs });
    f.failWith('EIO');
    const rec = await sink.append(call(1));
    await expect(sink.flushed(rec.seq)).rejects.toThrow(/cannot flush \(fsync\) audit file .*\(EIO\)/);
    await expect(sink.append(call(2))).rejects.toThrow(/EIO/);
    expect(readLines(sink.path)).toHaveLength(1);
    f.failWith(null);
    const next = await sink.append(call(3));
    await sink.flushed(next.seq);
    await sink.seal();
    expect(await verifyFiles(t.audit)).toMatchObject({ ok: true, records: 3 });
  });
});

describe('--audit-sync interval (the default): written before forwarding, fsynced within 200 ms', () => {
  /** Poll (bounded) until the background fsync has run `n` more times than `base`. */
  const fsyncsReach = async (f: ReturnType<typeof heldFsync>, n: number): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (f.calls() < n) {
      if (Date.now() > deadline) throw new Error(`fsync count stayed at ${f.calls()}, expected ${n}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('append and flushed() do not wait for the disk; a background fsync follows; the seal is fsynced', async () => {
    const f = heldFsync();
    const sink = await openAuditSink({ dir: t.audit, run: 'int', sync: 'interval', fsImpl: f.fs });
    const base = f.calls();
    const rec = await sink.append(call(1));
    await sink.flushed(rec.seq);
    expect(readLines(sink.path)).toHaveLength(1);
    await fsyncsReach(f, base + 1);
    const before = f.calls();
    await sink.seal();
    expect(f.calls()).toBeGreaterThan(before);
    expect(await verifyFiles(t.audit)).toMatchObject({ ok: true, records: 2 });
  });

  it('a failed background fsync stops further commits until an fsync gets through', async () => {
    const f = heldFsync();
    const sink = await openAuditSink({ dir: t.audit, run: 'intfail', sync: 'interval', fsImpl: f.fs });
    f.failWith('EIO');
    const base = f.calls();
    await sink.append(call(1));
    await fsyncsReach(f, base + 1);
    await expect(sink.append(call(2))).rejects.toThrow(/cannot flush \(fsync\) audit file .*\(EIO\)/);
    expect(readLines(sink.path)).toHaveLength(1);
    f.failWith(null);
    await sink.append(call(3));
    await sink.seal();
    expect(await verifyFiles(t.audit)).toMatchObject({ ok: true, records: 3 });
  });
});
