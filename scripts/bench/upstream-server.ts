/**
 * The bench's upstream: a minimal, fast MCP-ish JSON-RPC server over HTTPS on loopback, run as
 * a child process so it has its own event loop. Started with one JSON argument
 * {keyPath, certPath, hosts}; prints {"ports": {host: port}} once listening; exits when its
 * stdin closes (so it never outlives the bench).
 *
 *   POST /mcp       JSON response: tools/call echoes its arguments (`big` → ~10 MB), tools/list
 *   POST /mcp-sse   the same answer as one SSE event (Streamable HTTP response mode)
 *   GET  /stream?events=N[&hold=1]   N notifications as SSE events, then end (or stay open)
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { logText, toolResult, TOOLS_LIST } from './payload.js';

interface Config {
  keyPath: string;
  certPath: string;
  hosts: string[];
  bigBytes: number;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as Config;
let bigText: string | null = null;

function answer(msg: {
  id?: number | string;
  method?: string;
  params?: { name?: string; arguments?: unknown };
}): string | null {
  if (msg.id === undefined) return null;
  const id = msg.id;
  switch (msg.method) {
    case 'tools/call':
      if (msg.params?.name === 'big') return toolResult(id, (bigText ??= logText(cfg.bigBytes)));
      return toolResult(id, JSON.stringify(msg.params?.arguments ?? {}));
    case 'tools/list':
      return JSON.stringify({ jsonrpc: '2.0', id, result: TOOLS_LIST });
    case 'initialize':
      return JSON.stringify({
        jsonrpc: '2.0',
        id,
        result: {
          protocolVersion: '2025-06-18',
          capabilities: { tools: {} },
          serverInfo: { name: 'bench', version: '1' },
        },
      });
    default:
      return JSON.stringify({ jsonrpc: '2.0', id, result: {} });
  }
}

function onPost(req: IncomingMessage, res: ServerResponse, body: string): void {
  let msg: Parameters<typeof answer>[0];
  try {
    msg = JSON.parse(body) as Parameters<typeof answer>[0];
  } catch {
    res.writeHead(400, { 'content-length': '0' });
    res.end();
    return;
  }
  const out = answer(msg);
  if (out === null) {
    res.writeHead(202, { 'content-length': '0' });
    res.end();
    return;
  }
  if (req.url?.startsWith('/mcp-sse')) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.end(`event: message\ndata: ${out}\n\n`);
    return;
  }
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(out)),
  });
  res.end(out);
}

function onStream(req: IncomingMessage, res: ServerResponse): void {
  const u = new URL(req.url ?? '/', 'https://x');
  const total = Math.min(Number(u.searchParams.get('events') ?? '1'), 1_000_000);
  const hold = u.searchParams.get('hold') === '1';
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      const ev = JSON.stringify({
        jsonrpc: '2.0',
        method: 'notifications/message',
        params: { level: 'info', data: { seq: sent, text: 'bench event payload' } },
      });
      sent++;
      if (!res.write(`event: message\ndata: ${ev}\n\n`)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!hold) res.end();
  };
  pump();
}

const handler = (req: IncomingMessage, res: ServerResponse): void => {
  if (req.method === 'GET' && req.url?.startsWith('/stream')) return onStream(req, res);
  if (req.method !== 'POST') {
    res.writeHead(405, { 'content-length': '0' });
    res.end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => onPost(req, res, Buffer.concat(chunks).toString('utf8')));
};

async function main(): Promise<void> {
  const key = readFileSync(cfg.keyPath);
  const cert = readFileSync(cfg.certPath);
  const servers: Server[] = [];
  const ports: Record<string, number> = {};
  for (const host of cfg.hosts) {
    const s = createServer({ key, cert, keepAliveTimeout: 60_000, requestTimeout: 0 }, handler);
    s.on('connection', (sock: import('node:net').Socket) => sock.setNoDelay(true));
    s.maxConnections = 10_000;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(0, host, () => resolve());
    });
    const a = s.address();
    ports[host] = typeof a === 'object' && a ? a.port : 0;
    servers.push(s);
  }
  process.stdout.write(JSON.stringify({ ports }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench upstream: ${(err as Error).message}\n`);
  process.exit(1);
});
