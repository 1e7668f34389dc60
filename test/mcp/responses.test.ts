import { describe, expect, it } from 'vitest';
import { classifyBody } from '../../src/mcp/classify.js';
import { endpointFromEvent } from '../../src/mcp/legacy-sse.js';
import { filterToolsList, withheldStructuredResult, serverInfoOf } from '../../src/mcp/responses.js';
import { SseParser } from '../../src/mcp/sse.js';
import type { JsonRpcMessage, JsonValue } from '../../src/types.js';
import { VERSIONS, fixture } from './corpus.js';

function message(bytes: Uint8Array): JsonRpcMessage {
  const r = classifyBody(bytes);
  if (r.kind !== 'mcp') throw new Error('expected mcp');
  return r.messages[0]!;
}
const resultOf = (m: JsonRpcMessage): JsonValue => (m.kind === 'response' ? (m.result ?? null) : null);

describe('filterToolsList', () => {
  for (const v of VERSIONS) {
    it(`${v}: hides denied tools without touching the input`, () => {
      const msg = message(fixture(v, 'tools-list-response.json'));
      const before = JSON.stringify(msg.raw);
      const { result, removed } = filterToolsList(resultOf(msg), (n) => n.startsWith('shell'));
      expect(removed).toEqual(['shell_exec']);
      expect((result as { tools: { name: string }[] }).tools.map((t) => t.name)).toEqual([
        'get_weather',
        'write_file',
      ]);
      expect(JSON.stringify(msg.raw)).toBe(before);
    });
  }

  it('returns non-list results unchanged', () => {
    for (const r of [null, 1, 'x', [], {}, { tools: 'no' }] as JsonValue[])
      expect(filterToolsList(r, () => true)).toEqual({ result: r, removed: [] });
    const keep = { tools: [{ name: 1 }, 'x'], nextCursor: 'c' } as JsonValue;
    expect(filterToolsList(keep, () => true)).toEqual({ result: keep, removed: [] });
  });

  it('keeps other result members such as nextCursor', () => {
    const r = filterToolsList({ tools: [{ name: 'a' }, { name: 'b' }], nextCursor: 'c' }, (n) => n === 'a');
    expect(r.result).toEqual({ tools: [{ name: 'b' }], nextCursor: 'c' });
  });

  it('marks a filtered 2026 list private and immediately stale; an unfiltered one keeps its hints', () => {
    const list = {
      resultType: 'complete',
      tools: [{ name: 'a' }, { name: 'b' }],
      cacheScope: 'public',
      ttlMs: 60000,
    };
    expect(filterToolsList(list, (n) => n === 'a').result).toEqual({
      resultType: 'complete',
      tools: [{ name: 'b' }],
      cacheScope: 'private',
      ttlMs: 0,
    });
    expect(filterToolsList(list, () => false).result).toBe(list);
  });
});

describe('initialize results', () => {
  for (const v of VERSIONS.filter((x) => x !== '2026-07-28')) {
    it(`${v}: serverInfo`, () => {
      const msg = message(fixture(v, 'initialize-response.json'));
      expect(serverInfoOf(resultOf(msg))).toEqual({ name: 'example-server', version: '2.3.1' });
    });
  }
  it('null when absent or malformed', () => {
    expect(
      serverInfoOf({
        content: [],
        _meta: { 'io.modelcontextprotocol/serverInfo': { name: 's', version: '2' } },
      }),
    ).toEqual({ name: 's', version: '2' });
    expect(serverInfoOf(null)).toBeNull();
    expect(serverInfoOf({ serverInfo: { version: '1' } })).toBeNull();
  });
});

describe('legacy HTTP+SSE endpoint', () => {
  const stream = 'https://mcp.example.com/sse';
  it('resolves the corpus endpoint event against the stream URL', () => {
    const [ev] = new SseParser({ maxEventBytes: 4096 }).push(fixture('2024-11-05', 'endpoint-event.sse'));
    expect(endpointFromEvent(ev!, stream)).toBe(
      'https://mcp.example.com/messages?sessionId=3f6c1b2e-8a51-4f0e-9d1c-1f2e3d4c5b6a',
    );
  });

  it('handles absolute and relative forms, drops fragments, ignores other events', () => {
    const ev = (data: string, event = 'endpoint') => ({ event, data, comments: [] });
    expect(endpointFromEvent(ev('messages?s=1#frag'), 'http://h:8080/a/sse')).toBe(
      'http://h:8080/a/messages?s=1',
    );
    expect(endpointFromEvent(ev('https://other.example/post'), stream)).toBe('https://other.example/post');
    expect(endpointFromEvent(ev('/x', 'message'), stream)).toBeNull();
    expect(endpointFromEvent(ev('javascript:alert(1)'), stream)).toBeNull();
    expect(endpointFromEvent(ev(''), stream)).toBeNull();
  });
});

describe('withheldStructuredResult', () => {
  it('replaces a result whose structuredContent was redacted by an isError result, keeping _meta', () => {
    const original = { content: [], structuredContent: { token: 's' }, _meta: { a: 1 } };
    const redacted = { content: [], structuredContent: { token: '[REDACTED:x]' }, _meta: { a: 1 } };
    expect(withheldStructuredResult(original, redacted, ['x'])).toEqual({
      resultType: 'complete',
      content: [{ type: 'text', text: expect.stringMatching(/^gov withheld this tool result: .*\(x\)/) }],
      isError: true,
      _meta: { a: 1 },
    });
  });

  it('leaves results alone when structuredContent is absent or untouched', () => {
    const sc = { ok: true };
    expect(withheldStructuredResult({ content: [] }, { content: [1] }, ['x'])).toBeNull();
    expect(
      withheldStructuredResult({ structuredContent: sc }, { structuredContent: sc, content: [] }, []),
    ).toBeNull();
  });
});
