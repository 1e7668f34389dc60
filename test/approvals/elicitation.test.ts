import { describe, expect, it } from 'vitest';
import { ApprovalBroker } from '../../src/approvals/broker.js';
import {
  elicitationParams,
  elicitingClient,
  questionShowsWholeCall,
  verdictFromElicitation,
} from '../../src/approvals/elicitation.js';
import { ElicitationRequests } from '../../src/approvals/elicitation-requests.js';
import { heldCallRequest } from '../helpers/held-call.js';
import type { ApprovalVerdict, JsonObject } from '../../src/types.js';

const client = { info: { name: 'ide', version: '1' }, name: 'ide', choices: 'oneOf' } as const;

describe('elicitation: who can be asked', () => {
  it('a client that declared elicitation (empty = form mode) can; url-only or none cannot', () => {
    const init = (elicitation?: unknown): JsonObject => ({
      clientInfo: { name: 'Code\u202e', version: '1' },
      capabilities: (elicitation === undefined ? {} : { elicitation }) as JsonObject,
    });
    expect(elicitingClient(init({}))?.name).toBe('Code<U+202E>');
    expect(elicitingClient(init({ form: {} }))).not.toBeNull();
    expect(elicitingClient(init({ url: {} }))).toBeNull();
    expect(elicitingClient(init())).toBeNull();
    expect(elicitingClient(null)).toBeNull();
  });

  it('a 2025-06-18 client gets `enum` + `enumNames` choices; 2025-11-25 and later get titled `oneOf`', () => {
    const init = (protocolVersion?: string): JsonObject => ({
      ...(protocolVersion ? { protocolVersion } : {}),
      clientInfo: { name: 'ide' },
      capabilities: { elicitation: {} },
    });
    expect(elicitingClient(init('2025-06-18'))?.choices).toBe('enumNames');
    expect(elicitingClient(init('2025-11-25'))?.choices).toBe('oneOf');
    expect(elicitingClient(init('2026-07-28'))?.choices).toBe('oneOf');
    // A 2026-07-28 request's `_meta` names no version in these params: the newest form.
    expect(elicitingClient(init())?.choices).toBe('oneOf');
  });
});

describe('elicitation: the answer → the verdict', () => {
  const v = (result: unknown) => verdictFromElicitation(client, { result: result as JsonObject }, true);
  it('only an accepted approve approves; approve_run approves for the run', () => {
    expect(v({ action: 'accept', content: { decision: 'approve_once' } })).toMatchObject({
      approved: true,
      approver: 'elicitation:ide',
      client_info: client.info,
    });
    expect(v({ action: 'accept', content: { decision: 'approve_run' } })).toMatchObject({
      approved: true,
      always: true,
    });
  });
  it('deny, decline, cancel, errors and nonsense deny with the reason', () => {
    expect(v({ action: 'accept', content: { decision: 'deny', reason: 'no' } })).toMatchObject({
      approved: false,
      reason: 'no',
    });
    expect(v({ action: 'decline' }).reason).toBe('declined in the MCP client');
    expect(v({ action: 'cancel' }).reason).toBe('cancelled in the MCP client');
    expect(v({ action: 'accept', content: { decision: 'yes please' } }).approved).toBe(false);
    expect(v({ action: 'accept' }).approved).toBe(false);
    expect(v('accept').approved).toBe(false);
    expect(
      verdictFromElicitation(client, { error: { code: -32602, message: 'no form' } }, true),
    ).toMatchObject({
      approved: false,
      reason: 'the MCP client could not ask (no form)',
    });
  });
});

describe('elicitation: the question', () => {
  const held = (args: JsonObject) => ({
    ...heldCallRequest({ args }),
    id: 'h-1',
    held_since: new Date().toISOString(),
  });

  it('names tool, server, rule and reason; arguments are pretty-printed, escaped and cut', () => {
    const p = elicitationParams(held({ note: 'a\u202eb', blob: 'x'.repeat(10_000) }), client);
    const message = String(p['message']);
    expect(message).toContain('Tool: refund');
    expect(message).toContain('Server: payments');
    expect(message).toContain('Rule: refunds — Refunds need a human');
    expect(message).toContain('{\n  "note": "a\\u202eb",\n');
    expect(message).not.toContain('\u202e');
    expect(message).toContain('…(arguments shortened; ');
    expect(message.length).toBeLessThan(3000);
    expect(p['mode']).toBe('form');
    // Under the 4 KiB summary limit but longer than the question shows: cut visibly.
    const cut = String(elicitationParams(held({ blob: 'y'.repeat(3000) }), client)['message']);
    expect(cut).toContain('…(truncated)');
    expect(cut.length).toBeLessThan(3000);
  });

  it('a question that cannot show the whole call offers only deny, and an approving answer to it denies', () => {
    for (const args of [{ blob: 'y'.repeat(3000) }, { blob: 'x'.repeat(10_000) }]) {
      const call = held(args);
      expect(questionShowsWholeCall(call)).toBe(false);
      const p = elicitationParams(call, client);
      expect(String(p['message'])).toContain('too long to show here in full, so this question can only deny');
      expect(p['requestedSchema']).toMatchObject({
        properties: { decision: { oneOf: [{ const: 'deny', title: 'Deny this call' }] } },
      });
      const enumNames = elicitationParams(call, { ...client, choices: 'enumNames' })['requestedSchema'];
      expect(enumNames).toMatchObject({ properties: { decision: { enum: ['deny'] } } });
      for (const decision of ['approve_once', 'approve_run'])
        expect(
          verdictFromElicitation(client, { result: { action: 'accept', content: { decision } } }, false),
        ).toMatchObject({ approved: false, reason: expect.stringMatching(/could not show the whole call/) });
    }
    expect(questionShowsWholeCall(held({ note: 'short' }))).toBe(true);
  });

  const decisions = ['approve_once', 'approve_run', 'deny'];
  const titles = ['Approve this call once', 'Approve refund for the rest of this run', 'Deny this call'];
  const reason = { type: 'string', title: 'Reason (optional)' };

  it('asks {decision: approve_once | approve_run | deny, reason?} with titles, as titled oneOf (2025-11-25+)', () => {
    expect(elicitationParams(held({}), client)['requestedSchema']).toMatchObject({
      type: 'object',
      properties: {
        decision: {
          type: 'string',
          title: 'Your decision',
          oneOf: decisions.map((d, i) => ({ const: d, title: titles[i] })),
        },
        reason,
      },
      required: ['decision'],
    });
  });

  it('asks the same of a 2025-06-18 client as `enum` with `enumNames`', () => {
    const schema = elicitationParams(held({}), { ...client, choices: 'enumNames' })['requestedSchema'];
    expect(schema).toMatchObject({
      properties: { decision: { type: 'string', enum: decisions, enumNames: titles }, reason },
      required: ['decision'],
    });
    expect(JSON.stringify(schema)).not.toContain('oneOf');
  });
});

describe('elicitation requests: first answer wins, withdrawn questions', () => {
  it('an answer settles the held call once; a later gov approve finds nothing pending', async () => {
    const broker = new ApprovalBroker();
    const sent: JsonObject[] = [];
    const q = new ElicitationRequests();
    const channel = q.channel(client, (m) => (sent.push(m), true));
    let withdraw = () => {};
    const verdict = broker.request(heldCallRequest(), {
      onHeld: (held) => {
        withdraw = channel.ask(held, (v: ApprovalVerdict) => broker.settle(held.id, v));
      },
    });
    const id = String(sent[0]!['id']);
    expect(sent[0]!['method']).toBe('elicitation/create');
    expect(q.take({ id, result: { action: 'accept', content: { decision: 'approve_once' } } })).toBe(true);
    expect(await verdict).toMatchObject({ approved: true, approver: 'elicitation:ide' });
    withdraw();
    expect(sent).toHaveLength(1);
    expect(q.take({ id: 7, result: {} })).toBe(false);
  });

  it('another channel first: the question is withdrawn with notifications/cancelled, the late answer consumed', async () => {
    const broker = new ApprovalBroker();
    const sent: JsonObject[] = [];
    const q = new ElicitationRequests();
    const channel = q.channel(client, (m) => (sent.push(m), true));
    let withdraw = () => {};
    let heldId = '';
    const verdict = broker.request(heldCallRequest(), {
      onHeld: (held) => {
        heldId = held.id;
        withdraw = channel.ask(held, (v) => broker.settle(held.id, v));
      },
    });
    broker.settle(heldId, { approved: false, approver: 'cli', reason: 'no' });
    expect(await verdict).toMatchObject({ approver: 'cli' });
    withdraw();
    expect(sent[1]).toMatchObject({
      method: 'notifications/cancelled',
      params: { requestId: sent[0]!['id'] },
    });
    expect(q.take({ id: String(sent[0]!['id']), result: { action: 'accept' } })).toBe(true);
  });

  it('live channels are counted while attached', () => {
    const broker = new ApprovalBroker();
    const a = broker.attachChannel('cli');
    const b = broker.attachChannel('cli');
    expect(broker.liveChannels()).toEqual(['cli']);
    a();
    a();
    expect(broker.liveChannels()).toEqual(['cli']);
    b();
    expect(broker.liveChannels()).toEqual([]);
  });
});
