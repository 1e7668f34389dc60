import { describe, expect, it } from 'vitest';
import { toEnvelope, type EnvelopeContext } from '../../src/mcp/envelope.js';
import { grantScope } from '../../src/pipeline/approval-step.js';

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
    { transport: 'gateway', server: { name: 'files', url: 'http://h/mcp' }, ...ctx },
  );

describe('grantScope: whose calls an approval "for the rest of the run" covers', () => {
  it('gov serve --auth none: one session on one route; the same id on another route is another client', () => {
    expect(grantScope(env({ sessionId: '1', route: '/a' }))).toBe(
      grantScope(env({ sessionId: '1', route: '/a' })),
    );
    expect(grantScope(env({ sessionId: '1', route: '/a' }))).not.toBe(
      grantScope(env({ sessionId: '1', route: '/b' })),
    );
    expect(grantScope(env({ route: '/a' }))).toBeNull();
  });

  it('an authenticated client: its principal; gov run: the one agent', () => {
    expect(grantScope(env({ sessionId: '1', route: '/a', principal: 'token:ci' }))).toBe('token:ci');
    expect(grantScope(env({ transport: 'http', sessionId: '1' }))).toBe('');
  });
});
