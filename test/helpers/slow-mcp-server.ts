import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { startHttpsServer, type TestServer } from './https-server.js';
import type { TestPki } from './test-ca.js';
// @ts-expect-error: a plain ESM fixture shared with the stdio server
import { registerSlowTools } from '../fixtures/servers/slow-tools.mjs';

export type SlowMode = 'json' | 'sse' | 'legacy';

export interface SlowMcpServer extends TestServer {
  /** Tools the server started, in order. */
  started: string[];
  mcpUrl: string;
}

/**
 * An official-SDK MCP server over HTTPS whose `stall` and `tick` tools never answer:
 * `json` and `sse` are stateless Streamable HTTP, `legacy` the 2024-11-05 HTTP+SSE transport.
 */
export async function startSlowMcpServer(pki: TestPki, mode: SlowMode): Promise<SlowMcpServer> {
  const started: string[] = [];
  const build = () => {
    const s = new McpServer({ name: 'gov-test-slow', version: '1.0.0' });
    (registerSlowTools as (s: McpServer, onCall: (t: string) => void) => void)(s, (t) => started.push(t));
    return s;
  };
  const legacy = new Map<string, SSEServerTransport>();
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://x');
    if (mode === 'legacy') {
      if (req.method === 'GET' && url.pathname === '/sse') {
        const t = new SSEServerTransport('/messages', res);
        legacy.set(t.sessionId, t);
        res.on('close', () => legacy.delete(t.sessionId));
        await build().connect(t);
        return;
      }
      const t = legacy.get(url.searchParams.get('sessionId') ?? '');
      if (req.method !== 'POST' || url.pathname !== '/messages' || !t) return res.writeHead(404).end();
      await t.handlePostMessage(req, res);
      return;
    }
    if (url.pathname !== '/mcp') return res.writeHead(404).end();
    const t = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: mode === 'json',
    });
    res.on('close', () => void t.close());
    await build().connect(t);
    await t.handleRequest(req, res);
  };
  const server = await startHttpsServer(pki, (req, res) => {
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  const close = server.close;
  return {
    ...server,
    started,
    mcpUrl: mode === 'legacy' ? `${server.url}/sse` : `${server.url}/mcp`,
    close: async () => {
      for (const t of legacy.values()) await t.close().catch(() => undefined);
      await close();
    },
  };
}
