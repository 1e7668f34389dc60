import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { startHttpsServer, type TestServer } from './https-server.js';
import type { TestPki } from './test-ca.js';

export type McpMode = 'sse' | 'json' | 'stateless' | 'legacy';

export interface McpTestServer extends TestServer {
  /** Every tool the server actually executed, in order. */
  executed: Array<{ tool: string; args: unknown; authorization?: string | undefined }>;
  /** Raw POST bodies the server received. */
  bodies: string[];
  mcpUrl: string;
}

/** An official-SDK MCP server over HTTPS (test CA) that records what it executes. */
export async function startMcpServer(pki: TestPki, mode: McpMode): Promise<McpTestServer> {
  const executed: McpTestServer['executed'] = [];
  const bodies: string[] = [];
  let currentAuth: string | undefined;

  const build = () => {
    const s = new McpServer({ name: 'gov-test-server', version: '1.0.0' });
    const record = (tool: string, args: unknown) => executed.push({ tool, args, authorization: currentAuth });
    s.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => {
      record('echo', { text });
      return { content: [{ type: 'text', text: `echo: ${text}` }] };
    });
    s.registerTool('shell_exec', { inputSchema: { cmd: z.string() } }, async ({ cmd }) => {
      record('shell_exec', { cmd });
      return { content: [{ type: 'text', text: `ran ${cmd}` }] };
    });
    s.registerTool('refund', { inputSchema: { amount: z.number() } }, async ({ amount }) => {
      record('refund', { amount });
      return { content: [{ type: 'text', text: `refunded ${amount}` }] };
    });
    s.registerTool('whoami', {}, async () => {
      record('whoami', {});
      return { content: [{ type: 'text', text: `authorization=${currentAuth ?? ''}` }] };
    });
    s.registerTool('leak', {}, async () => {
      record('leak', {});
      return { content: [{ type: 'text', text: 'token ghp_abcdefghijklmnopqrstuvwxyz0123456789 here' }] };
    });
    s.registerResource('shadow', 'file:///etc/shadow', {}, async (uri) => {
      record('resources/read', { uri: uri.href });
      return { contents: [{ uri: uri.href, text: 'root:x:0:0' }] };
    });
    return s;
  };

  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const legacy = new Map<string, SSEServerTransport>();

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((r) => {
      let b = '';
      req.on('data', (d: Buffer) => (b += d.toString()));
      req.on('end', () => r(b));
    });

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    currentAuth = req.headers.authorization;
    const url = new URL(req.url ?? '/', 'https://x');
    if (mode === 'legacy') {
      if (req.method === 'GET' && url.pathname === '/sse') {
        const t = new SSEServerTransport('/messages', res);
        legacy.set(t.sessionId, t);
        res.on('close', () => legacy.delete(t.sessionId));
        await build().connect(t);
        return;
      }
      if (req.method === 'POST' && url.pathname === '/messages') {
        const body = await readBody(req);
        bodies.push(body);
        const t = legacy.get(url.searchParams.get('sessionId') ?? '');
        if (!t) return res.writeHead(404).end();
        await t.handlePostMessage(req, res, JSON.parse(body));
        return;
      }
      return res.writeHead(404).end();
    }
    if (url.pathname !== '/mcp') return res.writeHead(404).end();
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    if (body !== undefined) bodies.push(body);
    const parsed = body ? JSON.parse(body) : undefined;
    if (mode === 'stateless') {
      const t = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: false,
      });
      res.on('close', () => void t.close());
      await build().connect(t);
      await t.handleRequest(req, res, parsed);
      return;
    }
    const sid = req.headers['mcp-session-id'];
    let t = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (!t) {
      t = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: mode === 'json',
        onsessioninitialized: (id) => {
          sessions.set(id, t!);
        },
      });
      await build().connect(t);
    }
    await t.handleRequest(req, res, parsed);
  };

  const server = await startHttpsServer(pki, (req, res) => {
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  const close = server.close;
  return {
    ...server,
    executed,
    bodies,
    mcpUrl: mode === 'legacy' ? `${server.url}/sse` : `${server.url}/mcp`,
    close: async () => {
      for (const t of sessions.values()) await t.close().catch(() => undefined);
      for (const t of legacy.values()) await t.close().catch(() => undefined);
      await close();
    },
  };
}
