import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { addToken, removeToken, TokenVerifier } from '../../src/gateway/serve-tokens.js';
import { Revocations } from '../../src/gateway/revocation.js';
import { ApprovalBroker } from '../../src/approvals/broker.js';
import { SessionTable } from '../../src/gateway/sessions.js';
import { heldCallRequest } from '../helpers/held-call.js';

describe('TokenVerifier: revocation', () => {
  it('reports a name whose token was removed or replaced, once, and refuses that token at once', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'gov-tokens-')), 'serve-tokens.json');
    const alice = addToken(path, 'alice');
    const bob = addToken(path, 'bob');
    const revoked: string[] = [];
    const v = new TokenVerifier(path, (name) => revoked.push(name));
    expect(v.verify(alice)).toBe('alice');

    removeToken(path, 'alice');
    expect(v.verify(alice)).toBeNull();
    expect(revoked).toEqual(['alice']);

    removeToken(path, 'bob');
    const newBob = addToken(path, 'bob');
    expect(v.verify(newBob)).toBe('bob');
    expect(v.verify(bob)).toBeNull();
    addToken(path, 'carol');
    expect(v.verify(newBob)).toBe('bob');
    expect(revoked).toEqual(['alice', 'bob']);
  });
});

describe('Revocations', () => {
  it('denies the principal’s held calls, forgets its grants and sessions, and cuts its requests', async () => {
    const broker = new ApprovalBroker();
    const sessions = new SessionTable({ ttlMs: 60_000, idleMs: 60_000, max: 10 });
    sessions.open('s-alice', 'token:alice');
    sessions.open('s-bob', 'token:bob');
    const stopped: string[] = [];
    const reports: unknown[] = [];
    const r = new Revocations({
      broker,
      sessions,
      replay: { stopAllOf: (p) => stopped.push(p) },
      onRevoked: (x) => reports.push(x),
    });
    const response = () => {
      const res = new EventEmitter() as EventEmitter & { destroyed: boolean; destroy(): void };
      res.destroyed = false;
      res.destroy = () => {
        res.destroyed = true;
        res.emit('close');
      };
      return res;
    };
    const [a1, a2, b1] = [response(), response(), response()];
    r.track('token:alice', a1 as unknown as ServerResponse);
    r.track('token:alice', a2 as unknown as ServerResponse);
    r.track('token:bob', b1 as unknown as ServerResponse);
    a2.emit('close');
    const granted = broker.request(heldCallRequest({ principal: 'token:alice', tool: 'other' }));
    broker.settle(broker.list()[0]!.id, { approved: true, approver: 'cli', always: true });
    await granted;
    const aliceHeld = broker.request(heldCallRequest({ principal: 'token:alice' }));
    const bobHeld = broker.request(heldCallRequest({ principal: 'token:bob' }));

    r.revoke('token:alice');
    await expect(aliceHeld).resolves.toMatchObject({ approved: false, approver: 'revoked' });
    expect(broker.list().map((c) => c.principal)).toEqual(['token:bob']);
    expect(broker.isAlwaysAllowed(heldCallRequest({ principal: 'token:alice', tool: 'other' }))).toBe(false);
    expect(sessions.check('s-alice', 'token:alice')).toBe('unknown');
    expect(sessions.check('s-bob', 'token:bob')).toBe('ok');
    expect(stopped).toEqual(['token:alice']);
    expect([a1.destroyed, b1.destroyed]).toEqual([true, false]);
    expect(reports).toEqual([{ principal: 'token:alice', held: 1, cut: 1 }]);
    broker.close();
    await bobHeld;
  });
});
