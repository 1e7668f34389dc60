import { afterEach, describe, expect, it } from 'vitest';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { ServerMessageProcessor } from '../../../src/pipeline/server-messages.js';
import { relaySse, type SseRelayOptions } from '../../../src/transport/http/sse-relay.js';
import { testPipeline } from '../../helpers/test-pipeline.js';

// The SSE relay on its own: an upstream body (a stream the test writes) relayed to a real
// client over loopback HTTP, event by event, scanned on the way.
const SECRET = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function processor(): Promise<ServerMessageProcessor> {
  const { pipeline } = await testPipeline('version: 1\ndefault: allow\n');
  return new ServerMessageProcessor(pipeline, new Map());
}

/** Serve one relayed stream; returns the client's response. */
async function relayed(
  body: PassThrough,
  extra: Partial<SseRelayOptions> = {},
): Promise<{ client: IncomingMessage }> {
  const p = await processor();
  const server = createServer((_req, res: ServerResponse) => {
    void relaySse({
      res,
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      body,
      streamUrl: 'http://upstream.test/mcp',
      processor: p,
      maxEventBytes: 1024,
      ...extra,
    });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const req = request({ host: '127.0.0.1', port, path: '/' });
  req.end();
  const [client] = (await once(req, 'response')) as [IncomingMessage];
  client.setEncoding('utf8');
  return { client };
}

const event = (data: unknown) => `event: message\ndata: ${JSON.stringify(data)}\n\n`;
const nextChunk = async (client: IncomingMessage) => String((await once(client, 'data'))[0]);
const rest = async (client: IncomingMessage) => {
  let text = '';
  for await (const c of client) text += String(c);
  return text;
};

describe('relaySse', () => {
  it('relays each event as it completes, before the upstream stream ends', async () => {
    const body = new PassThrough();
    const { client } = await relayed(body);
    body.write(event({ jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } }));
    expect(await nextChunk(client)).toContain('"progress":1');
    body.end(event({ jsonrpc: '2.0', id: 1, result: {} }));
    expect(await rest(client)).toContain('"id":1');
  });

  it('sees a secret split across chunks whole, and redacts it', async () => {
    const body = new PassThrough();
    const { client } = await relayed(body);
    const text = event({ jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: SECRET }] } });
    const cut = text.indexOf(SECRET) + 10;
    body.write(text.slice(0, cut));
    body.end(text.slice(cut));
    const out = await rest(client);
    expect(out).not.toContain(SECRET);
    expect(out).toContain('"id":2');
  });

  it('relays many events in tiny chunks whole and in order; an escaped secret among them is redacted', async () => {
    const body = new PassThrough();
    const { client } = await relayed(body);
    const note = (seq: number, data: string) =>
      event({
        jsonrpc: '2.0',
        method: 'notifications/message',
        params: { level: 'info', data: `${seq} ${data}` },
      });
    // JSON escapes hide the token from a raw-text scan: this event must take the full path.
    const hidden = note(500, 'x').replace('x', `\\u0067hp_${SECRET.slice(4)}`);
    let text = '';
    for (let i = 0; i < 1000; i++) text += i === 500 ? hidden : note(i, 'bench event payload');
    for (let i = 0; i < text.length; i += 7) body.write(text.slice(i, i + 7));
    body.end();
    const out = await rest(client);
    const seqs = [...out.matchAll(/"data":"(\d+) /g)].map((m) => Number(m[1]));
    expect(seqs).toEqual([...Array(1000).keys()]);
    expect(out).not.toContain(SECRET.slice(4));
    expect(out).toContain('"data":"500 [REDACTED:github-token]"');
  });

  it('passes plain events as the upstream wrote them, in one write per batch; others are re-formatted', async () => {
    const body = new PassThrough();
    const { client } = await relayed(body);
    const notes = Array.from({ length: 50 }, (_, i) =>
      event({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: `n${i}` } }),
    ).join('');
    // Unknown fields and comments never go out as they came (a client ignores them, gov drops
    // them); a secret in a plain event is redacted all the same.
    const odd = `data:{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"x"}}\nfoo: ${SECRET}\n\n`;
    const leak = event({ jsonrpc: '2.0', method: 'notifications/message', params: { data: SECRET } });
    body.end(notes + odd + leak);
    const out = await rest(client);
    expect(out.startsWith(notes)).toBe(true);
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain('foo');
    expect(out).toContain('"data":"x"');
    expect(out).toContain('[REDACTED:github-token]');
  });

  it('undoes a gzip Content-Encoding before scanning', async () => {
    const body = new PassThrough();
    const { client } = await relayed(body, { contentEncoding: 'gzip' });
    body.end(gzipSync(event({ jsonrpc: '2.0', id: 3, result: { note: SECRET } })));
    const out = await rest(client);
    expect(out).toContain('"id":3');
    expect(out).not.toContain(SECRET);
  });

  it('ends the stream rather than pass an event too large to scan', async () => {
    const body = new PassThrough();
    const { client } = await relayed(body);
    body.write(`data: ${'x'.repeat(4096)}`);
    const out = await rest(client);
    expect(out).toMatch(/^: gov closed the stream: /m);
    expect(out).not.toContain('xxxx');
    expect(body.destroyed).toBe(true);
  });

  it("a time limit ends the stream with gov's own answers as the last events", async () => {
    const body = new PassThrough();
    const ac = new AbortController();
    const answer = { jsonrpc: '2.0' as const, id: 4, error: { code: -32001, message: 'Timed out by gov' } };
    const { client } = await relayed(body, { cut: { signal: ac.signal, answers: () => [answer] } });
    body.write(event({ jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } }));
    await nextChunk(client);
    ac.abort();
    const out = await rest(client);
    expect(out).toContain('Timed out by gov');
    expect(body.destroyed).toBe(true);
  });
});
