import { describe, expect, it } from 'vitest';
import { classifyBody } from '../../src/mcp/classify.js';
import { canonicalize, toEnvelope } from '../../src/mcp/envelope.js';
import type { JsonRpcMessage } from '../../src/types.js';
import { VERSIONS, enc, fixture } from './corpus.js';

const server = { name: 'weather', url: 'https://mcp.example.com/mcp' };
const ctx = { transport: 'http' as const, server };

function only(bytes: Uint8Array): Extract<JsonRpcMessage, { kind: 'request' | 'notification' }> {
  const r = classifyBody(bytes);
  if (r.kind !== 'mcp' || r.messages[0]!.kind === 'response') throw new Error('not a client message');
  return r.messages[0] as Extract<JsonRpcMessage, { kind: 'request' | 'notification' }>;
}

describe('canonicalize', () => {
  it('sorts keys recursively and keeps arrays in order', () => {
    const v = { b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } };
    expect(JSON.stringify(canonicalize(v))).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('keeps __proto__ as data', () => {
    const parsed = JSON.parse('{"__proto__":{"admin":true},"a":1}') as { a: number };
    const c = canonicalize(parsed) as Record<string, unknown>;
    expect(Object.keys(c)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(c)).toBe(Object.prototype);
  });
});

describe('toEnvelope', () => {
  for (const v of VERSIONS) {
    it(`${v}: tools/call → tool, canonical args, progress token`, () => {
      const env = toEnvelope(only(fixture(v, 'tools-call-request.json')), {
        ...ctx,
        protocolVersion: v,
        sessionId: 's1',
      });
      expect(env).toMatchObject({
        transport: 'http',
        server,
        method: 'tools/call',
        id: 2,
        tool: 'get_weather',
        progressToken: 'p-2',
        protocolVersion: v,
        sessionId: 's1',
      });
      expect(Object.keys(env.args)).toEqual(['city', 'units']);
      expect(env.uri).toBeUndefined();
    });

    it(`${v}: resources/read → uri; prompts/get → tool`, () => {
      const r = toEnvelope(only(fixture(v, 'resources-read-request.json')), ctx);
      expect(r).toMatchObject({ method: 'resources/read', uri: 'file:///projects/app/.env', args: {} });
      expect(r.tool).toBeUndefined();
      const p = toEnvelope(only(fixture(v, 'prompts-get-request.json')), ctx);
      expect(p).toMatchObject({
        method: 'prompts/get',
        id: 'prompt-5',
        tool: 'code_review',
        args: { code: 'print(1)' },
      });
    });

    it(`${v}: notifications have a null id`, () => {
      const n = toEnvelope(only(fixture(v, 'cancelled-notification.json')), ctx);
      expect(n).toMatchObject({ method: 'notifications/cancelled', id: null, args: {} });
    });
  }

  it('uses {} for missing or non-object arguments and ignores tool on other methods', () => {
    const e = toEnvelope(
      only(enc('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}')),
      ctx,
    );
    expect(e.args).toEqual({});
    const o = toEnvelope(
      only(enc('{"jsonrpc":"2.0","id":1,"method":"x/y","params":{"name":"t","uri":"u"}}')),
      ctx,
    );
    expect(o.tool).toBeUndefined();
    expect(o.uri).toBeUndefined();
  });

  it('takes resources/subscribe and unsubscribe uris', () => {
    for (const m of ['resources/subscribe', 'resources/unsubscribe']) {
      const e = toEnvelope(
        only(enc(`{"jsonrpc":"2.0","id":1,"method":"${m}","params":{"uri":"file:///a"}}`)),
        ctx,
      );
      expect(e.uri).toBe('file:///a');
    }
  });

  it('builds envelopes for the client messages of a batch', () => {
    const r = classifyBody(fixture('2025-03-26', 'batch-request.json'));
    if (r.kind !== 'mcp') throw new Error('expected mcp');
    expect(
      r.messages
        .flatMap((m) => (m.kind === 'response' ? [] : [toEnvelope(m, ctx)]))
        .map((e) => e.tool ?? e.method),
    ).toEqual(['get_weather', 'shell_exec', 'notifications/progress']);
  });
});
