import * as fs from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalBroker } from '../../src/approvals/broker.js';
import { startControlServer, type ControlServer } from '../../src/approvals/control-socket.js';
import { hashRecord } from '../../src/audit/record.js';
import { openRunAudit, type RunAudit } from '../../src/audit/run-audit.js';
import { openAuditSigner, parsePublicKey } from '../../src/audit/signing-key.js';
import { verifyAudit, type VerifyResult } from '../../src/audit/verify.js';
import type { AuditRecord } from '../../src/types.js';
import { call, noKeyring, readLines, tempHome, testSigner, writeLines, writeRun } from './helpers.js';

/**
 * The adversarial cases of issue 15: someone who can write $GOV_HOME (but does not hold the
 * audit signing key) edits history. Each must fail verify, naming file:line and why.
 */
let t: ReturnType<typeof tempHome>;
/** run-1, run-2, run-3: sealed, 4 calls each (lines: start, 4 calls, seal = 6). */
const run = (n: number): string => join(t.audit, `run-${n}.jsonl`);

beforeEach(async () => {
  t = tempHome();
  for (const n of [1, 2, 3]) await writeRun(t.audit, `run-${n}`, { calls: 4 });
});
afterEach(() => t.cleanup());

const parse = (line: string): AuditRecord => JSON.parse(line) as AuditRecord;

/** Re-link records from index `from` on: new prev/hash everywhere and a matching seal, signatures kept. */
function relink(recs: AuditRecord[], from: number): string[] {
  for (let i = from; i < recs.length; i++) {
    const r = recs[i]!;
    r.seq = i + 1;
    r.id = `${r.run}.${r.seq}`;
    r.prev = i === 0 ? null : recs[i - 1]!.hash;
    if (r.kind === 'run_end') r.detail = { ...r.detail, records: i, final_hash: r.prev };
    r.hash = hashRecord(r);
  }
  return recs.map((r) => {
    const { signature, ...rest } = r;
    return JSON.stringify(signature === undefined ? rest : { ...rest, signature });
  });
}

function errors(v: VerifyResult): { file: string; line: number; message: string }[] {
  return v.problems.filter((p) => p.kind === 'error');
}

describe('audit verify against tampering', () => {
  it('an untouched history of several runs, one of them live right now, verifies clean', async () => {
    const live = await startLiveRun('run-4');
    try {
      await live.audit.sink.append(call(9));
      const v = await verifyAudit(t.audit);
      expect(errors(v)).toEqual([]);
      expect(v).toMatchObject({ ok: true, runs: 4, inProgress: ['run-4'] });
    } finally {
      await live.close();
    }
  });

  it('a record rewritten with every later hash and the seal recomputed', async () => {
    const recs = readLines(run(2)).map(parse);
    recs[2] = { ...recs[2]!, decision: 'deny', reason: 'rewritten' };
    writeLines(run(2), relink(recs, 2));
    expect(errors(await verifyAudit(t.audit))).toContainEqual({
      file: run(2),
      line: 6,
      kind: 'error',
      message: expect.stringMatching(/signature does not verify/),
    });
  });

  it('records deleted and the chain re-linked', async () => {
    const recs = readLines(run(2)).map(parse);
    recs.splice(2, 2);
    writeLines(run(2), relink(recs, 2));
    expect(errors(await verifyAudit(t.audit))).toContainEqual(
      expect.objectContaining({
        file: run(2),
        line: 4,
        message: expect.stringMatching(/signature does not verify/),
      }),
    );
  });

  it('a whole run file deleted', async () => {
    fs.rmSync(run(2));
    expect(errors(await verifyAudit(t.audit))).toEqual([
      expect.objectContaining({
        file: run(3),
        line: 1,
        message: expect.stringMatching(/run-2\.jsonl is missing \(a run file was deleted\)/),
      }),
    ]);
  });

  it('the newest run file deleted (head.json still names it)', async () => {
    fs.rmSync(run(3));
    expect(errors(await verifyAudit(t.audit))).toEqual([
      expect.objectContaining({
        file: join(t.audit, 'head.json'),
        message: expect.stringMatching(/run-3\.jsonl is missing/),
      }),
    ]);
  });

  it('the tail cut off, run_end included', async () => {
    writeLines(run(2), readLines(run(2)).slice(0, 4));
    const e = errors(await verifyAudit(t.audit));
    expect(e).toContainEqual(
      expect.objectContaining({
        file: run(2),
        line: 4,
        message: expect.stringMatching(/tail was cut after its last signed checkpoint/),
      }),
    );
    expect(e).toContainEqual(
      expect.objectContaining({
        file: run(2),
        message: expect.stringMatching(/run-3\.jsonl:1 links its record 6, which is missing/),
      }),
    );
  });

  it('a record cut in the middle', async () => {
    const lines = readLines(run(2));
    fs.writeFileSync(run(2), lines.slice(0, 3).join('\n') + '\n' + lines[3]!.slice(0, 40));
    expect(errors(await verifyAudit(t.audit))).toContainEqual(
      expect.objectContaining({ file: run(2), line: 4, message: expect.stringMatching(/cut in the middle/) }),
    );
  });

  it('a planted runs/<run>.json naming a live pid does not make a cut run "in progress"', async () => {
    writeLines(run(2), readLines(run(2)).slice(0, 4));
    fs.mkdirSync(join(t.home, 'runs'));
    // pid 1 is always alive, and a socket that answers without the key proves nothing either.
    const fake = join(t.home, 'runs', 'fake.sock');
    const server = createServer((c) =>
      c.on('data', () =>
        c.end(JSON.stringify({ ok: true, run: 'run-2', seq: 4, hash: 'x', signature: 'AAAA' }) + '\n'),
      ),
    );
    await new Promise<void>((r) => server.listen(fake, r));
    try {
      const desc = {
        run: 'run-2',
        pid: 1,
        socket: fake,
        command: ['x'],
        started: new Date().toISOString(),
        policy: 'p',
      };
      fs.writeFileSync(join(t.home, 'runs', 'run-2.json'), JSON.stringify(desc));
      const v = await verifyAudit(t.audit);
      expect(v.inProgress).toEqual([]);
      expect(errors(v)).toContainEqual(
        expect.objectContaining({
          file: run(2),
          line: 4,
          message: expect.stringMatching(/unsealed and not running/),
        }),
      );
    } finally {
      server.close();
    }
  });

  it('a verify with the wrong public key fails', async () => {
    const other = tempHome();
    try {
      const wrong = await openAuditSigner({ home: other.home, env: {}, keyring: noKeyring });
      const v = await verifyAudit(t.audit, { key: parsePublicKey(wrong.publicKey) });
      expect(v.ok).toBe(false);
      expect(errors(v)[0]).toMatchObject({
        file: run(1),
        line: 1,
        message: expect.stringMatching(/signature does not verify/),
      });
    } finally {
      other.cleanup();
    }
  });
});

/** A run in progress: signed audit + a real control socket answering `audit_head`. */
async function startLiveRun(id: string): Promise<{ audit: RunAudit; close: () => Promise<void> }> {
  const audit = await openRunAudit({
    dir: t.audit,
    run: id,
    sync: 'interval',
    signer: await testSigner(t.audit),
    start: { kind: 'run_start', transport: 'http' },
  });
  const control: ControlServer = await startControlServer({
    home: t.home,
    run: id,
    broker: new ApprovalBroker(),
    command: ['agent'],
    policySource: 'test',
    auditHead: (nonce) => audit.liveHead(nonce),
  });
  return {
    audit,
    close: async () => {
      await control.close();
      await audit.seal();
    },
  };
}
