import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { gzipSync } from 'node:zlib';
import { createHttpHandler } from '../../../src/transport/http/http-handler.js';
import { Upstream } from '../../../src/transport/http/upstream.js';
import { testPipeline } from '../../helpers/test-pipeline.js';
import { makeTestPki } from '../../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../../helpers/https-server.js';
import { until } from '../../helpers/until.js';

// How the answer to a governed call comes back from the upstream: whole JSON (plain or
// gzip), an event stream, one too large to scan, one cut off, none (refused, untrusted
// certificate), and a client that leaves mid-call. What the upstream saw is its own log, never what gov says.
const POLICY = `version: 1
default: allow
`;
const SECRET = 'ghp_' + 'Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8';
const LIMIT = 64 * 1024;

type Json = Record<string, unknown>;

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const c of req) text += String(c);
  return text;
}

/** Poll a condition with a bounded deadline (no sleeps as synchronisation). */
describe('a governed call upstream and back', () => {
  /** Per tool name: whether the upstream's response closed before it was finished. */
  const closedEarly = new Map<string, boolean>();
  /** Tools whose call the upstream has begun answering. */
  const started = new Set<string>();
  let upstream: Server;
  let front: Server;
  let upPort: number;
  /** An HTTPS upstream whose CA gov does not trust. */
  let untrusted: TestServer;
  let gov: Upstream;
  /** What gov reports on its stderr about upstream failures (once per host). */
  const reported: string[] = [];
  let records: () => Record<string, unknown>[];

  const answer = (id: unknown, text: string) =>
    JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } });

  function respond(name: string, id: unknown, res: ServerResponse): void {
    started.add(name);
    res.on('close', () => closedEarly.set(name, !res.writableFinished));
    switch (name) {
      case 'gzipped':
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        return void res.end(gzipSync(answer(id, `zipped ${SECRET}`)));
      case 'pieces': {
        // Just under the limit, in many writes: the answer reaches gov in several chunks.
        const text = answer(id, 'y'.repeat(LIMIT - 1024));
        res.writeHead(200, { 'content-type': 'application/json' });
        const write = (at: number): void => {
          if (at >= text.length) return void res.end();
          res.write(text.slice(at, at + 4096));
          setImmediate(write, at + 4096);
        };
        return write(0);
      }
      case 'huge':
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(answer(id, 'x'.repeat(LIMIT * 2)));
      case 'cut':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"jsonrpc":"2.0","id":');
        return void setImmediate(() => res.socket?.destroy());
      case 'hang':
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.write('{"jsonrpc":"2.0",');
      case 'events':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return void res.end(`event: message\ndata: ${answer(id, `streamed ${SECRET}`)}\n\n`);
      case 'events-many': {
        // About 1 MB of progress events, then the answer: more than any buffer holds at once.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const note = (n: number) =>
          JSON.stringify({
            jsonrpc: '2.0',
            method: 'notifications/message',
            params: { level: 'info', data: `${n} ${'z'.repeat(2000)}` },
          });
        for (let n = 0; n < 500; n++) res.write(`event: message\ndata: ${note(n)}\n\n`);
        return void res.end(`event: message\ndata: ${answer(id, 'done')}\n\n`);
      }
      case 'events-hang':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return void res.write(': open\n\n');
      case 'silent':
        // Not even the head of an answer.
        return;
      default:
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(answer(id, `echo ${SECRET}`));
    }
  }

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      void body(req).then((text) => {
        const m = JSON.parse(text) as Json;
        respond(String((m['params'] as Json)['name']), m['id'], res);
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    upPort = (upstream.address() as { port: number }).port;

    const t = await testPipeline(POLICY);
    records = t.records;
    untrusted = await startHttpsServer(makeTestPki(), (_req, res) => res.end('{}'));
    gov = new Upstream({ onFirstFailure: (m) => reported.push(m) });
    const handler = createHttpHandler({ pipeline: t.pipeline, upstream: gov, responseLimit: LIMIT });
    front = createServer((req, res) => {
      const path = req.url ?? '/';
      const port = path.startsWith('/refused') ? 1 : path.startsWith('/tls') ? untrusted.port : upPort;
      void handler({
        req,
        res,
        target: { scheme: path.startsWith('/tls') ? 'https' : 'http', host: '127.0.0.1', port },
        path,
        url: `http://127.0.0.1:${port}${path}`,
      });
    });
    front.listen(0, '127.0.0.1');
    await once(front, 'listening');
  });
  afterAll(async () => {
    await gov.close();
    await untrusted.close();
    front.close();
    upstream.close();
  });

  const post = async (name: string, id: number, o: { path?: string; signal?: AbortSignal } = {}) => {
    const port = (front.address() as { port: number }).port;
    const r = await fetch(`http://127.0.0.1:${port}${o.path ?? '/mcp'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } }),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
  };
  /** The audited outcome of the call to `tool` (the record that points back to its call). */
  const outcomeOf = (tool: string) =>
    records().find(
      (r) => r['tool'] === tool && (r['detail'] as Json | undefined)?.['call_id'] !== undefined,
    )?.['status'];

  it('a JSON answer, plain or gzip, comes back scanned', async () => {
    const plain = await post('plain', 1);
    expect(plain.status).toBe(200);
    expect(JSON.parse(plain.text)).toMatchObject({ id: 1, result: { content: [{ type: 'text' }] } });
    expect(plain.text).toContain('echo ');
    expect(plain.text).not.toContain(SECRET);
    const zipped = await post('gzipped', 2);
    expect(zipped.status).toBe(200);
    expect(zipped.text).toContain('zipped ');
    expect(zipped.text).not.toContain(SECRET);
  });

  it('an answer in many chunks, just under the limit, arrives whole', async () => {
    const r = await post('pieces', 13);
    expect(r.status).toBe(200);
    const v = JSON.parse(r.text) as { id: number; result: { content: Array<{ text: string }> } };
    expect(v.id).toBe(13);
    expect(v.result.content[0]!.text).toBe('y'.repeat(LIMIT - 1024));
  });

  it('an event stream is relayed, scanned', async () => {
    const r = await post('events', 3);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/event-stream/);
    expect(r.text).toContain('streamed ');
    expect(r.text).not.toContain(SECRET);
  });

  it('a long event stream arrives whole and in order', async () => {
    const r = await post('events-many', 14);
    expect(r.status).toBe(200);
    const data = r.text.split('\n').filter((l) => l.startsWith('data: '));
    expect(data).toHaveLength(501);
    expect(data.slice(0, 500).map((l) => Number(/"data":"(\d+) /.exec(l)?.[1]))).toEqual([
      ...Array(500).keys(),
    ]);
    expect(data[500]).toContain('"id":14');
  });

  it('an answer larger than the limit is refused with a JSON-RPC error, and gov keeps serving', async () => {
    const r = await post('huge', 4);
    expect(r.status).toBe(502);
    expect(JSON.parse(r.text)).toMatchObject({
      error: { code: -32603, message: expect.stringContaining(`larger than ${LIMIT} bytes`) },
    });
    expect((await post('plain', 5)).status).toBe(200);
  });

  it('an answer cut off mid-body is refused, not passed on', async () => {
    const r = await post('cut', 6);
    expect(r.status).toBe(502);
    expect(JSON.parse(r.text)).toMatchObject({ error: { code: -32603 } });
  });

  it('a refused connection is a 502 that names the upstream', async () => {
    const r = await post('plain', 7, { path: '/refused' });
    expect(r.status).toBe(502);
    expect(r.text).toBe('gov: upstream 127.0.0.1:1 refused the connection\n');
  });

  it('an untrusted certificate is a 502 that says how to trust it; each failing host is reported once', async () => {
    for (const id of [10, 11]) {
      const r = await post('plain', id, { path: '/tls' });
      expect(r.status).toBe(502);
      expect(r.text).toMatch(
        new RegExp(
          `^gov: upstream TLS verification failed for 127\\.0\\.0\\.1:${untrusted.port}: .* — trust its CA with --upstream-ca FILE\n$`,
        ),
      );
    }
    expect((await post('plain', 12, { path: '/refused' })).status).toBe(502);
    expect(
      reported.filter((m) => m.includes(`TLS verification failed for 127.0.0.1:${untrusted.port}`)),
    ).toHaveLength(1);
    expect(reported.filter((m) => m === 'upstream 127.0.0.1:1 refused the connection')).toHaveLength(1);
  });

  it('a client leaving mid-call closes the upstream request, JSON or event stream alike', async () => {
    for (const [name, id] of [
      ['hang', 8],
      ['events-hang', 9],
      ['silent', 15],
    ] as const) {
      const ac = new AbortController();
      const pending = post(name, id, { signal: ac.signal }).catch((e: unknown) => e);
      // The upstream has the request and has begun answering: then the client goes away.
      await until(() => started.has(name), `${name} started`);
      ac.abort();
      await pending;
      await until(() => closedEarly.get(name) === true, `${name} closed upstream`);
      await until(() => outcomeOf(name) !== undefined, `${name} outcome`);
      expect(outcomeOf(name)).toBe('cancelled');
    }
    // A client that gave up is not a failure to reach the upstream: nothing on gov's stderr.
    expect(reported.filter((m) => m.includes(`:${upPort}`))).toEqual([]);
  });
});
