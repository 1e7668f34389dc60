import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpServer, createMcpHandler, fromJsonSchema } from '@modelcontextprotocol/server';
import { startHttpsServer, type TestServer } from './https-server.js';
import type { TestPki } from './test-ca.js';

/** A v2-SDK MCP server (2026-07-28 and 2025 on one endpoint) over HTTPS that records what ran. */
export async function startV2McpServer(
  pki: TestPki,
): Promise<TestServer & { mcpUrl: string; executed: string[] }> {
  const executed: string[] = [];
  const handler = createMcpHandler(() => {
    const s = new McpServer({ name: 'gov-test-v2', version: '2.0.0' });
    const inputSchema = fromJsonSchema<{ amount: number }>({
      type: 'object',
      properties: { amount: { type: 'number' } },
      required: ['amount'],
    });
    s.registerTool('refund', { inputSchema }, async ({ amount }) => {
      executed.push(`refund ${amount}`);
      return { content: [{ type: 'text', text: `refunded ${amount}` }] };
    });
    return s;
  });
  const server = await startHttpsServer(pki, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === 'string') headers.set(k, v);
        else if (Array.isArray(v)) for (const x of v) headers.append(k, x);
      const body = chunks.length && req.method !== 'GET' ? Buffer.concat(chunks) : undefined;
      void handler
        .fetch(
          new Request(`https://127.0.0.1${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, body }),
        )
        .then(async (r) => {
          res.writeHead(r.status, Object.fromEntries(r.headers.entries()));
          if (r.body) for await (const c of r.body as unknown as AsyncIterable<Uint8Array>) res.write(c);
          res.end();
        })
        .catch(() => {
          res.writeHead(500);
          res.end();
        });
    });
  });
  return { ...server, mcpUrl: `${server.url}/mcp`, executed };
}
