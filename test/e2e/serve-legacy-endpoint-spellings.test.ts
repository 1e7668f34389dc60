/**
 * The 2024-11-05 HTTP+SSE transport under gov serve, against a client that respells its
 * session's endpoint. Express (what the official SDK's SSE examples run on) routes
 * `/MESSAGES`, `/messages/` and any extra or reordered query parameters to the `/messages`
 * handler: every spelling reaches the session, so gov must count it as the session's — or
 * another principal posts into it, an ended session takes calls, and strict mode's version
 * gate is walked around. What gov refused is proven by what the servers executed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { startServe, type ServeProcess } from '../helpers/gov-serve.js';
import { until } from '../helpers/until.js';

type Json = Record<string, unknown>;

/** An Express server on loopback: its port, the `echo` texts it executed, and a way to close it. */
interface ExpressServer {
  port: number;
  executed: string[];
  close(): Promise<void>;
}

/**
 * Serves `app` on a free loopback port; `onClose` ends its open streams first. In front of it,
 * path parameters come off each segment before routing, as Tomcat and Jetty do (and Spring):
 * `/messages;jsessionid=1` is `/messages`.
 */
async function listen(app: ReturnType<typeof createMcpExpressApp>, onClose: () => void) {
  const server = createServer((req, res) => {
    const q = (req.url ?? '/').indexOf('?');
    const [path, query] = q === -1 ? [req.url ?? '/', ''] : [req.url!.slice(0, q), req.url!.slice(q)];
    req.url = path.replace(/;[^/]*/g, '') + query;
    app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        onClose();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The official SDK's SSE server example: `GET /sse`, `POST /messages?sessionId=…`. */
async function startSdkExpressServer(): Promise<ExpressServer> {
  const executed: string[] = [];
  const transports = new Map<string, SSEServerTransport>();
  const app = createMcpExpressApp();
  app.get('/sse', async (_req: unknown, res: ServerResponse) => {
    const t = new SSEServerTransport('/messages', res);
    transports.set(t.sessionId, t);
    res.on('close', () => transports.delete(t.sessionId));
    const server = new McpServer({ name: 'express-sse', version: '1.0.0' });
    server.registerTool('echo', { inputSchema: { text: z.string() } }, ({ text }) => {
      executed.push(text);
      return { content: [{ type: 'text', text: `echo: ${text}` }] };
    });
    await server.connect(t);
  });
  app.post(
    '/messages',
    async (req: IncomingMessage & { query: Json; body: unknown }, res: ServerResponse) => {
      const t = transports.get(req.query['sessionId'] as string);
      if (t) await t.handlePostMessage(req, res, req.body);
      else res.writeHead(400).end('No transport found for sessionId');
    },
  );
  return { ...(await listen(app, () => transports.forEach((t) => void t.close()))), executed };
}

/**
 * A 2024-11-05 server on Express whose sessions outlive their streams (state kept for a
 * reconnect): once gov ends a session, only gov stands between a POST and its execution.
 */
async function startLastingSessionsServer(): Promise<ExpressServer> {
  const executed: string[] = [];
  const streams = new Map<string, ServerResponse | null>();
  const app = createMcpExpressApp();
  app.get('/sse', (_req: unknown, res: ServerResponse) => {
    const sid = randomUUID();
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(`event: endpoint\ndata: /messages?sessionId=${sid}\n\n`);
    streams.set(sid, res);
    res.on('close', () => streams.set(sid, null));
  });
  app.post('/messages', (req: { query: Json; body: Json }, res: ServerResponse) => {
    const sid = req.query['sessionId'] as string;
    if (!streams.has(sid)) return void res.writeHead(404).end();
    res.writeHead(202).end('Accepted');
    const msg = req.body;
    const params = (msg['params'] ?? {}) as Json;
    if (msg['method'] === 'tools/call') executed.push(String((params['arguments'] as Json)['text']));
    const result =
      msg['method'] === 'initialize'
        ? {
            protocolVersion: params['protocolVersion'],
            capabilities: {},
            serverInfo: { name: 'lasting', version: '1' },
          }
        : { content: [{ type: 'text', text: 'ran' }] };
    if ('id' in msg)
      streams
        .get(sid)
        ?.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: msg['id'], result })}\n\n`);
  });
  return { ...(await listen(app, () => streams.forEach((s) => s?.destroy()))), executed };
}

/** An SSE stream through gov: what arrived so far, and whether it ended. */
interface Stream {
  text(): string;
  ended(): boolean;
  close(): void;
}

function openStream(url: string, headers: Record<string, string>): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers: { accept: 'text/event-stream', ...headers }, signal: AbortSignal.timeout(30_000) },
      (res) => {
        let text = '';
        let ended = false;
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => (ended = true));
        res.on('error', () => undefined);
        resolve({ text: () => text, ended: () => ended, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function post(url: string, msg: Json, headers: Record<string, string> = {}) {
  const r = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(msg),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: r.status, text: await r.text() };
}

const init = (id: number, version: string): Json => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const initialized: Json = { jsonrpc: '2.0', method: 'notifications/initialized' };
const call = (id: number, name: string, text: string): Json => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: { text } },
});

/** The spellings of `/messages?sessionId=S` that the server routes to the session's handler. */
const respellings = (sid: string) => [
  `/messages;jsessionid=1?sessionId=${sid}`,
  `/Messages;x/?sessionId=${sid}`,
  `/MESSAGES?sessionId=${sid}`,
  `/messages/?sessionId=${sid}`,
  `/messages?sessionId=${sid}&x=1`,
  `/messages?x=1&sessionId=${sid}`,
  `/Messages/?x=1&sessionId=${sid}`,
];

/** A stream opened through gov, and its session id (from the endpoint it announced). */
async function openSession(govUrl: string, headers: Record<string, string> = {}) {
  const stream = await openStream(`${govUrl}/sse`, headers);
  await until(() => /sessionId=/.test(stream.text()), 'the endpoint event', 10_000);
  const sid = /data: \/messages\?sessionId=(\S+)/.exec(stream.text())![1]!;
  return { stream, sid, endpoint: `${govUrl}/messages?sessionId=${sid}` };
}

describe('gov serve, two principals: a legacy session is its principal’s in every spelling', () => {
  let server: ExpressServer;
  let gov: ServeProcess;
  let alice: Record<string, string>;
  let bob: Record<string, string>;

  beforeAll(async () => {
    server = await startSdkExpressServer();
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      'version: 1\ndefault: allow\nrules:\n  - id: no-boom\n    tool: boom\n    decision: deny\n    reason: boom is forbidden\n',
    );
    const bearer = async (name: string) => {
      const r = await runGov(['serve', 'token', 'add', name], { env: { GOV_HOME: home } });
      expect(r.code, r.stderr).toBe(0);
      return { authorization: `Bearer ${r.stdout.trim()}` };
    };
    alice = await bearer('alice');
    bob = await bearer('bob');
    gov = await startServe(
      ['--target', `http://127.0.0.1:${server.port}/`, '--policy', policy, '--auth', 'bearer'],
      { ...process.env, GOV_HOME: home },
    );
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    await server?.close();
  });

  /** Alice's initialized session on the SDK server. */
  const aliceSession = async () => {
    const s = await openSession(gov.url, alice);
    expect((await post(s.endpoint, init(1, '2024-11-05'), alice)).status).toBe(202);
    await until(() => s.stream.text().includes('"protocolVersion"'), 'the initialize result', 10_000);
    expect((await post(s.endpoint, initialized, alice)).status).toBe(202);
    return s;
  };

  it("bob cannot post into alice's session by respelling its endpoint", async () => {
    const { stream, sid, endpoint } = await aliceSession();
    try {
      const spellings = [
        ...respellings(sid),
        `/%6Dessages?sessionId=${sid}`,
        `/messages?sessionId=${sid}&sessionId=${sid}`,
        `/messages?sessionId=${sid}&sessionId=other`,
      ];
      const replies = [];
      for (const [i, spelling] of spellings.entries())
        replies.push(await post(gov.url + spelling, call(100 + i, 'echo', `bob-${i}`), bob));
      // Alice's own call runs: the session is live, and the server executes what reaches it.
      expect((await post(endpoint, call(2, 'echo', 'alice-own'), alice)).status).toBe(202);
      await until(() => server.executed.includes('alice-own'), "alice's call executed", 10_000);
      expect(
        server.executed.filter((t) => t.startsWith('bob-')),
        'the server executed bob’s calls in alice’s session',
      ).toEqual([]);
      for (const r of replies) expect(r.status, r.text).toBe(404);
      expect(stream.text()).not.toContain('bob-');
    } finally {
      stream.close();
    }
  }, 30_000);

  it("alice's respelled POSTs are her session's: denials and answers arrive on her stream", async () => {
    const { stream, sid } = await aliceSession();
    try {
      const [denyAt, callAt] = respellings(sid).slice(-2) as [string, string];
      const denied = await post(gov.url + denyAt, call(3, 'boom', 'x'), alice);
      expect(denied.status, denied.text).toBe(202);
      // A legacy client reads answers on its stream only: a denial in the POST's reply is lost.
      await until(() => stream.text().includes('boom is forbidden'), `POST answered ${denied.text}`, 10_000);
      expect((await post(gov.url + callAt, call(4, 'echo', 'alice-respelled'), alice)).status).toBe(202);
      await until(() => stream.text().includes('echo: alice-respelled'), 'the answer on the stream', 10_000);
      expect(server.executed).toContain('alice-respelled');
    } finally {
      stream.close();
    }
  }, 30_000);
});

describe('gov serve --protocol-version-mode strict: ended and gated legacy sessions in every spelling', () => {
  let server: ExpressServer;
  let gov: ServeProcess;
  const named = { 'mcp-protocol-version': '2025-06-18' };

  beforeAll(async () => {
    server = await startLastingSessionsServer();
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(policy, 'version: 1\ndefault: allow\n');
    gov = await startServe(
      [
        '--target',
        `http://127.0.0.1:${server.port}/`,
        '--policy',
        policy,
        '--protocol-version-mode',
        'strict',
        '--protocol-version',
        '2025-06-18',
      ],
      { ...process.env, GOV_HOME: home },
    );
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    await server?.close();
  });

  /** The server still runs calls in session `sid` when they reach it (here: straight, not through gov). */
  const stillRuns = async (sid: string, text: string) => {
    const direct = `http://127.0.0.1:${server.port}/messages?sessionId=${sid}`;
    expect((await post(direct, call(99, 'echo', text), named)).status).toBe(202);
    expect(server.executed).toContain(text);
  };

  it('a session gov ended takes nothing, however its endpoint is spelled', async () => {
    const { stream, sid, endpoint } = await openSession(gov.url);
    try {
      expect((await post(endpoint, init(1, '2024-11-05'))).status).toBe(202);
      await until(() => stream.ended(), 'gov ended the session (its version is not accepted)', 10_000);
      const replies = [];
      for (const [i, spelling] of respellings(sid).entries())
        replies.push(await post(gov.url + spelling, call(10 + i, 'echo', `after-end-${i}`), named));
      expect(server.executed.filter((t) => t.startsWith('after-end-'))).toEqual([]);
      for (const r of replies) expect(r.status, r.text).toBe(404);
      await stillRuns(sid, 'ended-direct');
    } finally {
      stream.close();
    }
  }, 30_000);

  it('a session with no accepted version yet takes only initialize, however its endpoint is spelled', async () => {
    const { stream, sid } = await openSession(gov.url);
    try {
      const replies = [];
      for (const [i, spelling] of respellings(sid).entries())
        replies.push(await post(gov.url + spelling, call(20 + i, 'echo', `ungated-${i}`), named));
      expect(server.executed.filter((t) => t.startsWith('ungated-'))).toEqual([]);
      for (const r of replies) {
        expect(r.status, r.text).toBe(400);
        expect(r.text).toContain('no accepted MCP protocol version yet');
      }
      await stillRuns(sid, 'gated-direct');
    } finally {
      stream.close();
    }
  }, 30_000);
});
