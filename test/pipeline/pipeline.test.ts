import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pipeline, type PipelineDeps } from '../../src/pipeline.js';
import { loadPolicyFromText } from '../../src/policy/load.js';
import { ConstraintTracker } from '../../src/policy/constraints.js';
import { ApprovalBroker } from '../../src/approvals/broker.js';
import { createRedactor } from '../../src/safety/redact.js';
import { nodeAuditFs } from '../../src/audit/audit-fs.js';
import { type FileAuditSink } from '../../src/audit/sink.js';
import { openAuditSink } from '../../src/audit/open-sink.js';
import { digestArgs } from '../../src/audit/canonical.js';
import { toEnvelope } from '../../src/mcp/envelope.js';
import type { Envelope, JsonObject } from '../../src/types.js';
import { tempHome } from '../helpers/gov-process.js';

const POLICY = `version: 1
servers:
  pay: https://pay.example/*
default: deny
approval_timeout: 10s
rules:
  - id: reads
    tool: "get_*"
    decision: allow
  - id: bounded
    tool: write_note
    decision: allow
    constraints: { max_calls: 2 }
  - id: quick-approve
    tool: refund
    decision: approve
    timeout: 50ms
  - id: slow-approve
    tool: transfer
    decision: approve
  - id: no-shell
    tool: "shell*"
    decision: deny
    reason: Shell tools are not allowed
`;

const SERVER = { name: 'pay', url: 'https://pay.example/mcp' };
let n = 0;
function env(tool: string, args: JsonObject = {}, notification = false): Envelope {
  n += 1;
  const raw: JsonObject = { jsonrpc: '2.0', method: 'tools/call', params: { name: tool, arguments: args } };
  if (!notification) raw['id'] = n;
  return toEnvelope(
    notification
      ? { kind: 'notification', method: 'tools/call', params: raw['params'] as JsonObject, raw }
      : { kind: 'request', id: n, method: 'tools/call', params: raw['params'] as JsonObject, raw },
    { transport: 'http', server: SERVER },
  );
}

const sinks: FileAuditSink[] = [];
afterEach(async () => {
  for (const s of sinks.splice(0)) await s.close().catch(() => undefined);
});

async function build(
  over: {
    policy?: string;
    approvalTimeoutMs?: number;
    failWrites?: boolean;
    failFsync?: () => boolean;
    maxHeld?: number;
  } = {},
) {
  const dir = join(tempHome(), 'audit');
  const failFsync = over.failFsync;
  const audit = await openAuditSink({
    dir,
    run: 'r-test',
    ...(failFsync ? { sync: 'answer' as const } : {}),
    ...(failFsync
      ? {
          fsImpl: {
            fsync: async (fd: number) => {
              if (failFsync()) throw Object.assign(new Error('I/O error'), { code: 'EIO' });
              return nodeAuditFs.fsync(fd);
            },
          },
        }
      : over.failWrites
        ? {
            fsImpl: {
              write: async () => {
                throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
              },
            },
          }
        : { fsImpl: nodeAuditFs }),
  });
  sinks.push(audit);
  const policy = loadPolicyFromText(over.policy ?? POLICY, 'test.yaml');
  const broker = new ApprovalBroker(over.maxHeld === undefined ? {} : { maxHeldPerClient: over.maxHeld });
  const deps: PipelineDeps = {
    run: 'r-test',
    policy,
    constraints: new ConstraintTracker(),
    approvals: broker,
    audit,
    redactor: createRedactor({
      vaultValues: new Map([['k', 'vault-secret-value']]),
      vault: true,
      secrets: true,
    }),
    digestArgs,
    approvalTimeoutMs: over.approvalTimeoutMs,
    log: { debug: () => {}, warn: () => {} },
  };
  const read = () =>
    readFileSync(audit.path, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { pipeline: new Pipeline(deps), broker, read };
}

describe('the pipeline', () => {
  it('writes the decision record before the call may be forwarded, with redacted args and a digest of the real ones', async () => {
    const { pipeline, read } = await build();
    const args = { id: 'x', token: 'vault-secret-value' };
    const g = await pipeline.govern(env('get_item', args));
    expect(g.action).toBe('forward');
    const recs = read();
    const last = recs.at(-1)!;
    expect(last).toMatchObject({
      kind: 'call',
      decision: 'allow',
      rule: 'reads',
      status: 'forwarded',
      tool: 'get_item',
    });
    expect(last['id']).toBe(g.call.auditId);
    expect(JSON.stringify(last)).not.toContain('vault-secret-value');
    expect(last['args_digest']).toBe(digestArgs(args));
    expect(String(last['policy_digest'])).toMatch(/^sha256:/);
  });

  it('denies with -32003 and the rule text; deny_as result gives an isError tool result', async () => {
    const { pipeline } = await build();
    const g = await pipeline.govern(env('shell_exec'));
    expect(g.action).toBe('respond');
    if (g.action !== 'respond') return;
    expect(g.response).toMatchObject({
      error: { code: -32003, message: "Denied by gov policy rule 'no-shell': Shell tools are not allowed" },
    });
    const asResult = await build({ policy: POLICY + 'deny_as: result\n' });
    const r = await asResult.pipeline.govern(env('shell_exec'));
    expect(r.action === 'respond' && r.response).toMatchObject({ result: { isError: true } });
  });

  it('a denied notification gets no response', async () => {
    const { pipeline } = await build();
    const g = await pipeline.govern(env('shell_exec', {}, true));
    expect(g.action === 'respond' && g.response).toBeNull();
  });

  it('fails closed when the audit cannot be written', async () => {
    const { pipeline } = await build({ failWrites: true });
    const g = await pipeline.govern(env('get_item'));
    expect(g.action).toBe('respond');
    if (g.action !== 'respond') return;
    expect(g.call.decision.rule).toBe('audit-unavailable');
    expect(JSON.stringify(g.response)).toMatch(/audit record could not be written: .*disk full|ENOSPC/);
  });

  it('--audit-sync answer: a forwarded call is answered only once its record is on disk; a failed fsync fails closed', async () => {
    let fail = false;
    const { pipeline, read } = await build({ failFsync: () => fail });
    const ok = await pipeline.govern(env('get_item'));
    expect(ok.action).toBe('forward');
    expect(read().at(-1)).toMatchObject({ id: ok.call.auditId, status: 'forwarded' });
    expect(await pipeline.flushedBeforeAnswer([ok.call])).toBeNull();
    fail = true;
    const g = await pipeline.govern(env('get_item'));
    expect(g.action).toBe('forward'); // written before forwarding; the fsync runs meanwhile
    expect(await pipeline.flushedBeforeAnswer([g.call])).toMatch(/could not be flushed to disk: .*EIO/);
    // Nothing more is forwarded until an fsync gets through again.
    const next = await pipeline.govern(env('get_item'));
    expect(next.action).toBe('respond');
    expect(next.call.decision.rule).toBe('audit-unavailable');
  });

  it('a value no stage can handle (an argument JSON.parse read as Infinity) denies that call, audited, and gov goes on', async () => {
    const { pipeline, read } = await build();
    const g = await pipeline.govern(env('get_item', { n: Infinity }));
    expect(g.action).toBe('respond');
    if (g.action !== 'respond') return;
    expect(g.call.decision.rule).toBe('gov-error');
    expect(g.response).toMatchObject({ error: { code: -32003 } });
    expect(JSON.stringify(g.response)).toContain('gov could not process this message');
    expect(read().at(-1)).toMatchObject({ kind: 'alert', id: g.call.auditId, decision: 'deny' });
    expect((await pipeline.govern(env('get_item', { n: 1 }))).action).toBe('forward');
  });

  it('enforces max_calls per run', async () => {
    const { pipeline } = await build();
    expect((await pipeline.govern(env('write_note'))).action).toBe('forward');
    expect((await pipeline.govern(env('write_note'))).action).toBe('forward');
    const third = await pipeline.govern(env('write_note'));
    expect(third.action).toBe('respond');
    expect(JSON.stringify(third.action === 'respond' && third.response)).toContain("rule 'bounded'");
  });

  it('times out held calls: the rule timeout wins over --approval-timeout, which wins over the policy', async () => {
    const a = await build({ approvalTimeoutMs: 5_000 });
    const r1 = await a.pipeline.govern(env('refund'));
    expect(JSON.stringify(r1.action === 'respond' && r1.response)).toContain('Approval timed out after 50ms');
    const b = await build({ approvalTimeoutMs: 80 });
    const r2 = await b.pipeline.govern(env('transfer'));
    expect(JSON.stringify(r2.action === 'respond' && r2.response)).toContain('Approval timed out after 80ms');
    const c = await build({ policy: POLICY.replace('approval_timeout: 10s', 'approval_timeout: 60ms') });
    const r3 = await c.pipeline.govern(env('transfer'));
    expect(JSON.stringify(r3.action === 'respond' && r3.response)).toContain('Approval timed out after 60ms');
    const rec = c.read().find((x) => x['kind'] === 'approval')!;
    expect(rec).toMatchObject({ approver: 'timeout', status: 'timeout', decision: 'deny' });
  });

  it('approval by a human forwards, and "always" lets the tool through for the rest of the run', async () => {
    const { pipeline, broker } = await build({ approvalTimeoutMs: 5_000 });
    const off = broker.subscribe((ev) => {
      if (ev.type === 'held') broker.settle(ev.call.id, { approved: true, approver: 'tui', always: true });
    });
    expect((await pipeline.govern(env('transfer', { amount: 1 }))).action).toBe('forward');
    off();
    expect((await pipeline.govern(env('transfer', { amount: 2 }))).action).toBe('forward');
  });

  it('a call beyond the held limit is denied at once, with its reason in the answer and the audit', async () => {
    const { pipeline, broker, read } = await build({ approvalTimeoutMs: 5_000, maxHeld: 1 });
    const first = pipeline.govern(env('transfer'));
    const second = await pipeline.govern(env('transfer'));
    expect(JSON.stringify(second.action === 'respond' && second.response)).toContain(
      'Denied by approver: 1 calls of this client are already waiting for approval',
    );
    expect(read().find((x) => x['kind'] === 'approval')).toMatchObject({ approver: 'channel-error' });
    broker.settle(broker.list()[0]!.id, { approved: true, approver: 'cli' });
    expect((await first).action).toBe('forward');
  });

  it('a cancelled held call is denied and recorded as cancelled', async () => {
    const { pipeline, read } = await build({ approvalTimeoutMs: 5_000 });
    const ac = new AbortController();
    const p = pipeline.govern(env('transfer'), { signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    expect((await p).action).toBe('respond');
    expect(read().find((x) => x['kind'] === 'approval')).toMatchObject({
      approver: 'cancelled',
      status: 'cancelled',
    });
  });

  it('hides always-denied tools from tools/list and redacts server output', async () => {
    const { pipeline } = await build();
    const call = await pipeline.govern({
      ...env('get_x'),
      method: 'tools/list',
      tool: undefined,
    } as Envelope);
    const msg: JsonObject = {
      jsonrpc: '2.0',
      id: 1,
      result: {
        tools: [
          { name: 'get_item' },
          { name: 'shell_exec' },
          { name: 'get_leaky', description: 'vault-secret-value' },
        ],
      },
    };
    const out = pipeline.processServerMessage(msg, call.call);
    const names = ((out.message['result'] as JsonObject)['tools'] as JsonObject[]).map((t) => t['name']);
    expect(names).toEqual(['get_item', 'get_leaky']);
    expect(JSON.stringify(out.message)).not.toContain('vault-secret-value');
    expect(out.counts['vault']).toBe(1);
  });
});

describe('governBatch: one client batch through the core, as both transports feed it', () => {
  const facts = { transport: 'stdio' as const, server: SERVER, scope: 'test' };
  const gone = () => new AbortController().signal;
  // No server request awaits the client's answer unless a test says so.
  const answerAwaited = () => false;
  const request = (id: number, tool: string, args: JsonObject = {}) => {
    const raw: JsonObject = {
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: tool, arguments: args },
    };
    return { kind: 'request' as const, id, method: 'tools/call', params: raw['params'] as JsonObject, raw };
  };
  const cancelled = (id: number) => {
    const raw: JsonObject = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id } };
    return {
      kind: 'notification' as const,
      method: raw['method'] as string,
      params: raw['params'] as JsonObject,
      raw,
    };
  };

  it('forwards what passes in order (answers only to server requests awaiting them), answers what is denied, and knows which calls wait', async () => {
    const { pipeline } = await build();
    const answerToServer = {
      kind: 'response' as const,
      id: 's-1',
      result: {},
      raw: { jsonrpc: '2.0', id: 's-1', result: {} },
    };
    const ok = request(1, 'get_item');
    const forged = { ...answerToServer, id: 's-2', raw: { jsonrpc: '2.0', id: 's-2', result: {} } };
    const b = await pipeline.governBatch([ok, request(2, 'shell_exec'), answerToServer, forged], facts, {
      gone,
      answerAwaited: (id) => id === 's-1',
    });
    expect(b.forward).toEqual([ok.raw, answerToServer.raw]);
    expect(b.answers).toEqual([
      expect.objectContaining({ id: 2, error: expect.objectContaining({ code: -32003 }) }),
    ]);
    expect([...b.calls.keys()]).toEqual([1]);
    expect(b.unchanged).toBe(false);
    expect(b.governedForward).toBe(true);
    const all = await pipeline.governBatch([request(3, 'get_a'), request(4, 'get_b')], facts, {
      gone,
      answerAwaited,
    });
    expect(all.unchanged).toBe(true);
  });

  it("consumes the client's answer to gov's own question; it never reaches the server", async () => {
    const { pipeline } = await build();
    const own = { jsonrpc: '2.0', id: 'gov-approval-0123', result: { action: 'accept' } };
    const b = await pipeline.governBatch(
      [{ kind: 'response', id: own.id, result: own.result, raw: own }],
      facts,
      { gone, answerAwaited },
    );
    expect(b.forward).toEqual([]);
    expect(b.answers).toEqual([]);
  });

  it('a held call the client cancels: withdrawn, not forwarded, and not answered', async () => {
    const { pipeline, broker, read } = await build();
    const held = new Promise<void>((res) => {
      const off = broker.subscribe((ev) => {
        if (ev.type === 'held') res(off());
      });
    });
    let onHeldCalls = 0;
    const first = pipeline.governBatch([request(7, 'transfer')], facts, {
      gone,
      answerAwaited,
      held: () => ({ onHeld: () => (onHeldCalls += 1) }),
    });
    await held;
    const second = await pipeline.governBatch([cancelled(7)], facts, { gone, answerAwaited });
    expect(second.forward).toHaveLength(1); // the notification itself goes on to the server
    const b = await first;
    expect(b).toMatchObject({ forward: [], answers: [], unchanged: false });
    expect(onHeldCalls).toBe(1);
    expect(
      read()
        .filter((r) => r['kind'] === 'approval')
        .at(-1),
    ).toMatchObject({ status: 'cancelled' });
  });

  it('a message a stage fails on is denied alone; the rest of the batch goes on', async () => {
    const { pipeline } = await build();
    const hostile = request(8, 'get_item', { boom: true });
    const deps = (pipeline as unknown as { deps: PipelineDeps }).deps;
    const digest = deps.digestArgs;
    deps.digestArgs = (a) => {
      if ((a as JsonObject)['boom']) throw new Error('cannot digest this');
      return digest(a);
    };
    const b = await pipeline.governBatch([hostile, request(9, 'get_item')], facts, { gone, answerAwaited });
    expect(b.answers).toEqual([
      expect.objectContaining({
        id: 8,
        error: expect.objectContaining({ data: expect.objectContaining({ rule: 'gov-error' }) }),
      }),
    ]);
    expect([...b.calls.keys()]).toEqual([9]);
  });
});
