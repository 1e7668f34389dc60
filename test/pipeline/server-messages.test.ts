import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ServerMessageProcessor } from '../../src/pipeline/server-messages.js';
import { testPipeline } from '../helpers/test-pipeline.js';

const POLICY = `version: 1
servers:
  pay: https://pay.example/*
rules:
  - id: no-roots
    server: pay
    method: roots/list
    decision: deny
    reason: Roots stay private
  - id: ask-sampling
    method: sampling/createMessage
    decision: approve
`;

async function build() {
  const { pipeline, audit } = await testPipeline(POLICY);
  const toServer: unknown[] = [];
  const relayed: unknown[] = [];
  const processor = new ServerMessageProcessor(pipeline, new Map(), {
    origin: { server: { name: 'pay', url: 'https://pay.example/mcp' }, transport: 'http' },
    answerServer: (m) => toServer.push(m),
    relayedRequest: (id) => relayed.push(id),
  });
  // Server-request records are appended without waiting: poll for the one wanted.
  const recordFor = async (method: string) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = readFileSync(audit.path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((r) => r['method'] === method);
      if (found || Date.now() > deadline) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { processor, recordFor, toServer, relayed };
}

describe('ServerMessageProcessor: server-initiated requests under policy', () => {
  it('replaces a denied 2025-era request in a stream by a warning notification, and records it', async () => {
    const { processor, recordFor, toServer } = await build();
    const out = processor.processText('{"jsonrpc":"2.0","id":"s1","method":"roots/list"}');
    // The server gets the denial as the answer to its request.
    expect(toServer).toEqual([
      expect.objectContaining({
        id: 's1',
        error: expect.objectContaining({ data: expect.objectContaining({ rule: 'no-roots' }) }),
      }),
    ]);
    expect(JSON.parse(out!)).toMatchObject({
      method: 'notifications/message',
      params: { level: 'warning', data: expect.stringContaining('Roots stay private (rule no-roots)') },
    });
    const rec = await recordFor('roots/list');
    expect(rec).toMatchObject({
      decision: 'deny',
      rule: 'no-roots',
      detail: { direction: 'server-to-client' },
    });
  });

  it('tells which requests it relayed to the client (not denied ones, notifications or answers)', async () => {
    const { processor, toServer, relayed } = await build();
    processor.processText('{"jsonrpc":"2.0","id":7,"method":"roots/list"}');
    processor.processText(
      '[{"jsonrpc":"2.0","id":7,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"}]',
    );
    processor.processText(
      '{"jsonrpc":"2.0","id":"8","method":"elicitation/create","params":{"message":"m"}}',
    );
    processor.processText('{"jsonrpc":"2.0","id":9,"result":{}}');
    expect(toServer).toEqual([expect.objectContaining({ id: 7 })]);
    expect(relayed).toEqual([7, '8']);
  });

  it('passes an allowed request unchanged; an approve rule denies (nobody can approve it in flight)', async () => {
    const { processor } = await build();
    const form = {
      jsonrpc: '2.0',
      id: 's2',
      method: 'elicitation/create',
      params: {
        message: 'm',
        requestedSchema: { type: 'object', properties: { email: { type: 'string' } } },
      },
    };
    expect(processor.processText(JSON.stringify(form))).toBeNull();
    const sampling = processor.processText(
      '{"jsonrpc":"2.0","id":"s3","method":"sampling/createMessage","params":{}}',
    );
    expect(sampling).toContain('cannot be held for approval');
  });
});

describe('ServerMessageProcessor: rewriting only what was redacted', () => {
  const TOKEN = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
  const log = (n: number) =>
    Array.from({ length: n }, (_, i) => (i % 50 === 7 ? `warn token=${TOKEN}\n` : `line ${i} "ok"\n`)).join(
      '',
    );

  async function processor() {
    const { pipeline } = await testPipeline('version: 1\ndefault: allow\n');
    return new ServerMessageProcessor(pipeline, new Map());
  }

  it('keeps the upstream text of a large result and replaces only the secrets in it', async () => {
    const p = await processor();
    const text = `{ "jsonrpc": "2.0", "id": 7, "result": { "content": [ { "type": "text", "text": ${JSON.stringify(log(2000))} } ] } }`;
    const edits = p.rewrite(text);
    expect(Array.isArray(edits)).toBe(true);
    const out = p.processText(text)!;
    expect(out).not.toContain(TOKEN);
    expect(out.startsWith('{ "jsonrpc": "2.0", "id": 7, "result": {')).toBe(true);
    const expected = JSON.parse(text) as { result: { content: { text: string }[] } };
    expected.result.content[0]!.text = expected.result.content[0]!.text.replaceAll(
      TOKEN,
      '[REDACTED:github-token]',
    );
    expect(JSON.parse(out)).toEqual(expected);
  });

  it('still withholds a result whose structuredContent held a secret (a structural change)', async () => {
    const p = await processor();
    const text = JSON.stringify({
      jsonrpc: '2.0',
      id: 8,
      result: { content: [{ type: 'text', text: log(200) }], structuredContent: { token: TOKEN } },
    });
    expect(typeof p.rewrite(text)).toBe('string');
    const out = JSON.parse(p.processText(text)!) as { result: Record<string, unknown> };
    expect(out.result['isError']).toBe(true);
    expect(out.result['structuredContent']).toBeUndefined();
    expect(JSON.stringify(out)).not.toContain(TOKEN);
  });

  it('serialises again a message that repeats a key, so the copy JSON.parse dropped never reaches the client', async () => {
    const p = await processor();
    const text = `{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"${TOKEN}"}]},"result":{"content":[{"type":"text","text":"${TOKEN} ${'x'.repeat(5000)}"}]}}`;
    const out = p.processText(text)!;
    expect(out).not.toContain(TOKEN);
    expect(out.match(/"result"/g)).toHaveLength(1);
  });
});

describe('ServerMessageProcessor: a message that repeats a key', () => {
  it('is re-serialised even when nothing in the kept copy changed (the dropped copy was never scanned)', async () => {
    const { pipeline } = await testPipeline('version: 1\ndefault: allow\n');
    const p = new ServerMessageProcessor(pipeline, new Map());
    const token = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
    const text = `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"${token}"}]},"result":{"content":[]}}`;
    expect(JSON.parse(p.processText(text)!)).toEqual({ jsonrpc: '2.0', id: 1, result: { content: [] } });
    // Without a repeated key, unchanged text still passes as it is.
    expect(
      p.processText('{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"a\\nb"}]}}'),
    ).toBeNull();
  });

  it("withholds a message that starts like JSON but is none (a lenient client reads NaN): gov's error instead", async () => {
    const { processor } = await build();
    // With a backslash it cannot pass on its raw text; a message needing no work still would.
    const text = '{"jsonrpc":"2.0","method":"notifications/message","params":{"data":NaN,"t":"\\u0067hp_x"}}';
    expect(JSON.parse(processor.processText(text)!)).toMatchObject({ id: null, error: { code: -32603 } });
  });

  it('drops a leading BOM, as fetch and Python do, and scans what follows', async () => {
    const { processor } = await build();
    const out = processor.processText(
      '\ufeff{"jsonrpc":"2.0","method":"sampling/createMessage","id":"s","params":{}}',
    );
    expect(out!.charCodeAt(0)).toBe(0x7b);
    expect(out).not.toContain('"method":"sampling/createMessage"');
  });
});
