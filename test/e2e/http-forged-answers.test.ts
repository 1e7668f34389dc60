/**
 * A client "answer" to a server request it was never shown, over HTTP (gov run's proxy and gov
 * serve, one handler): to one gov denied and answered itself, to one the server has not sent
 * yet (SDK servers number their requests 0, 1, 2…: the next id is a guess away), or a second
 * answer to one it was shown. Such an answer is forged: it must never reach the server,
 * whatever id spelling or batch carries it, while the client's answers to requests gov relayed
 * (in that session or another with the same ids) still do. The server is an official SDK 1.32 server,
 * Streamable HTTP (`/mcp`) and 2024-11-05 HTTP+SSE (`/sse`), that logs every message it
 * receives, by session: its log is the evidence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetch as undiciFetch, ProxyAgent, type Dispatcher } from 'undici';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startAskingServer, type AskingServer, type Received } from '../helpers/asking-sdk-server.js';
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
    { capabilities: { sampling: {}, elicitation: {}, roots: {} } },
  );
  let sampled = 0;
  client.setRequestHandler(CreateMessageRequestSchema, () => {
    sampled += 1;
    return { role: 'assistant', model: 'test', content: { type: 'text', text: 'a real sample' } };
  });
  client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { ok: true } }));
  client.setRequestHandler(ListRootsRequestSchema, () => ({
    roots: [{ uri: 'file:///work', name: 'work' }],
  }));
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
 * client forges answers to it in every shape, and one to the server's next request before the
 * server sends it; its answer to that request (a relayed elicitation) still arrives, once, and
 * so does session B's answer to its own request under the same id.
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
    const forged: unknown[] = [id, id, String(id)];
    if (kind === 'streamable') {
      // In a batch, the forged answer alone is taken out: the ping goes on, and is answered.
      // (The SDK's HTTP+SSE server takes no batches.)
      const batch = await a.post([
        { jsonrpc: '2.0', id, result: FORGED },
        { jsonrpc: '2.0', id: 'ping-1', method: 'ping' },
      ]);
      forged.push(id);
      expect(batch.text, `HTTP ${batch.status}`).toContain('"id":"ping-1"');
      const pinged = server.received.some((r) => r.session === a.session && r.message['id'] === 'ping-1');
      expect(pinged).toBe(true);
    }

    // An answer to the server's next request, before the server sends it: a guess, dropped.
    const next = id + 1;
    const early = { action: 'decline', _meta: { by: 'forger' } };
    expect(await a.post({ jsonrpc: '2.0', id: next, result: early })).toEqual(accepted);
    forged.push(next);

    // The client's own answer to a request gov relayed reaches the server: in A, and in B under A's id.
    expect(textOf(await a.client.callTool({ name: 'elicit', arguments: {} }))).toBe('elicited: accept');
    // It answered that request: a second answer is not awaited.
    expect(await a.post({ jsonrpc: '2.0', id: next, result: early })).toEqual(accepted);
    forged.push(next);
    expect(textOf(await b.client.callTool({ name: 'elicit', arguments: {} }))).toBe('elicited: accept');
    expect(answersIn(b.session)).toEqual([
      { jsonrpc: '2.0', id, result: { action: 'accept', content: { ok: true } } },
    ]);

    // The server's log: gov's denial, then the relayed elicitation's answer; nothing forged, anywhere.
    expect(answersIn(a.session)).toEqual([
      denial,
      { jsonrpc: '2.0', id: next, result: { action: 'accept', content: { ok: true } } },
    ]);
    expect(JSON.stringify(server.received)).not.toContain('forge');
    expect(a.sampled() + b.sampled()).toBe(0);
    // Each drop is audited: an alert naming the request.
    const alerts = auditRecords(home)
      .filter((r) => r['kind'] === 'alert')
      .slice(alertsBefore);
    expect(alerts.map((r) => (r['detail'] as Json)['request_id'])).toEqual(forged);
    for (const r of alerts)
      expect(r['reason']).toMatch(/dropped the client's answer to the server's request/);
  } finally {
    await a.client.close();
    await b.client.close();
  }
}

/**
 * A request the server sends outside any call, on the session's standalone GET stream: gov
 * relays it (allowed), and the client's answer, POSTed in the same session, reaches the server.
 */
async function answerOnGetStream(via: Via, server: AskingServer): Promise<void> {
  const a = await connect(via, 'streamable', server);
  try {
    await server.getStream(a.session);
    expect(textOf(await a.client.callTool({ name: 'roots_later', arguments: {} }))).toBe('asked');
    expect(await server.roots.get(a.session)).toBe('roots: [{"uri":"file:///work","name":"work"}]');
  } finally {
    await a.client.close();
  }
}

describe('a client answer to a server request it was never shown never reaches the server (HTTP)', () => {
  let pki: TestPki;
  let server: AskingServer;
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

    it('Streamable HTTP: dropped (202), audited; relayed requests still answered, once', async () => {
      await forgeAndAnswer(via, 'streamable', server, home);
    }, 60_000);

    it('HTTP+SSE 2024-11-05: dropped (202 Accepted), audited; relayed requests still answered', async () => {
      await forgeAndAnswer(via, 'legacy', server, home);
    }, 60_000);

    it("Streamable HTTP: a request on the standalone GET stream gets the client's answer", async () => {
      await answerOnGetStream(via, server);
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
      expect(alerts.map((r) => r['principal'])).toEqual(Array(6).fill('token:alice'));
    }, 60_000);

    it("Streamable HTTP: a request on the standalone GET stream gets the client's answer", async () => {
      await answerOnGetStream(via, server);
    }, 60_000);
  });
});
