import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HeadWriter, readHead } from '../../src/audit/run-chain.js';
import type { AuditRecord } from '../../src/types.js';

const rec = (seq: number): AuditRecord =>
  ({
    run: 'r',
    seq,
    hash: `h${seq}`,
    v: 1,
    id: `r.${seq}`,
    ts: 't',
    kind: 'checkpoint',
    prev: null,
  }) as AuditRecord;

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('HeadWriter', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('moves head.json at once for the first signed record, then at most once per interval, and at once when flushed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gov-head-'));
    dirs.push(dir);
    const w = new HeadWriter(dir, 60_000);
    w.update(rec(1));
    await until(() => readHead(dir)?.seq === 1);
    w.update(rec(2));
    w.update(rec(3));
    // Well within the interval: later heads wait (a write now would show here).
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(readHead(dir)?.seq).toBe(1);
    await w.flushed();
    expect(readHead(dir)).toEqual({ run: 'r', seq: 3, hash: 'h3' });
    // After the run's last head, every update is written at once.
    w.update(rec(4));
    await w.flushed();
    expect(readHead(dir)?.seq).toBe(4);
  });
});
