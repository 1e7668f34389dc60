import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { HeadWriter, readHead } from '../../src/audit/run-chain.js';
import type { AuditRecord } from '../../src/types.js';
import { until } from '../helpers/until.js';

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
    await until(() => readHead(dir)?.[0]?.seq === 1);
    w.update(rec(2));
    w.update(rec(3));
    // Well within the interval: later heads wait (a write now would show here).
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(readHead(dir)?.[0]?.seq).toBe(1);
    await w.flushed();
    expect(readHead(dir)).toEqual([{ run: 'r', seq: 3, hash: 'h3', pid: process.pid, host: hostname() }]);
    // After the run's last head, every update is written at once.
    w.update(rec(4));
    await w.flushed();
    expect(readHead(dir)?.[0]?.seq).toBe(4);
  });

  it('keeps one entry per run; a run_start link drops an entry once sealed or its process is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gov-head-'));
    dirs.push(dir);
    const of = (run: string, seq: number, kind = 'checkpoint') => ({ ...rec(seq), run, kind }) as AuditRecord;
    const a = new HeadWriter(dir, 0);
    const b = new HeadWriter(dir, 0);
    a.update(of('a', 1));
    await a.flushed();
    b.update(of('b', 1));
    await b.flushed();
    a.update(of('a', 2, 'run_end'));
    await a.flushed();
    // Two overlapping runs: both named, a's as sealed.
    expect(readHead(dir)?.map((t) => [t.run, t.seq, t.sealed ?? false])).toEqual([
      ['b', 1, false],
      ['a', 2, true],
    ]);
    // A run whose gov died (pid gone) and a later run that linked both entries.
    writeFileSync(
      join(dir, 'head.json'),
      JSON.stringify({
        tips: [...readHead(dir)!, { run: 'dead', seq: 3, hash: 'h3', pid: 2 ** 22 + 7, host: hostname() }],
      }),
    );
    const links = readHead(dir)!.map(({ run, seq, hash }) => ({ run, seq, hash }));
    const c = new HeadWriter(dir, 0, links);
    c.update(of('c', 1));
    await c.flushed();
    // b still runs (its process is this one): it stays; a's seal and the dead run are named by c.
    expect(readHead(dir)?.map((t) => t.run)).toEqual(['b', 'c']);
  });

  it('reads a head.json of one link (written before runs could overlap) as a sealed entry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gov-head-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'head.json'), JSON.stringify({ run: 'old', seq: 9, hash: 'h9' }));
    expect(readHead(dir)).toEqual([{ run: 'old', seq: 9, hash: 'h9', sealed: true }]);
  });
});
