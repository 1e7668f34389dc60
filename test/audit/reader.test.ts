import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/audit/filter.js';
import { followRecords, listRunFiles, tailRecords, type ReadRecord } from '../../src/audit/reader.js';
import { openAuditSink } from '../../src/audit/open-sink.js';
import { call, readLines, tempHome, writeRun } from './helpers.js';
import { until } from '../helpers/until.js';

let t: ReturnType<typeof tempHome>;
beforeEach(() => {
  t = tempHome();
});
afterEach(() => t.cleanup());

describe('tailRecords', () => {
  it('missing directory: nothing', async () => {
    expect((await tailRecords({ dir: t.audit, n: 20 })).records).toEqual([]);
    expect(await listRunFiles(t.audit)).toEqual([]);
  });

  it('returns the last N records across runs by time, raw lines as stored', async () => {
    const a = await openAuditSink({ dir: t.audit, run: 'ra', sync: 'interval' });
    const b = await openAuditSink({ dir: t.audit, run: 'rb', sync: 'interval' });
    for (let i = 0; i < 30; i++) {
      await (i % 2 ? a : b).append(call(i));
      await new Promise((r) => setTimeout(r, 2)); // distinct timestamps
    }
    const { records } = await tailRecords({ dir: t.audit, n: 5 });
    expect(records.map((r) => r.record.tool)).toEqual([25, 26, 27, 28, 29].map((i) => `get_item_${i}`));
    const stored = [...readLines(a.path), ...readLines(b.path)];
    for (const r of records) expect(stored).toContain(r.raw);
  });

  it('reads backwards across chunk boundaries and applies the filter before counting', async () => {
    const s = await openAuditSink({ dir: t.audit, run: 'big', sync: 'interval' });
    const pad = 'x'.repeat(3000);
    for (let i = 0; i < 120; i++) await s.append(call(i, { reason: pad }));
    const { records } = await tailRecords({
      dir: t.audit,
      n: 7,
      filter: compileFilter({ decision: 'deny' }),
    });
    expect(records.map((r) => r.record.seq)).toEqual([100, 103, 106, 109, 112, 115, 118]);
    const all = await tailRecords({ dir: t.audit, n: 1000 });
    expect(all.records).toHaveLength(120);
    expect(all.records[0]!.record.seq).toBe(1);
  });

  it('skips a torn last line and resumes following at its start', async () => {
    const { path } = await writeRun(t.audit, 'torn', { calls: 2, seal: false });
    const size = fs.statSync(path).size;
    fs.appendFileSync(path, '{"v":1,"id":"to');
    const { records, offsets } = await tailRecords({ dir: t.audit, n: 20 });
    expect(records).toHaveLength(3);
    expect(offsets.get(path)).toBe(size);
  });
});

describe('followRecords', () => {
  it('delivers new records of existing runs and of runs that start later, once each, partial lines when complete', async () => {
    const { path } = await writeRun(t.audit, 'r1', { calls: 1, seal: false });
    const { offsets } = await tailRecords({ dir: t.audit, n: 20 });
    const got: ReadRecord[] = [];
    const ac = new AbortController();
    const done = followRecords({
      dir: t.audit,
      signal: ac.signal,
      offsets,
      onRecord: (r) => got.push(r),
      pollMs: 50,
    });

    const r2 = await openAuditSink({ dir: t.audit, run: 'r2', sync: 'interval' });
    await r2.append({ kind: 'run_start' });
    await r2.append(call(7));
    await until(() => got.length === 2);

    // A line written in two pieces is delivered once, when complete.
    const line = JSON.stringify({
      v: 1,
      id: 'r1.3',
      ts: new Date().toISOString(),
      run: 'r1',
      seq: 3,
      kind: 'alert',
      prev: null,
      hash: 'h',
    });
    fs.appendFileSync(path, line.slice(0, 20));
    await new Promise((r) => setTimeout(r, 150));
    expect(got).toHaveLength(2);
    fs.appendFileSync(path, `${line.slice(20)}\n`);
    await until(() => got.length === 3);
    ac.abort();
    await done;

    expect(got.map((r) => r.record.id)).toEqual(['r2.1', 'r2.2', 'r1.3']);
    expect(got[2]!.raw).toBe(line);
  });

  it('waits for the audit directory to appear and honours the filter', async () => {
    const got: ReadRecord[] = [];
    const ac = new AbortController();
    const done = followRecords({
      dir: t.audit,
      signal: ac.signal,
      filter: compileFilter({ tool: 'get_item_?' }),
      onRecord: (r) => got.push(r),
      pollMs: 50,
    });
    const s = await openAuditSink({ dir: t.audit, run: 'late', sync: 'interval' });
    await s.append(call(12));
    await s.append(call(3));
    await until(() => got.length === 1);
    await new Promise((r) => setTimeout(r, 120));
    ac.abort();
    await done;
    expect(got.map((r) => r.record.tool)).toEqual(['get_item_3']);
  });
});
