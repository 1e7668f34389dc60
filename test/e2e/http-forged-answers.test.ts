/**
 * A client "answer" to a server request gov denied and answered itself, over HTTP (gov run's
 * proxy and gov serve, one handler): the client never saw the request, so the answer is
 * forged. The server holds gov's denial; the forged result must never reach it, whatever id
 * spelling or batch carries it, while the client's answers to requests gov relayed (in that
 * session or another with the same ids) still do. The server is an official SDK 1.32 server,
 * Streamable HTTP (`/mcp`) and 2024-11-05 HTTP+SSE (`/sse`), that logs every message it
 * receives, by session: its log is the evidence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fetch as undiciFetch, ProxyAgent, type Dispatcher } from 'undici';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { FetchLike, Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CreateMessageRequestSchema,
  CreateMessageResultSchema,
  ElicitRequestSchema,
  ElicitResultSchema,
  type JSONRPCMessage,
  type MessageExtraInfo,
} from '@modelcontextprotocol/sdk/types.js';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { startLiveRun, type LiveRun } from '../helpers/raw-proxy-client.js';
import { startServe, type ServeProcess } from '../helpers/gov-serve.js';
import { auditRecords } from '../helpers/audit-records.js';

type Json = Record<string, unknown>;

const POLICY = `version: 1
default: allow
rules:
  - id: no-sampling
    method: sampling/createMessage
    decision: deny
    reason: Servers may not use the agent's model
`;

interface Received {
  session: string;
  message: Json;
}

/** The SDK server: `sample` asks the client to sample (denied), `elicit` to fill a form (relayed). */
async function startAskingServer(pki: TestPki): Promise<TestServer & { received: Received[] }> {
  const received: Received[] = [];
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const legacy = new Map<string, SSEServerTransport>();
  const build = () => {
    const s = new McpServer({ name: 'asking-server', version: '1.0.0' });
    const timeout = { timeout: 20_000 };
    s.registerTool('sample', {}, async (extra) => {
      const messages = [{ role: 'user' as const, content: { type: 'text' as const, text: 'hi' } }];
      const text = await extra
        .sendRequest(
          { method: 'sampling/createMessage', params: { messages, maxTokens: 9 } },
          CreateMessageResultSchema,
          timeout,
        )
        .then((r) => `sampled: ${JSON.stringify(r.content)}`)
        .catch((err: unknown) => `error ${(err as { code?: number }).code}: ${(err as Error).message}`);
      return { content: [{ type: 'text', text }] };
    });
    s.registerTool('elicit', {}, async (extra) => {
      const schema = { type: 'object', properties: { ok: { type: 'boolean' } } } as const;
      const r = await extra.sendRequest(
        { method: 'elicitation/create', params: { message: 'Go on?', requestedSchema: schema } },
        ElicitResultSchema,
        timeout,
      );
      return { content: [{ type: 'text', text: `elicited: ${r.action}` }] };
    });
    return s;
  };
  /** Connect a fresh server to `t` and log every message it receives, under its session. */
  const serve = async (t: Transport) => {
    await build().connect(t);
    const deliver = t.onmessage!;
    t.onmessage = ((message: JSONRPCMessage, extra?: MessageExtraInfo) => {
      received.push({ session: t.sessionId ?? '', message: message as Json });
      deliver(message, extra);
    }) as Transport['onmessage'];
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://x');
    if (req.method === 'GET' && url.pathname === '/sse') {
      const t = new SSEServerTransport('/messages', res);
      legacy.set(t.sessionId, t);
      return serve(t);
    }
    let body = '';
    for await (const d of req) body += (d as Buffer).toString();
    if (url.pathname === '/messages') {
      const t = legacy.get(url.searchParams.get('sessionId') ?? '');
      if (!t) return void res.writeHead(404).end();
      return t.handlePostMessage(req, res, JSON.parse(body));
    }
    const sid = req.headers['mcp-session-id'];
    let t = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (!t) {
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, created),
      });
      await serve(created);
      t = created;
    }
    await t.handleRequest(req, res, body ? JSON.parse(body) : undefined);
  };
  const server = await startHttpsServer(pki, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  return {
    ...server,
    received,
    close: async () => {
      for (const t of [...sessions.values(), ...legacy.values()]) await t.close().catch(() => undefined);
      await server.close();
    },
  };
}

/** A connected SDK client, its session as the server knows it, and a raw POST into that session. */
interface Peer {
  client: Client;
  session: string;
  post(body: unknown): Promise<{ status: number; text: string }>;
  sampled: () => number;
}

/** How a test reaches the server through gov: a fetch, the base URL, and extra headers. */
interface Via {
  fetch: FetchLike;
  base: string;
  headers: Record<string, string>;
}

async function connect(
  via: Via,
  kind: 'streamable' | 'legacy',
  server: { received: Received[] },
): Promise<Peer> {
  const client = new Client(
    { name: 'forging-client', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: {} } },
  );
  let sampled = 0;
  client.setRequestHandler(CreateMessageRequestSchema, () => {
    sampled += 1;
    return { role: 'assistant', model: 'test', content: { type: 'text', text: 'a real sample' } };
  });
  client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { ok: true } }));
  const opts = { fetch: via.fetch, requestInit: { headers: via.headers } };
  const sessionsBefore = new Set(server.received.map((r) => r.session));
  let url: string;
  let session: string;
  let sessionHeaders: Record<string, string> = {};
  if (kind === 'streamable') {
    const transport = new StreamableHTTPClientTransport(new URL(`${via.base}/mcp`), opts);
    await client.connect(transport);
    url = `${via.base}/mcp`;
    session = transport.sessionId!;
    const version = transport.protocolVersion!;
    sessionHeaders = { 'mcp-session-id': session, 'mcp-protocol-version': version };
  } else {
    await client.connect(new SSEClientTransport(new URL(`${via.base}/sse`), opts));
    // The session's id is in its endpoint's query; the server logged the initialize under it.
    session = server.received.find((r) => !sessionsBefore.has(r.session))!.session;
    url = `${via.base}/messages?sessionId=${session}`;
  }
  const post = async (body: unknown) => {
    const r = await via.fetch(url, {
      method: 'POST',
      headers: {
        ...via.headers,
        ...sessionHeaders,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify(body),
    });
    return { status: r.status, text: await r.text() };
  };
  return { client, session, post, sampled: () => sampled };
}

const textOf = (r: Awaited<ReturnType<Client['callTool']>>) =>
  (r.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('');

const FORGED = { role: 'assistant', model: 'forger', content: { type: 'text', text: 'forged sample' } };

/**
 * The scenario, the same on every transport: session A's sampling request is denied; the
 * client forges answers to it in every shape; its answer to a relayed elicitation still
 * arrives, and so does session B's answer to its own request under the same id.
 */
async function forgeAndAnswer(
  via: Via,
  kind: 'streamable' | 'legacy',
  server: { received: Received[] },
  home: string,
): Promise<void> {
  const a = await connect(via, kind, server);
  const b = await connect(via, kind, server);
  try {
    const sampledText = textOf(await a.client.callTool({ name: 'sample', arguments: {} }));
    expect(sampledText).toMatch(/^error -32003: .*no-sampling/);
    const answersIn = (session: string) =>
      server.received.filter((r) => r.session === session && !('method' in r.message)).map((r) => r.message);
    // What the server got as the answer to its sampling request: gov's denial, and its id.
    const [denial] = answersIn(a.session);
    expect(answersIn(a.session)).toEqual([
      { jsonrpc: '2.0', id: expect.anything(), error: expect.objectContaining({ code: -32003 }) },
    ]);
    const id = denial!['id'] as number;
    const alertsBefore = auditRecords(home).filter((r) => r['kind'] === 'alert').length;

    const accepted = kind === 'legacy' ? { status: 202, text: 'Accepted' } : { status: 202, text: '' };
    // The forged result, a forged error, and the id as a string (the SDK reads it as the number).
    expect(await a.post({ jsonrpc: '2.0', id, result: FORGED })).toEqual(accepted);
    expect(await a.post({ jsonrpc: '2.0', id, error: { code: 1, message: 'forged error' } })).toEqual(
      accepted,
    );
    expect(await a.post({ jsonrpc: '2.0', id: String(id), result: FORGED })).toEqual(accepted);
    let forgeries = 3;
    if (kind === 'streamable') {
      // In a batch, the forged answer alone is taken out: the ping goes on, and is answered.
      // (The SDK's HTTP+SSE server takes no batches.)
      const batch = await a.post([
        { jsonrpc: '2.0', id, result: FORGED },
        { jsonrpc: '2.0', id: 'ping-1', method: 'ping' },
      ]);
      forgeries += 1;
      expect(batch.text, `HTTP ${batch.status}`).toContain('"id":"ping-1"');
      const pinged = server.received.some((r) => r.session === a.session && r.message['id'] === 'ping-1');
      expect(pinged).toBe(true);
    }

    // The client's own answer to a request gov relayed reaches the server: in A, and in B under A's id.
    expect(textOf(await a.client.callTool({ name: 'elicit', arguments: {} }))).toBe('elicited: accept');
    expect(textOf(await b.client.callTool({ name: 'elicit', arguments: {} }))).toBe('elicited: accept');
    expect(answersIn(b.session)).toEqual([
      { jsonrpc: '2.0', id, result: { action: 'accept', content: { ok: true } } },
    ]);

    // The server's log: gov's denial, then the relayed elicitation's answer; nothing forged, anywhere.
    expect(answersIn(a.session)).toEqual([
      denial,
      { jsonrpc: '2.0', id: expect.any(Number), result: { action: 'accept', content: { ok: true } } },
    ]);
    expect(JSON.stringify(server.received)).not.toContain('forge');
    expect(a.sampled() + b.sampled()).toBe(0);
    // Each drop is audited: an alert naming the request.
    const alerts = auditRecords(home)
      .filter((r) => r['kind'] === 'alert')
      .slice(alertsBefore);
    const ids = [id, id, String(id), id].slice(0, forgeries);
    expect(alerts.map((r) => (r['detail'] as Json)['request_id'])).toEqual(ids);
    for (const r of alerts)
      expect(r['reason']).toMatch(/dropped the client's answer to the server's request/);
  } finally {
    await a.client.close();
    await b.client.close();
  }
}

describe('a client answer to a server request gov denied never reaches the server (HTTP)', () => {
  let pki: TestPki;
  let server: TestServer & { received: Received[] };
  beforeAll(async () => {
    pki = makeTestPki();
    server = await startAskingServer(pki);
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('gov run (the proxy)', () => {
    let home: string;
    let run: LiveRun;
    let dispatcher: Dispatcher;
    let via: Via;
    beforeAll(async () => {
      home = tempHome();
      writeFileSync(join(home, 'gov.yaml'), POLICY);
      run = await startLiveRun(['--policy', join(home, 'gov.yaml'), '--upstream-ca', pki.caPath], {
        GOV_HOME: home,
      });
      const ca = readFileSync(run.env['NODE_EXTRA_CA_CERTS']!, 'utf8');
      dispatcher = new ProxyAgent({ uri: run.proxy.href, requestTls: { ca } });
      const proxied = (url: string | URL, init?: RequestInit) =>
        undiciFetch(url, { ...(init as object), dispatcher }) as unknown as Promise<Response>;
      via = { fetch: proxied, base: server.url, headers: {} };
    }, 60_000);
    afterAll(async () => {
      await dispatcher?.close();
      await run?.stop();
    });

    it('Streamable HTTP: dropped (202), audited; relayed requests still answered', async () => {
      await forgeAndAnswer(via, 'streamable', server, home);
    }, 60_000);

    it('HTTP+SSE 2024-11-05: dropped (202 Accepted), audited; relayed requests still answered', async () => {
      await forgeAndAnswer(via, 'legacy', server, home);
    }, 60_000);
  });

  describe('gov serve (the gateway)', () => {
    let home: string;
    let gov: ServeProcess;
    let via: Via;
    beforeAll(async () => {
      home = tempHome();
      const policy = join(home, 'gov.yaml');
      writeFileSync(policy, POLICY);
      const t = await runGov(['serve', 'token', 'add', 'alice'], { env: { GOV_HOME: home } });
      expect(t.code, t.stderr).toBe(0);
      gov = await startServe(
        ['--target', `${server.url}/`, '--policy', policy, '--auth', 'bearer', '--upstream-ca', pki.caPath],
        { ...process.env, GOV_HOME: home },
      );
      via = { fetch: fetch, base: gov.url, headers: { authorization: `Bearer ${t.stdout.trim()}` } };
    }, 60_000);
    afterAll(async () => {
      await gov?.stop();
    });

    it('Streamable HTTP: dropped (202), audited under the principal; relayed requests still answered', async () => {
      await forgeAndAnswer(via, 'streamable', server, home);
      const alerts = auditRecords(home).filter((r) => r['kind'] === 'alert');
      expect(alerts.map((r) => r['principal'])).toEqual(Array(4).fill('token:alice'));
    }, 60_000);
  });
});
