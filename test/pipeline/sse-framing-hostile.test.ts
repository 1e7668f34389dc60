/**
 * Adversarial SSE framing against the relay's fast paths (plain events forwarded as views of
 * the upstream's chunk, raw-text pass of unchanged data): every hostile stream is cut into
 * chunks at every byte and relayed; what the client gets is decoded as a browser or the MCP
 * TypeScript SDK does (TextDecoder over the stream, then eventsource-parser, then JSON.parse
 * per `message` event). No event may carry the token or a denied server request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { createParser } from 'eventsource-parser';
import { ServerMessageProcessor } from '../../src/pipeline/server-messages.js';
import { relaySse } from '../../src/transport/http/sse-relay.js';
import { testPipeline } from '../helpers/test-pipeline.js';
import type { Pipeline } from '../../src/pipeline.js';

const POLICY = `version: 1
default: allow
rules:
  - id: no-sampling
    method: sampling/createMessage
    decision: deny
    reason: no sampling here
`;
const TAIL = 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
const TOKEN = `ghp_${TAIL}`;
const note = (data: string) =>
  `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"${data}"}}`;
const SAMPLING =
  '{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{"messages":[],"maxTokens":1}}';

/** Hostile streams (as bytes). Each holds the token, escaped token or a denied request. */
const CASES: Record<string, Buffer> = {
  lf: Buffer.from(`data: ${note(TOKEN)}\n\n`),
  escaped: Buffer.from(`data: ${note(`\\u0067hp_${TAIL}`)}\n\n`),
  crlf: Buffer.from(`data: ${note('ok')}\r\n\r\ndata: ${note(TOKEN)}\r\n\r\n`),
  cr: Buffer.from(`data: ${note('ok')}\r\rdata: ${note(TOKEN)}\r\r`),
  'lone cr ends the line': Buffer.from(`data: ${note('ok')}\rdata: x\n\ndata: ${note(TOKEN)}\n\n`),
  'cr then lf across events': Buffer.from(`data: ${note('a')}\n\r\ndata: ${note(TOKEN)}\n\n`),
  bom: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`data: ${note(TOKEN)}\n\n`)]),
  'no space': Buffer.from(`data:${note(TOKEN)}\n\n`),
  'event other': Buffer.from(
    `event: notice\ndata: ${note(TOKEN)}\n\nevent: message\ndata: ${note(TOKEN)}\n\n`,
  ),
  'fields around': Buffer.from(`: c\nid: 7\nretry: 10\ndata: ${note(TOKEN)}\n\n`),
  'multi-byte next to token': Buffer.from(`data: ${note(`é€😀${TOKEN}😀`)}\n\n`),
  'invalid utf-8 next to token': Buffer.concat([
    Buffer.from(
      `data: ${note('x')}\n\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"data":"`,
    ),
    Buffer.from([0xc0, 0xa2, 0xed, 0xa0, 0x80, 0xf0, 0x9f]),
    Buffer.from(`${TOKEN}"}}\n\n`),
  ]),
  'sampling plain': Buffer.from(`data: ${SAMPLING}\n\n`),
  'sampling over two data lines': Buffer.from(
    `data: {"jsonrpc":"2.0","id":"s1","method":\ndata: "sampling/createMessage","params":{}}\n\n`,
  ),
  'sampling escaped': Buffer.from(`data: ${SAMPLING.replace('sampling/', 'sampling\\/')}\n\n`),
  'sampling after plain events': Buffer.from(
    `data: ${note('a')}\n\ndata: ${note('b')}\n\ndata: ${SAMPLING}\n\n`,
  ),
  'sampling with unknown field': Buffer.from(`data: ${note('a')}\n\nfoo: 1\ndata: ${SAMPLING}\n\n`),
  'blank-line storms': Buffer.from(`\n\n\r\n\rdata: ${note(TOKEN)}\n\n\n\n`),
};

/** What a client reads from the relayed bytes: the data of each `message` event. */
function clientEvents(bytes: Buffer): string[] {
  const out: string[] = [];
  const p = createParser({
    onEvent: (e) => {
      if (e.event === undefined || e.event === 'message') out.push(e.data);
    },
  });
  p.feed(new TextDecoder().decode(bytes));
  return out;
}

function leaks(data: string[]): string[] {
  const bad: string[] = [];
  for (const d of data) {
    if (d.includes(TOKEN)) bad.push(d);
    try {
      const v = JSON.stringify(JSON.parse(d));
      if (v.includes(TOKEN) || v.includes('"method":"sampling/createMessage"')) bad.push(d);
    } catch {
      /* not JSON */
    }
  }
  return bad;
}

describe('adversarial SSE framing: every chunking of hostile streams', () => {
  let pipeline: Pipeline;
  let server: Server;
  const queue: Buffer[][] = [];

  beforeAll(async () => {
    pipeline = (await testPipeline(POLICY)).pipeline;
    server = createServer((_req, res) => {
      const chunks = queue.shift()!;
      const body = new PassThrough();
      void relaySse({
        res,
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
        body,
        streamUrl: 'http://upstream.test/mcp',
        processor: new ServerMessageProcessor(pipeline, new Map(), {
          origin: { server: { name: 'up', url: 'http://upstream.test/mcp' }, transport: 'http' },
          answerServer: () => {},
        }),
        maxEventBytes: 1 << 16,
      });
      void (async () => {
        for (const c of chunks) {
          body.write(c);
          await new Promise((r) => setImmediate(r));
        }
        body.end();
      })();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterAll(() => {
    server.close();
  });

  async function relay(chunks: Buffer[]): Promise<Buffer> {
    queue.push(chunks);
    const { port } = server.address() as { port: number };
    const req = request({ host: '127.0.0.1', port, path: '/' });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    const parts: Buffer[] = [];
    for await (const c of res) parts.push(c as Buffer);
    return Buffer.concat(parts);
  }

  for (const [name, bytes] of Object.entries(CASES)) {
    it(`${name}: whole, one byte at a time, and cut at every byte`, async () => {
      const splits: Buffer[][] = [[bytes], [...bytes].map((b) => Buffer.from([b]))];
      for (let i = 1; i < bytes.length; i++) splits.push([bytes.subarray(0, i), bytes.subarray(i)]);
      const failures: string[] = [];
      for (const chunks of splits) {
        const out = await relay(chunks);
        const bad = leaks(clientEvents(out));
        if (bad.length) failures.push(`${chunks.length} chunks (${chunks[0]!.length}): ${bad[0]}`);
      }
      expect(failures.slice(0, 3)).toEqual([]);
      // The relay ran and rewrote: every run ends with the events the client reads.
      const whole = clientEvents(await relay([bytes]));
      expect(whole.length, name).toBeGreaterThan(0);
    });
  }
});
