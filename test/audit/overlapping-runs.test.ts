import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalBroker } from '../../src/approvals/broker.js';
import { startControlServer } from '../../src/approvals/control-socket.js';
import { openRunAudit } from '../../src/audit/run-audit.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { call, readLines, tempHome, testSigner, writeLines, writeRun } from './helpers.js';

/**
 * Two governed runs that overlap (two agents, two terminals). head.json was last-writer-wins,
 * so a run that sealed while another was still running was named by no later run_start and not
 * by head.json. Someone who can write $GOV_HOME (but lacks the signing key) could then delete
 * that whole run, or cut its tail back to a signed checkpoint; verify must notice.
 * Likewise a live run whose file is cut while it runs: its signed liveness answer names a
 * record the file no longer holds, which verify must report rather than call it "killed".
 */
let t: ReturnType<typeof tempHome>;
beforeEach(() => {
  t = tempHome();
});
afterEach(() => t.cleanup());

async function overlappingRuns(): Promise<{ short: string }> {
  await writeRun(t.audit, 'run-0', { calls: 2 });
  const signer = await testSigner(t.audit);
  const open = (run: string, checkpointRecords = 100) =>
    openRunAudit({
      dir: t.audit,
      run,
      sync: 'interval',
      signer,
      start: { kind: 'run_start', transport: 'http', detail: { pid: 1 } },
      checkpoint: { records: checkpointRecords },
    });
  const long = await openRunAudit({
    dir: t.audit,
    run: 'run-long',
    sync: 'interval',
    signer,
    start: { kind: 'run_start', transport: 'http', detail: { pid: 1 } },
  });
  await long.sink.append(call(1));
  // The short run: begins while the long one runs, does what it does, and ends first.
  const short = await open('run-short', 3);
  for (let i = 1; i <= 7; i++) await short.sink.append(call(i, { tool: `delete_everything_${i}` }));
  await short.seal({ exit_code: 0 });
  await long.sink.append(call(2));
  await long.seal({ exit_code: 0 });
  // A later, sequential run: links the long run's seal (head.json).
  await writeRun(t.audit, 'run-later', { calls: 1 });
  const before = await verifyAudit(t.audit);
  expect(before.problems).toEqual([]);
  expect(before.ok).toBe(true);
  return { short: `${t.audit}/run-short.jsonl` };
}

describe('audit verify with overlapping runs', () => {
  it('a whole run deleted that ended while another run was still running', async () => {
    const { short } = await overlappingRuns();
    fs.rmSync(short);
    const v = await verifyAudit(t.audit);
    expect(v.ok).toBe(false);
  });

  it("a run's tail (seal included) cut back to a signed checkpoint while another run was running", async () => {
    const { short } = await overlappingRuns();
    const lines = readLines(short);
    // Keep everything up to the last signed call record (gov signs every Nth call); drop the
    // calls after it and the seal.
    const signed = lines
      .map((l, i) => ({ i, r: JSON.parse(l) as { kind: string; signature?: string } }))
      .filter(({ r }) => r.kind === 'call' && r.signature !== undefined);
    const cut = signed[signed.length - 1]!.i;
    expect(cut).toBeLessThan(lines.length - 2);
    writeLines(short, lines.slice(0, cut + 1));
    const v = await verifyAudit(t.audit);
    expect(v.ok).toBe(false);
  });

  it('a live run whose file is cut back to its last signed record while it runs', async () => {
    await writeRun(t.audit, 'run-0', { calls: 2 });
    const audit = await openRunAudit({
      dir: t.audit,
      run: 'run-live',
      sync: 'interval',
      signer: await testSigner(t.audit),
      start: { kind: 'run_start', transport: 'http' },
      checkpoint: { records: 3 },
    });
    const control = await startControlServer({
      home: t.home,
      run: 'run-live',
      broker: new ApprovalBroker(),
      command: ['agent'],
      policySource: 'test',
      auditHead: (nonce) => audit.liveHead(nonce),
    });
    try {
      for (let i = 1; i <= 5; i++) await audit.sink.append(call(i, { tool: `delete_everything_${i}` }));
      const path = `${t.audit}/run-live.jsonl`;
      expect((await verifyAudit(t.audit)).inProgress).toEqual(['run-live']);
      // The run answers its liveness probe with seq 6; the file now ends at the signed seq 4.
      const lines = readLines(path);
      const lastSigned = lines
        .map((l) => JSON.parse(l) as { signature?: string })
        .findLastIndex((r) => r.signature);
      writeLines(path, lines.slice(0, lastSigned + 1));
      const v = await verifyAudit(t.audit);
      expect(v.ok).toBe(false);
    } finally {
      await control.close();
      await audit.sink.close();
    }
  });
});
