import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashRecord } from '../../src/audit/record.js';
import { verifyAudit, type VerifyResult } from '../../src/audit/verify.js';
import type { AuditRecord } from '../../src/types.js';
import { readLines, tempHome, writeLines, writeRun } from './helpers.js';

let t: ReturnType<typeof tempHome>;
let path: string;
let lines: string[];

beforeEach(async () => {
  t = tempHome();
  path = (await writeRun(t.audit, 'run-a', { calls: 4 })).path; // lines: start, 4 calls, seal = 6
  lines = readLines(path);
});
afterEach(() => t.cleanup());

const rec = (line: string): AuditRecord => JSON.parse(line) as AuditRecord;
/** Re-serialise a record with a correct hash for its (possibly edited) content. */
const rehash = (r: AuditRecord): string => JSON.stringify({ ...r, hash: hashRecord(r) });

function firstError(v: VerifyResult): { line: number; message: string; file: string } {
  const e = v.problems.find((p) => p.kind === 'error');
  if (!e) throw new Error(`expected an error, got ${JSON.stringify(v)}`);
  return e;
}

describe('verifyAudit', () => {
  it('accepts intact sealed runs', async () => {
    await writeRun(t.audit, 'run-b', { calls: 2 });
    expect(await verifyAudit(t.audit)).toEqual({
      ok: true,
      records: 10,
      runs: 2,
      problems: [],
      inProgress: [],
    });
  });

  it('a missing audit directory is 0 records in 0 runs', async () => {
    expect(await verifyAudit(join(t.home, 'nope'))).toMatchObject({ ok: true, records: 0, runs: 0 });
  });

  it('detects an edited field', async () => {
    lines[2] = lines[2]!.replace('"decision":"allow"', '"decision":"deny"');
    writeLines(path, lines);
    const v = await verifyAudit(t.audit);
    expect(v.ok).toBe(false);
    expect(firstError(v)).toMatchObject({
      file: path,
      line: 3,
      message: expect.stringMatching(/hash mismatch/),
    });
  });

  it('detects an edit whose hash was recomputed (the next link breaks)', async () => {
    lines[2] = rehash({ ...rec(lines[2]!), decision: 'deny' });
    writeLines(path, lines);
    expect(firstError(await verifyAudit(t.audit))).toMatchObject({
      line: 4,
      message: expect.stringMatching(/prev does not match/),
    });
  });

  it('detects a duplicate key that leaves the parsed record (and its hash) unchanged', async () => {
    lines[3] = lines[3]!.replace('"decision":', '"decision":"allow","decision":');
    writeLines(path, lines);
    expect(firstError(await verifyAudit(t.audit))).toMatchObject({
      line: 4,
      message: expect.stringMatching(/duplicate/),
    });
  });

  it('detects a deleted line', async () => {
    lines.splice(2, 1);
    writeLines(path, lines);
    const v = await verifyAudit(t.audit);
    expect(firstError(v)).toMatchObject({
      line: 3,
      message: expect.stringMatching(/seq 4 where 3 was expected/),
    });
    expect(v.problems.filter((p) => p.kind === 'error')).toHaveLength(1); // re-synchronised
  });

  it('detects an inserted line', async () => {
    const forged = rehash({
      ...rec(lines[2]!),
      tool: 'transfer_funds',
      seq: 4,
      id: 'run-a.4',
      prev: rec(lines[2]!).hash,
    });
    lines.splice(3, 0, forged);
    writeLines(path, lines);
    expect(firstError(await verifyAudit(t.audit))).toMatchObject({
      line: 5,
      message: expect.stringMatching(/seq 4 where 5/),
    });
  });

  it('detects a duplicated line', async () => {
    lines.splice(3, 0, lines[2]!);
    writeLines(path, lines);
    expect(firstError(await verifyAudit(t.audit)).line).toBe(4);
  });

  it('detects two reordered lines', async () => {
    [lines[2], lines[3]] = [lines[3]!, lines[2]!];
    writeLines(path, lines);
    expect(firstError(await verifyAudit(t.audit))).toMatchObject({
      line: 3,
      message: expect.stringMatching(/reordered/),
    });
  });

  it('detects a record moved in from another run', async () => {
    const other = (await writeRun(t.audit, 'run-b', { calls: 4 })).path;
    lines[2] = readLines(other)[2]!;
    writeLines(path, lines);
    expect(firstError(await verifyAudit(t.audit))).toMatchObject({
      line: 3,
      message: expect.stringMatching(/wrong run id 'run-b'/),
    });
  });

  it('detects a broken seal (record count)', async () => {
    const seal = rec(lines[5]!);
    lines[5] = rehash({ ...seal, detail: { ...seal.detail, records: 3 } });
    writeLines(path, lines);
    expect(firstError(await verifyAudit(t.audit))).toMatchObject({
      line: 6,
      message: expect.stringMatching(/broken seal: it counts 3 records but 5 precede it/),
    });
  });

  it('detects a forged seal over a truncated run (final hash)', async () => {
    const seal = rec(lines[5]!);
    const forged = rehash({
      ...seal,
      seq: 5,
      id: 'run-a.5',
      prev: rec(lines[3]!).hash,
      detail: { ...seal.detail, records: 4 },
    });
    writeLines(path, [...lines.slice(0, 4), forged]);
    expect(firstError(await verifyAudit(t.audit))).toMatchObject({
      line: 5,
      message: expect.stringMatching(/final hash/),
    });
  });

  it('detects a record after the seal and a duplicate seal', async () => {
    const seal = rec(lines[5]!);
    const after = rehash({ ...rec(lines[4]!), seq: 7, id: 'run-a.7', prev: seal.hash });
    writeLines(path, [...lines, after]);
    expect(firstError(await verifyAudit(t.audit))).toMatchObject({
      line: 7,
      message: expect.stringMatching(/record after the run_end seal at line 6/),
    });
    const second = rehash({
      ...seal,
      seq: 7,
      id: 'run-a.7',
      prev: seal.hash,
      detail: { records: 6, final_hash: seal.hash },
    });
    writeLines(path, [...lines, second]);
    expect(firstError(await verifyAudit(t.audit))).toMatchObject({
      line: 7,
      message: expect.stringMatching(/duplicate seal/),
    });
  });

  it('an unparsable line in the middle is an error', async () => {
    lines[2] = lines[2]!.slice(0, 40);
    writeLines(path, lines);
    expect(firstError(await verifyAudit(t.audit))).toMatchObject({
      line: 3,
      message: expect.stringMatching(/unparsable/),
    });
  });

  it('a torn line after the seal is an error', async () => {
    fs.writeFileSync(path, lines.join('\n') + '\n{"v":1,"id"');
    expect((await verifyAudit(t.audit)).ok).toBe(false);
  });

  it('reports the first bad file in run order', async () => {
    const b = (await writeRun(t.audit, 'run-b', { calls: 1 })).path;
    const bl = readLines(b);
    writeLines(b, [bl[0]!, bl[2]!]);
    lines.splice(1, 1);
    writeLines(path, lines);
    const errors = (await verifyAudit(t.audit)).problems.filter((p) => p.kind === 'error');
    expect(errors.map((e) => [e.file, e.line])).toEqual([
      [path, 2],
      [b, 2],
    ]);
  });
});
