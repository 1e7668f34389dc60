/**
 * The 2024-11-05 HTTP+SSE (legacy) transport under gov serve, against a hostile server and client.
 * A raw upstream implements the legacy transport by hand (GET /sse announces
 * `/messages?sessionId=S`; POSTs there are answered 202 and their answers travel on the
 * stream) and logs every call it executes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tempHome } from '../helpers/gov-process.js';
import { startServe, type ServeProcess, addServeToken } from '../helpers/gov-serve.js';
import { until } from '../helpers/until.js';

type Json = Record<string, unknown>;

interface Upstream {
  port: number;
  executed: Array<{ session: string; tool: string; id: unknown }>;
  close(): Promise<void>;
}

async function startLegacyUpstream(): Promise<Upstream> {
  const streams = new Map<string, ServerResponse>();
  const executed: Upstream['executed'] = [];
  let n = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/sse') {
      const sid = `sess-${++n}`;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`event: endpoint\ndata: /messages?sessionId=${sid}\n\n`);
      streams.set(sid, res);
      req.on('close', () => streams.delete(sid));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/sse2') {
      // Announces an endpoint, then moves the session to a second one (both reach this stream).
      const sid = `sess-${++n}`;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`event: endpoint\ndata: /messages?sessionId=${sid}\n\n`);
      res.write(`event: endpoint\ndata: /messages?sessionId=${sid}-moved\n\n`);
      streams.set(sid, res);
      streams.set(`${sid}-moved`, res);
      req.on('close', () => (streams.delete(sid), streams.delete(`${sid}-moved`)));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/mcp') {
      // A (hostile) Streamable HTTP server's standalone GET stream that announces an endpoint:
      // its own URL, or the spelling `?announce=` asks for.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: endpoint\ndata: ${url.searchParams.get('announce') ?? '/mcp'}\n\n`);
      return;
    }
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const msg = JSON.parse(body || '{}') as Json;
      const params = (msg['params'] ?? {}) as Json;
      if (url.pathname === '/mcp') {
        if (msg['method'] === 'tools/call')
          executed.push({ session: 'mcp', tool: String(params['name']), id: msg['id'] });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            jsonrpc: '2.0',
            id: msg['id'],
            result: { content: [{ type: 'text', text: 'ran' }] },
          }),
        );
        return;
      }
      const sid = url.searchParams.get('sessionId') ?? '';
      const stream = streams.get(sid);
      if (!stream) return void res.writeHead(404).end();
      res.writeHead(202).end('Accepted');
      if (msg['method'] === 'tools/call')
        executed.push({ session: sid, tool: String(params['name']), id: msg['id'] });
      if ('id' in msg && msg['method'])
        stream.write(
          `event: message\ndata: ${JSON.stringify({
            jsonrpc: '2.0',
            id: msg['id'],
            result:
              msg['method'] === 'initialize'
                ? {
                    protocolVersion: '2024-11-05',
                    capabilities: {},
                    serverInfo: { name: 'legacy', version: '1' },
                  }
                : { content: [{ type: 'text', text: `ran ${String(params['name'])} in ${sid}` }] },
          })}\n\n`,
        );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    executed,
    close: () =>
      new Promise<void>((r) => {
        for (const s of streams.values()) s.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** An open SSE stream through gov: the text received so far. */
function openStream(url: string, bearer: string): Promise<{ text: () => string; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers: { authorization: `Bearer ${bearer}`, accept: 'text/event-stream' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('error', () => undefined);
        resolve({ text: () => text, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function post(url: string, bearer: string, msg: Json): Promise<{ status: number; text: string }> {
  const r = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${bearer}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify(msg),
  });
  return { status: r.status, text: await r.text() };
}

const call = (id: number, name: string) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: {} },
});

describe('legacy HTTP+SSE under gov serve: sessions and principals', () => {
  let up: Upstream;
  let gov: ServeProcess;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    up = await startLegacyUpstream();
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: allow
rules:
  - id: no-boom
    tool: boom
    decision: deny
    reason: boom is forbidden
`,
    );
    const token = (name: string) => addServeToken(home, name);
    alice = await token('alice');
    bob = await token('bob');
    gov = await startServe(
      ['--target', `http://127.0.0.1:${up.port}/`, '--policy', policy, '--auth', 'bearer'],
      {
        ...process.env,
        GOV_HOME: home,
      },
    );
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    await up?.close();
  });

  it("bob cannot use alice's legacy session (as he cannot use her Mcp-Session-Id)", async () => {
    const s = await openStream(`${gov.url}/sse`, alice);
    await until(() => s.text().includes('endpoint'), 'cond', 5000);
    const endpoint = /data: (\S+)/.exec(s.text())![1]!;
    try {
      // alice's own call works on her session.
      const own = await post(`${gov.url}${endpoint}`, alice, call(1, 'echo'));
      expect(own.status).toBe(202);
      await until(() => s.text().includes('ran echo'), 'cond', 5000);

      // bob, naming alice's session: an allowed call, and a denied one.
      const stolen = await post(`${gov.url}${endpoint}`, bob, call(77, 'steal'));
      const denied = await post(`${gov.url}${endpoint}`, bob, call(78, 'boom'));
      // Both were answered (refused) before anything reached the server or alice's stream.
      // gov serve refuses another principal's Mcp-Session-Id (404); a legacy session is the same thing.
      expect(
        up.executed.filter((e) => e.tool === 'steal'),
        `bob's call got ${stolen.status}`,
      ).toEqual([]);
      expect(s.text(), "bob's answer arrived on alice's stream").not.toContain('ran steal');
      expect(denied.status).not.toBe(202);
      expect(s.text(), "bob's denial was injected into alice's stream").not.toContain('"id":78');
    } finally {
      s.close();
    }
  }, 30_000);

  it("a server's endpoint event on a Streamable HTTP stream does not capture other clients' POSTs", async () => {
    const s = await openStream(`${gov.url}/mcp`, alice);
    await until(() => s.text().includes('endpoint'), 'cond', 5000);
    try {
      const denied = await post(`${gov.url}/mcp`, bob, call(5, 'boom'));
      // bob gets his own denial in his reply (gov writes it there, not to alice's stream).
      expect(s.text(), "bob's denial went into alice's stream").not.toContain('boom is forbidden');
      expect(denied.text, `bob got: ${denied.status} ${denied.text}`).toContain('boom is forbidden');
    } finally {
      s.close();
    }
  }, 30_000);

  it.each(['/mcp', '/MCP/', '/%6Dcp'])(
    'nor does one naming the stream in another spelling (%s), the stream opened with a query',
    async (announced) => {
      const s = await openStream(`${gov.url}/mcp?announce=${encodeURIComponent(announced)}`, alice);
      await until(() => s.text().includes('endpoint'), 'the endpoint event', 5000);
      try {
        const denied = await post(`${gov.url}/mcp`, bob, call(6, 'boom'));
        expect(s.text(), "bob's denial went into alice's stream").not.toContain('boom is forbidden');
        expect(denied.text, `bob got: ${denied.status} ${denied.text}`).toContain('boom is forbidden');
      } finally {
        s.close();
      }
    },
    30_000,
  );

  it('a second endpoint event never reaches the client: its POSTs stay where gov answers', async () => {
    const s = await openStream(`${gov.url}/sse2`, alice);
    await until(() => s.text().includes('endpoint'), 'cond', 5000);
    // An SDK 1.x SSEClientTransport takes the last endpoint event it sees.
    const endpoint = [...s.text().matchAll(/data: (\/messages\S+)/g)].at(-1)![1]!;
    try {
      const denied = await post(`${gov.url}${endpoint}`, alice, call(9, 'boom'));
      // A legacy client ignores the POST's body: the denial must be on the stream, or it waits forever.
      await until(
        () => s.text().includes('boom is forbidden'),
        `POST answered ${denied.status} ${denied.text}`,
        5000,
      );
      expect(s.text()).not.toContain('-moved');
    } finally {
      s.close();
    }
  }, 30_000);
});
