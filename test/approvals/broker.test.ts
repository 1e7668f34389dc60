import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApprovalBroker, type BrokerEvent, type HeldCallRequest } from '../../src/approvals/broker.js';
import { heldCallRequest } from '../helpers/held-call.js';

const call = (over: Partial<HeldCallRequest> = {}): HeldCallRequest => heldCallRequest(over);

afterEach(() => {
  vi.useRealTimers();
});

describe('ApprovalBroker', () => {
  it('holds a call with a short id until it is approved', async () => {
    const broker = new ApprovalBroker();
    const events: BrokerEvent[] = [];
    broker.subscribe((e) => events.push(e));
    const p = broker.request(call());
    const [held] = broker.list();
    expect(held?.id).toMatch(/^h-[0-9a-f]{6}$/);
    expect(held?.tool).toBe('refund');
    expect(Date.parse(held!.held_since)).not.toBeNaN();
    expect(events[0]).toEqual({ type: 'held', call: held });
    expect(broker.settle(held!.id, { approved: true, approver: 'tui' })).toBe(true);
    await expect(p).resolves.toEqual({ approved: true, approver: 'tui' });
    expect(broker.list()).toEqual([]);
    expect(events[1]).toEqual({
      type: 'settled',
      id: held!.id,
      verdict: { approved: true, approver: 'tui' },
    });
  });

  it('denies with a reason, and a second settle of the same id is refused', async () => {
    const broker = new ApprovalBroker();
    const p = broker.request(call());
    const id = broker.list()[0]!.id;
    expect(broker.settle(id, { approved: false, approver: 'cli', reason: 'too big' })).toBe(true);
    expect(broker.settle(id, { approved: true, approver: 'cli' })).toBe(false);
    expect(broker.settle('h-nope00', { approved: true, approver: 'cli' })).toBe(false);
    await expect(p).resolves.toEqual({ approved: false, approver: 'cli', reason: 'too big' });
  });

  it('denies a call nobody decides once its timeout passes', async () => {
    vi.useFakeTimers();
    const broker = new ApprovalBroker();
    const p = broker.request(call({ timeout_ms: 10_000 }));
    await vi.advanceTimersByTimeAsync(9_999);
    expect(broker.size).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(p).resolves.toMatchObject({ approved: false, approver: 'timeout' });
    expect(broker.size).toBe(0);
  });

  it('withdraws a held call when the signal aborts (client cancelled or disconnected)', async () => {
    const broker = new ApprovalBroker();
    const ac = new AbortController();
    const p = broker.request(call(), { signal: ac.signal });
    expect(broker.size).toBe(1);
    ac.abort();
    await expect(p).resolves.toMatchObject({ approved: false, approver: 'cancelled' });
    expect(broker.size).toBe(0);
    // an already-aborted signal never holds anything
    await expect(broker.request(call(), { signal: ac.signal })).resolves.toMatchObject({
      approver: 'cancelled',
    });
    expect(broker.size).toBe(0);
  });

  it('says when each hold times out, and tells a late approver the client stopped waiting and when', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const broker = new ApprovalBroker({ now: () => new Date(now) });
    const ac = new AbortController();
    const p = broker.request(call({ timeout_ms: 120_000 }), { signal: ac.signal });
    const held = broker.list()[0]!;
    expect(held.expires_at).toBe('2026-01-01T00:02:00.000Z');
    now += 60_000;
    ac.abort('it closed the connection');
    const reason = 'the client stopped waiting after 1m (it closed the connection)';
    await expect(p).resolves.toEqual({ approved: false, approver: 'cancelled', reason });
    expect(broker.endedCall(held.id)).toMatchObject({ tool: 'refund', ended_by: 'client', reason });
    expect(broker.recentlyEnded().map((e) => e.id)).toEqual([held.id]);
    // Remembered for a while only.
    now += 11 * 60_000;
    expect(broker.endedCall(held.id)).toBeUndefined();
    // A call that never times out has no expiry; one decided by a human is not "ended".
    const q = broker.request(call({ timeout_ms: Infinity }));
    expect(broker.list()[0]!.expires_at).toBeUndefined();
    broker.settle(broker.list()[0]!.id, { approved: true, approver: 'cli' });
    await q;
    expect(broker.recentlyEnded()).toEqual([]);
  });

  it('remembers a timed-out hold with why it ended', async () => {
    vi.useFakeTimers();
    const broker = new ApprovalBroker();
    const p = broker.request(call({ timeout_ms: 2_000 }));
    const id = broker.list()[0]!.id;
    await vi.advanceTimersByTimeAsync(2_000);
    await expect(p).resolves.toMatchObject({ approver: 'timeout', reason: 'no approver answered within 2s' });
    expect(broker.endedCall(id)).toMatchObject({
      ended_by: 'timeout',
      reason: 'no approver answered within 2s',
    });
  });

  it('"always" approves the same tool on the same server for the rest of the run', async () => {
    const broker = new ApprovalBroker();
    const first = broker.request(call());
    const sibling = broker.request(call());
    const otherServer = broker.request(call({ server: 'github' }));
    const [a] = broker.list();
    broker.settle(a!.id, { approved: true, approver: 'tui', always: true });
    await expect(first).resolves.toEqual({ approved: true, approver: 'tui', always: true });
    await expect(sibling).resolves.toEqual({ approved: true, approver: 'always' });
    expect(broker.isAlwaysAllowed({ server: 'payments', method: 'tools/call', tool: 'refund' })).toBe(true);
    expect(broker.isAlwaysAllowed({ server: 'github', method: 'tools/call', tool: 'refund' })).toBe(false);
    await expect(broker.request(call())).resolves.toEqual({ approved: true, approver: 'always' });
    expect(broker.list().map((c) => c.server)).toEqual(['github']);
    broker.close();
    await expect(otherServer).resolves.toMatchObject({ approved: false, approver: 'channel-error' });
  });

  it('"always" covers its own grant scope only; with none it approves just that call', async () => {
    const broker = new ApprovalBroker();
    const mine = broker.request(call(), { grantScope: 'session a' });
    const other = broker.request(call(), { grantScope: 'session b' });
    broker.settle(broker.list()[0]!.id, { approved: true, approver: 'tui', always: true });
    await expect(mine).resolves.toMatchObject({ approved: true, approver: 'tui' });
    await expect(broker.request(call(), { grantScope: 'session a' })).resolves.toEqual({
      approved: true,
      approver: 'always',
    });
    expect(broker.list()).toHaveLength(1);

    const unscoped = broker.request(call(), { grantScope: null });
    const held = broker.list().map((c) => c.id);
    broker.settle(held[1]!, { approved: true, approver: 'tui', always: true });
    await expect(unscoped).resolves.toMatchObject({ approved: true, approver: 'tui' });
    expect(broker.isAlwaysAllowed(call(), null)).toBe(false);
    expect(broker.list().map((c) => c.id)).toEqual([held[0]]);

    broker.forgetAlwaysOf('session a');
    expect(broker.isAlwaysAllowed(call(), 'session a')).toBe(false);
    broker.close();
    await expect(other).resolves.toMatchObject({ approved: false });
  });

  it('forgets approvals for the run when the policy is reloaded', async () => {
    const broker = new ApprovalBroker();
    const p = broker.request(call());
    broker.settle(broker.list()[0]!.id, { approved: true, approver: 'tui', always: true });
    await p;
    broker.forgetAlways();
    expect(broker.isAlwaysAllowed({ server: 'payments', method: 'tools/call', tool: 'refund' })).toBe(false);
    broker.close();
  });

  it('a denial with always set does not remember anything', async () => {
    const broker = new ApprovalBroker();
    const p = broker.request(call());
    broker.settle(broker.list()[0]!.id, { approved: false, approver: 'tui', always: true });
    await expect(p).resolves.toMatchObject({ approved: false });
    expect(broker.isAlwaysAllowed({ server: 'payments', method: 'tools/call', tool: 'refund' })).toBe(false);
  });

  it('close() denies everything pending and fails closed afterwards', async () => {
    const broker = new ApprovalBroker();
    const ps = [broker.request(call()), broker.request(call({ tool: 'x' }))];
    broker.close('proxy shutting down');
    for (const v of await Promise.all(ps)) {
      expect(v).toEqual({ approved: false, approver: 'channel-error', reason: 'proxy shutting down' });
    }
    await expect(broker.request(call())).resolves.toMatchObject({
      approved: false,
      approver: 'channel-error',
    });
  });

  it('a throwing listener breaks neither the broker nor other listeners', async () => {
    const broker = new ApprovalBroker();
    const seen: string[] = [];
    broker.subscribe(() => {
      throw new Error('boom');
    });
    const off = broker.subscribe((e) => seen.push(e.type));
    const p = broker.request(call());
    broker.settle(broker.list()[0]!.id, { approved: true, approver: 'cli' });
    await expect(p).resolves.toMatchObject({ approved: true });
    expect(seen).toEqual(['held', 'settled']);
    off();
    void broker.request(call());
    expect(seen).toHaveLength(2);
    broker.close();
  });

  it('never reuses an id that is pending or was recently settled', async () => {
    const ids = ['h-aaaaaa', 'h-aaaaaa', 'h-bbbbbb', 'h-aaaaaa', 'h-bbbbbb', 'h-cccccc'];
    const broker = new ApprovalBroker({ newId: () => ids.shift() ?? 'h-zzzzzz' });
    void broker.request(call());
    void broker.request(call());
    expect(broker.list().map((c) => c.id)).toEqual(['h-aaaaaa', 'h-bbbbbb']);
    broker.settle('h-aaaaaa', { approved: false, approver: 'cli' });
    void broker.request(call());
    expect(broker.list().map((c) => c.id)).toEqual(['h-bbbbbb', 'h-cccccc']);
    broker.close();
  });

  it('holds 1,000 calls at once and settles each one', async () => {
    const broker = new ApprovalBroker();
    let events = 0;
    broker.subscribe(() => events++);
    const ps = Array.from({ length: 1000 }, (_, i) => broker.request(call({ tool: `t${i}` })));
    expect(broker.size).toBe(1000);
    expect(new Set(broker.list().map((c) => c.id)).size).toBe(1000);
    for (const c of broker.list()) broker.settle(c.id, { approved: c.tool.endsWith('0'), approver: 'cli' });
    const verdicts = await Promise.all(ps);
    expect(verdicts.filter((v) => v.approved)).toHaveLength(100);
    expect(events).toBe(2000);
    expect(broker.size).toBe(0);
  });

  it('a client may hold only so many calls at once; others, and the same client later, still can', async () => {
    const broker = new ApprovalBroker({ maxHeldPerClient: 2 });
    const a1 = broker.request(call({ principal: 'token:a' }));
    void broker.request(call({ principal: 'token:a' }));
    await expect(broker.request(call({ principal: 'token:a' }))).resolves.toMatchObject({
      approved: false,
      approver: 'channel-error',
      reason: expect.stringContaining('2 calls of this client are already waiting for approval') as string,
    });
    expect(broker.size).toBe(2);
    void broker.request(call({ principal: 'token:b' }));
    expect(broker.size).toBe(3);
    broker.settle(broker.list()[0]!.id, { approved: false, approver: 'cli' });
    await a1;
    void broker.request(call({ principal: 'token:a' }));
    expect(broker.list().filter((c) => c.principal === 'token:a')).toHaveLength(2);
    broker.close();
  });

  it('caps the request bytes held per client and in all, and frees them when a call ends', async () => {
    const broker = new ApprovalBroker({ maxHeldBytesPerClient: 100, maxHeldBytes: 150 });
    const a1 = broker.request(call({ principal: 'token:a' }), { bytes: 60 });
    await expect(broker.request(call({ principal: 'token:a' }), { bytes: 41 })).resolves.toMatchObject({
      approved: false,
      approver: 'channel-error',
      reason: expect.stringContaining(
        "would take this client's calls waiting for approval over 100 B",
      ) as string,
    });
    void broker.request(call({ principal: 'token:b' }), { bytes: 90 });
    await expect(broker.request(call({ principal: 'token:c' }), { bytes: 1 })).resolves.toMatchObject({
      approved: false,
      reason: expect.stringContaining('over 150 B in all') as string,
    });
    broker.settle(broker.list()[0]!.id, { approved: false, approver: 'cli' });
    await a1;
    void broker.request(call({ principal: 'token:a' }), { bytes: 60 });
    expect(broker.size).toBe(2);
    broker.close();
  });
});
