/**
 * An HTTPS server that speaks, through the official SDK 1.32 server transports, both
 * Streamable HTTP (`/mcp`, sessions, SSE answers) and 2024-11-05 HTTP+SSE (`/sse`, posts to
 * `/messages`). `connect` attaches a fresh MCP server to each new transport.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { TestPki } from './test-ca.js';
import { startHttpsServer, type TestServer } from './https-server.js';

export interface SdkRoutesOptions {
  /** A Streamable HTTP `GET` (a session's standalone stream) is about to be handled. */
  onSessionGet?: (session: string, res: ServerResponse) => void;
}

export async function startSdkBothTransports(
  pki: TestPki,
  connect: (t: Transport) => Promise<void>,
  o: SdkRoutesOptions = {},
): Promise<TestServer> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const legacy = new Map<string, SSEServerTransport>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://x');
    if (req.method === 'GET' && url.pathname === '/sse') {
      const t = new SSEServerTransport('/messages', res);
      legacy.set(t.sessionId, t);
      return connect(t);
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
      await connect(created);
      t = created;
    }
    if (req.method === 'GET' && typeof sid === 'string') o.onSessionGet?.(sid, res);
    await t.handleRequest(req, res, body ? JSON.parse(body) : undefined);
  };
  const server = await startHttpsServer(pki, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  return {
    ...server,
    close: async () => {
      for (const t of [...sessions.values(), ...legacy.values()]) await t.close().catch(() => undefined);
      await server.close();
    },
  };
}
