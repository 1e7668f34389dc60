// A small MCP server (Streamable HTTP, JSON responses) over HTTPS with its own throwaway CA.
// It exists so the demo runs with no internet: `node scripts/demo/demo-server.mjs` prints
// {"url": ..., "ca": ...} on its first line and serves until stdin closes.
import { createServer } from 'node:https';
import { createHash, randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Built by `npm run build` (which `npm run demo` runs first).
import { makeThrowawayPki } from '../../dist/scripts/lib/throwaway-pki.js';

const pki = makeThrowawayPki({ name: 'gov demo server CA' });
const dir = mkdtempSync(join(tmpdir(), 'gov-demo-server-'));
const caPath = join(dir, 'demo-ca.pem');
writeFileSync(caPath, pki.caPem);
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const execLog = process.env.DEMO_EXEC_LOG;

const tools = [
  {
    name: 'get_weather',
    description: 'Weather for a city',
    inputSchema: { type: 'object', properties: { city: { type: 'string' } } },
  },
  {
    name: 'refund',
    description: 'Refund a payment',
    inputSchema: { type: 'object', properties: { amount: { type: 'number' } } },
  },
  {
    name: 'whoami',
    description: 'Proves what the server received from gov (length and hash only)',
    inputSchema: { type: 'object' },
  },
  { name: 'read_config', description: 'Reads the service configuration', inputSchema: { type: 'object' } },
  {
    name: 'shell_exec',
    description: 'Runs a shell command',
    inputSchema: { type: 'object', properties: { cmd: { type: 'string' } } },
  },
];

function callTool(name, args, req) {
  if (execLog) appendFileSync(execLog, `${name} ${JSON.stringify(args)}\n`);
  switch (name) {
    case 'get_weather':
      return `Sunny in ${args.city ?? 'somewhere'}, 21°C`;
    case 'refund':
      return `Refunded ${args.amount}`;
    case 'whoami': {
      // Proof of receipt without showing the secret: its length and a hash prefix. The server
      // logs the same on its stderr, which the agent never sees.
      const auth = req.headers.authorization;
      const proof = auth
        ? `${auth.length} characters, sha256 ${createHash('sha256').update(auth).digest('hex').slice(0, 16)}`
        : '(none)';
      process.stderr.write(`demo server: received Authorization: ${proof}\n`);
      return `server received Authorization: ${proof}`;
    }
    case 'read_config':
      return 'region=eu-west-1\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\nlog_level=info';
    case 'shell_exec':
      return `ran ${args.cmd}`;
    default:
      return null;
  }
}

function handle(msg, req) {
  if (msg.id === undefined) return null;
  switch (msg.method) {
    case 'initialize':
      return {
        protocolVersion: '2025-06-18',
        capabilities: { tools: {} },
        serverInfo: { name: 'gov-demo-server', version: '1.0.0' },
      };
    case 'tools/list':
      return { tools };
    case 'tools/call': {
      const text = callTool(msg.params?.name, msg.params?.arguments ?? {}, req);
      if (text === null) return { error: { code: -32602, message: `unknown tool ${msg.params?.name}` } };
      return { content: [{ type: 'text', text }] };
    }
    case 'ping':
      return {};
    default:
      return { error: { code: -32601, message: `method not found: ${msg.method}` } };
  }
}

const server = createServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
  if (req.method !== 'POST' || req.url !== '/mcp') {
    res.writeHead(405).end();
    return;
  }
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    let msg;
    try {
      msg = JSON.parse(body);
    } catch {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }));
      return;
    }
    const r = handle(msg, req);
    const headers = { 'content-type': 'application/json' };
    if (msg.method === 'initialize') headers['mcp-session-id'] = randomUUID();
    if (r === null) {
      res.writeHead(202).end();
      return;
    }
    const out = r.error
      ? { jsonrpc: '2.0', id: msg.id, error: r.error }
      : { jsonrpc: '2.0', id: msg.id, result: r };
    res.writeHead(200, headers).end(JSON.stringify(out));
  });
});
server.listen(Number(process.env.DEMO_PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(
    JSON.stringify({ url: `https://127.0.0.1:${server.address().port}/mcp`, ca: caPath }) + '\n',
  );
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
