import { describe, expect, it } from 'vitest';
import { toEnvelope } from '../../src/mcp/envelope.js';
import { MAX_SCOPES, SessionTaint, taintScopeOf } from '../../src/pipeline/taint.js';
import type { EnvelopeContext } from '../../src/mcp/envelope.js';

const server = { name: 'pay', url: 'https://pay.example/mcp' };
const params = { name: 'write_file', arguments: {} };
const env = (ctx: Partial<EnvelopeContext>) =>
  toEnvelope(
    {
      kind: 'request',
      id: 1,
      method: 'tools/call',
      params,
      raw: { jsonrpc: '2.0', id: 1, method: 'tools/call', params },
    },
    { transport: 'gateway', server, ...ctx },
  );

describe('session taint scopes', () => {
  it('gov run and gov mcp wrap: one taint for the whole run', () => {
    const t = new SessionTaint();
    expect(t.add(env({ transport: 'http', sessionId: 'a' }), 'r.3')).toBe(true);
    expect(t.add(env({ transport: 'http', sessionId: 'a' }), 'r.3')).toBe(false);
    expect(t.sourcesFor(env({ transport: 'http', sessionId: 'b' }))).toEqual(['r.3']);
    expect(t.sourcesFor(env({ transport: 'stdio' }))).toEqual(['r.3']);
    expect(taintScopeOf(env({ transport: 'stdio' })).label).toBe('run');
  });

  it('gov serve: per Mcp-Session-Id, else per principal; one session never taints another', () => {
    const t = new SessionTaint();
    t.add(env({ sessionId: 's1', principal: 'token:alice' }), 'r.5');
    expect(t.sourcesFor(env({ sessionId: 's1', principal: 'token:alice' }))).toEqual(['r.5']);
    expect(t.sourcesFor(env({ sessionId: 's2', principal: 'token:alice' }))).toEqual([]);
    expect(t.sourcesFor(env({ principal: 'token:alice' }))).toEqual([]);
    t.add(env({ principal: 'token:ci' }), 'r.9');
    expect(t.sourcesFor(env({ principal: 'token:ci' }))).toEqual(['r.9']);
    expect(t.sourcesFor(env({ principal: 'token:bob' }))).toEqual([]);
    expect(taintScopeOf(env({ sessionId: 's1', route: '/a' })).label).toBe('gateway session s1 on /a');
    expect(taintScopeOf(env({ principal: 'token:ci' })).label).toBe('gateway principal token:ci');
  });

  it("gov serve: a session id is its route's and its principal's; another's same id shares nothing", () => {
    const t = new SessionTaint();
    t.add(env({ sessionId: '1', route: '/a', principal: 'token:alice' }), 'r.7');
    expect(t.sourcesFor(env({ sessionId: '1', route: '/a', principal: 'token:alice' }))).toEqual(['r.7']);
    expect(t.sourcesFor(env({ sessionId: '1', route: '/b', principal: 'token:alice' }))).toEqual([]);
    expect(t.sourcesFor(env({ sessionId: '1', route: '/a', principal: 'token:bob' }))).toEqual([]);
    expect(t.sourcesFor(env({ sessionId: '1', route: '/a' }))).toEqual([]);
    // Spellings that would join two parts into another's key stay apart.
    t.add(env({ sessionId: 'x', route: '/a', principal: 'p' }), 'r.8');
    expect(t.sourcesFor(env({ sessionId: 'x', route: '/a', principal: 'p:/a' }))).toEqual([]);
    expect(t.sourcesFor(env({ sessionId: '/a:x', principal: 'p' }))).toEqual([]);
  });

  it("gov serve: one client tainting many sessions forgets its own oldest, never another's", () => {
    const t = new SessionTaint();
    t.add(env({ sessionId: 'victim', route: '/a', principal: 'token:alice' }), 'r.1');
    t.add(env({ sessionId: '0', route: '/a', principal: 'token:mallory' }), 'm.0');
    for (let i = 1; i <= MAX_SCOPES; i++)
      t.add(env({ sessionId: String(i), route: '/a', principal: 'token:mallory' }), `m.${i}`);
    expect(t.sourcesFor(env({ sessionId: 'victim', route: '/a', principal: 'token:alice' }))).toEqual([
      'r.1',
    ]);
    expect(
      t.sourcesFor(env({ sessionId: String(MAX_SCOPES), route: '/a', principal: 'token:mallory' })),
    ).toEqual([`m.${MAX_SCOPES}`]);
    expect(t.sourcesFor(env({ sessionId: '0', route: '/a', principal: 'token:mallory' }))).toEqual([]);
  });
});
