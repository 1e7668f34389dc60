import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import { testPipeline } from '../../helpers/test-pipeline.js';
import { startHandlerFront, type HandlerFront } from '../../helpers/handler-front.js';

// The HTTP transport on its own, without the proxy's CONNECT and TLS: a loopback server hands
// each request to createHttpHandler as an Exchange for a plain-HTTP upstream. What the
// upstream received is its own log, never what gov says.
const POLICY = `version: 1
default: deny
rules:
  - id: echoes
    tool: echo
    decision: allow
  - id: no-shell
    tool: shell_exec
    decision: deny
`;
const SECRET = 'ghp_' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2';

type Json = Record<string, unknown>;

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const c of req) text += String(c);
  return text;
}

describe('createHttpHandler', () => {
  const received: string[] = [];
  let upstream: Server;
  let front: HandlerFront;
  let frontUrl: string;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      void body(req).then((text) => {
        received.push(text);
        if (!text.startsWith('{') && !text.startsWith('[')) {
          res.writeHead(200, { 'content-type': 'text/plain' });
          return res.end(`plain: ${text}`);
        }
        const answer = (m: Json) => ({
          jsonrpc: '2.0',
          id: m['id'],
          result: { content: [{ type: 'text', text: `echo with ${SECRET}` }] },
        });
        const v = JSON.parse(text) as Json | Json[];
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(Array.isArray(v) ? v.map(answer) : answer(v)));
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const upPort = (upstream.address() as { port: number }).port;

    const { pipeline } = await testPipeline(POLICY);
    front = await startHandlerFront(upPort, { pipeline, bodyLimit: 64 * 1024 });
    frontUrl = `${front.origin}/mcp`;
  });
  afterAll(async () => {
    await front.close();
    upstream.close();
  });

  const post = async (payload: string, headers: Record<string, string> = {}) => {
    const r = await fetch(frontUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: payload,
    });
    return { status: r.status, text: await r.text() };
  };
  const call = (id: number, name: string) =>
    ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } }) as Json;

  it('answers a denied call itself; the upstream never receives it', async () => {
    const before = received.length;
    const r = await post(JSON.stringify(call(1, 'shell_exec')));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ id: 1, error: { code: -32003, data: { rule: 'no-shell' } } });
    expect(received.length).toBe(before);
  });

  it('forwards an allowed call and redacts the secret in its answer', async () => {
    const r = await post(JSON.stringify(call(2, 'echo')));
    expect(received.at(-1)).toContain('"echo"');
    expect(r.text).toContain('"id":2');
    expect(r.text).not.toContain(SECRET);
  });

  it('a batch: only the allowed element goes upstream; one body carries both answers', async () => {
    const r = await post(JSON.stringify([call(3, 'shell_exec'), call(4, 'echo')]));
    const sent = JSON.parse(received.at(-1)!) as Json[];
    expect(sent.map((m) => m['id'])).toEqual([4]);
    const answers = JSON.parse(r.text) as Json[];
    expect(answers.map((m) => m['id']).sort()).toEqual([3, 4]);
  });

  it('refuses malformed JSON-RPC, a header that disagrees with the body, and an oversized body', async () => {
    const before = received.length;
    const malformed = await post('{"jsonrpc":"2.0","id":5,"method":');
    expect(malformed.status).toBe(400);
    const mismatch = await post(JSON.stringify(call(6, 'echo')), { 'mcp-method': 'tools/list' });
    expect(mismatch.status).toBe(400);
    expect(JSON.parse(mismatch.text)).toMatchObject({ error: { code: -32020 } });
    const big = await post(JSON.stringify({ ...call(7, 'echo'), pad: 'x'.repeat(70 * 1024) }));
    expect(big.status).toBe(413);
    expect(received.length).toBe(before);
  });

  it('forwards a body that is not JSON-RPC unchanged', async () => {
    const r = await fetch(frontUrl, { method: 'POST', body: 'just text' });
    expect(await r.text()).toBe('plain: just text');
    expect(received.at(-1)).toBe('just text');
  });
});
