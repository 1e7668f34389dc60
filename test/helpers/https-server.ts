import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestPki } from './test-ca.js';

export interface TestServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** An HTTPS server on loopback using the test PKI (never gov's CA). */
export async function startHttpsServer(
  pki: TestPki,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  host = '127.0.0.1',
): Promise<TestServer> {
  const server = createServer({ key: pki.keyPem, cert: pki.certPem, keepAliveTimeout: 5000 }, handler);
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as AddressInfo).port;
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    port,
    url: `https://${h}:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The `initialize` result of a 2025-06-18 tools server named `name` (for startJsonRpcServer). */
export function initializeResult(name: string): Record<string, unknown> {
  return { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name, version: '1' } };
}

/**
 * A plain JSON-RPC upstream over HTTPS: each POST body is one message, answered with
 * `answer(message)` as its result (application/json). `received` keeps every message.
 */
export async function startJsonRpcServer(
  pki: TestPki,
  answer: (message: Record<string, unknown>) => Record<string, unknown>,
): Promise<TestServer & { received: Record<string, unknown>[] }> {
  const received: Record<string, unknown>[] = [];
  const server = await startHttpsServer(pki, (req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const message = JSON.parse(body) as Record<string, unknown>;
      received.push(message);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: message['id'], result: answer(message) }));
    });
  });
  return { ...server, received };
}
