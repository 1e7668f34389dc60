import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { startServe, type ServeProcess } from '../helpers/gov-serve.js';
import { until } from '../helpers/until.js';

const GITHUB_TOKEN = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * An upstream whose `stream` tool answers over SSE in two halves: the first event at once,
 * the rest only when the test releases it (after the client has dropped). Its own event ids
 * (`up-N`) must never reach the client, and no `Last-Event-ID` may reach it.
 */
async function startStreamingUpstream() {
  const seen: Array<{ method: string; lastEventId?: string | undefined }> = [];
  let pending: ServerResponse | undefined;
  let finished = false;
  const event = (n: number, message: unknown) => `id: up-${n}\ndata: ${JSON.stringify(message)}\n\n`;
  const note = (n: number) => ({
    jsonrpc: '2.0',
    method: 'notifications/message',
    params: { level: 'info', data: `step ${n} of 3, token ${GITHUB_TOKEN}` },
  });
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push({ method: req.method ?? '', lastEventId: req.headers['last-event-id'] as string | undefined });
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const msg = JSON.parse(body) as { id?: number; method?: string; params?: { protocolVersion?: string } };
      if (msg.id === undefined) return void res.writeHead(202).end();
      if (msg.method === 'initialize') {
        const result = {
          protocolVersion: msg.params?.protocolVersion,
          capabilities: { tools: {}, logging: {} },
          serverInfo: { name: 'streaming', version: '1' },
        };
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result }));
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(event(1, note(1)));
      pending = res;
      finished = false;
      res.once('finish', () => (finished = true));
      // The rest follows when released; stash how to write it.
      (res as ServerResponse & { rest?: () => void }).rest = () => {
        res.write(event(2, note(2)));
        res.write(event(3, note(3)));
        res.end(
          event(4, {
            jsonrpc: '2.0',
            id: msg.id,
            result: { content: [{ type: 'text', text: `done, token ${GITHUB_TOKEN}` }] },
          }),
        );
      };
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    seen,
    started: () => pending !== undefined,
    release: () => (pending as ServerResponse & { rest: () => void }).rest(),
    finished: () => finished,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A TCP relay between a client and gov serve whose connections the test can cut. */
async function startCuttableRelay(port: number) {
  const live = new Set<Socket>();
  /** Request heads the client sent (plain HTTP), for what it asked gov. */
  let sent = '';
  const server = createTcpServer((client) => {
    client.on('data', (d: Buffer) => (sent += d.toString('latin1')));
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      live.add(s);
      s.on('close', () => live.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent: () => sent,
    cut: () => {
      for (const s of live) s.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of live) s.destroy();
        server.close(() => r());
      }),
  };
}

interface Sse {
  id?: string;
  data: string;
}

function parseEvents(text: string): Sse[] {
  return text
    .split('\n\n')
    .filter((b) => b.trim() !== '')
    .map((block) => {
      const ev: Sse = { data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) ev.id = line.slice(4);
        if (line.startsWith('data: ')) ev.data += line.slice(6);
      }
      return ev;
    })
    .filter((ev) => ev.id !== undefined || ev.data !== '');
}

/**
 * Open an SSE request to gov serve; `stopAfter` events, destroy the connection (a dropped
 * stream) and resolve with what was read. Without `stopAfter`, read to the end.
 */
function sse(
  url: string,
  o: { method: 'POST' | 'GET'; token: string; body?: string; lastEventId?: string; stopAfter?: number },
): Promise<{ status: number; events: Sse[]; raw: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${o.token}`,
      ...(o.body ? { 'content-type': 'application/json' } : {}),
      ...(o.lastEventId ? { 'last-event-id': o.lastEventId } : {}),
    };
    const req = request(url, { method: o.method, headers }, (res) => {
      let raw = '';
      const done = () => resolve({ status: res.statusCode ?? 0, events: parseEvents(raw), raw });
      res.on('data', (d: Buffer) => {
        raw += d.toString();
        if (
          o.stopAfter !== undefined &&
          parseEvents(raw.slice(0, raw.lastIndexOf('\n\n') + 2)).length >= o.stopAfter
        ) {
          req.destroy();
          raw = raw.slice(0, raw.lastIndexOf('\n\n') + 2);
          done();
        }
      });
      res.on('end', done);
      res.on('error', () => undefined);
    });
    req.on('error', (err) => (o.stopAfter !== undefined ? undefined : reject(err)));
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
    req.end(o.body);
  });
}

describe('gov serve: SSE resumability (event ids, Last-Event-ID replay of governed events)', () => {
  let upstream: Awaited<ReturnType<typeof startStreamingUpstream>>;
  let home: string;
  let gov: ServeProcess;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    upstream = await startStreamingUpstream();
    home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(policy, 'version: 1\ndefault: allow\n');
    const add = async (name: string) => {
      const r = await runGov(['serve', 'token', 'add', name], { env: { GOV_HOME: home } });
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    alice = await add('alice');
    bob = await add('bob');
    gov = await startServe(
      ['--target', upstream.url, '--policy', policy, '--auth', 'bearer', '--sse-replay-max-events', '50'],
      // GOV_DEBUG: the test waits for gov's line saying it noticed the dropped stream.
      { GOV_HOME: home, GOV_DEBUG: '1' },
    );
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    await upstream?.close();
  });

  it('a dropped stream resumes with Last-Event-ID: the missed events exactly once, redacted, gov ids only', async () => {
    const call = JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'stream', arguments: {} },
    });
    // Priming event + the first notification; then the connection drops.
    const first = await sse(`${gov.url}/mcp`, { method: 'POST', token: alice, body: call, stopAfter: 2 });
    expect(first.status).toBe(200);
    expect(first.events).toHaveLength(2);
    const [priming, one] = first.events as [Sse, Sse];
    expect(priming.data).toBe('');
    expect(one.data).toContain('step 1 of 3');
    expect(one.data).not.toContain(GITHUB_TOKEN);
    const streamId = priming.id!.split('.')[0]!;
    expect(one.id).toBe(`${streamId}.1`);

    // The upstream goes on after the client left; gov keeps reading it into the replay buffer.
    // Release the rest only once gov has noticed the drop: it must not cancel the upstream.
    await until(upstream.started, 'upstream stream open');
    await until(() => gov.stderr().includes('lost its client'), 'gov noticing the dropped stream', 15_000);
    upstream.release();
    await until(upstream.finished, 'upstream stream finished');

    // Another principal cannot resume alice's stream: refused, nothing replayed or forwarded.
    const stolen = await sse(`${gov.url}/mcp`, { method: 'GET', token: bob, lastEventId: one.id! });
    expect(stolen.status).toBe(404);
    expect(stolen.raw).not.toContain('step 2');

    const resumed = await sse(`${gov.url}/mcp`, { method: 'GET', token: alice, lastEventId: one.id! });
    expect(resumed.status).toBe(200);
    const datas = resumed.events.map((e) => e.data);
    expect(datas).toHaveLength(3);
    expect(datas[0]).toContain('step 2 of 3');
    expect(datas[1]).toContain('step 3 of 3');
    expect(JSON.parse(datas[2]!)).toMatchObject({ id: 7, result: { content: [{ type: 'text' }] } });
    expect(resumed.events.map((e) => e.id)).toEqual([`${streamId}.2`, `${streamId}.3`, `${streamId}.4`]);
    // The replay is the governed bytes: redacted, and never the upstream's ids.
    expect(resumed.raw).not.toContain(GITHUB_TOKEN);
    expect(resumed.raw).toContain('[REDACTED:');
    expect(first.raw + resumed.raw).not.toContain('up-');

    // The upstream saw one POST and no resume attempt: replays come from gov's buffer.
    expect(upstream.seen).toEqual([{ method: 'POST', lastEventId: undefined }]);
  }, 60_000);

  it('the official SDK client resumes a cut stream through gov serve and gets each event once', async () => {
    const relay = await startCuttableRelay(Number(new URL(gov.url).port));
    const transport = new StreamableHTTPClientTransport(new URL(`${relay.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${alice}` } },
      reconnectionOptions: {
        initialReconnectionDelay: 50,
        maxReconnectionDelay: 500,
        reconnectionDelayGrowFactor: 2,
        maxRetries: 10,
      },
    });
    const client = new Client({ name: 'resuming-client', version: '1' });
    const notes: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      notes.push(String(n.params.data));
    });
    const drops = () => gov.stderr().split('lost its client').length;
    try {
      await client.connect(transport);
      const result = client.callTool({ name: 'stream', arguments: {} }, undefined, { timeout: 30_000 });
      await until(() => notes.length === 1, 'the first notification', 15_000);
      const before = drops();
      relay.cut();
      await until(() => drops() > before, 'gov noticing the cut stream', 15_000);
      upstream.release();
      const r = (await result) as { content: Array<{ text: string }> };
      expect(r.content[0]!.text).toContain('done, token [REDACTED:');
      expect(notes).toHaveLength(3);
      expect(notes.map((n) => n.slice(0, 11))).toEqual(['step 1 of 3', 'step 2 of 3', 'step 3 of 3']);
      expect(notes.join()).not.toContain(GITHUB_TOKEN);
      // The client did resume (a GET with gov's Last-Event-ID), and gov answered it from its buffer.
      expect(relay.sent()).toMatch(
        /GET \/mcp HTTP\/1\.1\r\n(?:[^\r\n]*\r\n)*?last-event-id: [0-9a-f]{32}\.1\r\n/i,
      );
      expect(upstream.seen.every((s) => s.lastEventId === undefined)).toBe(true);
    } finally {
      await client.close().catch(() => undefined);
      await relay.close();
    }
  }, 60_000);

  it('an id gov does not know opens a fresh stream upstream, without the Last-Event-ID', async () => {
    const before = upstream.seen.length;
    const r = await sse(`${gov.url}/mcp`, { method: 'GET', token: alice, lastEventId: 'up-3' });
    expect(r.status).toBe(405);
    expect(upstream.seen.slice(before)).toEqual([{ method: 'GET', lastEventId: undefined }]);
  }, 30_000);
});
