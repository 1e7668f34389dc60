// A small MCP server (Streamable HTTP, JSON responses) over HTTPS with its own throwaway CA.
// It exists so the demo runs with no internet: `node scripts/demo/demo-server.mjs` prints
// {"url": ..., "ca": ...} on its first line and serves until stdin closes.
import { createServer } from 'node:https';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';

function signWith(cert, key) {
  const oid = forge.pki.oids.sha256WithRSAEncryption;
  cert.signatureOid = oid;
  cert.siginfo.algorithmOid = oid;
  cert.tbsCertificate = forge.pki.getTBSCertificate(cert);
  cert.signature = sign(
    'sha256',
    Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary'),
    key,
  ).toString('binary');
}
function newCert(subject, issuer, pub, key, exts) {
  const c = forge.pki.createCertificate();
  c.publicKey = forge.pki.publicKeyFromPem(pub.export({ type: 'spki', format: 'pem' }));
  c.serialNumber = '01' + Math.floor(Math.random() * 1e12).toString(16);
  c.validity.notBefore = new Date(Date.now() - 3600e3);
  c.validity.notAfter = new Date(Date.now() + 7 * 86400e3);
  c.setSubject(subject);
  c.setIssuer(issuer);
  c.setExtensions(exts);
  signWith(c, key);
  return forge.pki.certificateToPem(c);
}
const ca = generateKeyPairSync('rsa', { modulusLength: 2048 });
const caName = [{ name: 'commonName', value: 'gov demo server CA' }];
const caPem = newCert(caName, caName, ca.publicKey, ca.privateKey, [
  { name: 'basicConstraints', cA: true, critical: true },
  { name: 'keyUsage', keyCertSign: true, critical: true },
]);
const leaf = generateKeyPairSync('rsa', { modulusLength: 2048 });
const leafPem = newCert([{ name: 'commonName', value: 'localhost' }], caName, leaf.publicKey, ca.privateKey, [
  {
    name: 'subjectAltName',
    altNames: [
      { type: 2, value: 'localhost' },
      { type: 7, ip: '127.0.0.1' },
    ],
  },
]);
const dir = mkdtempSync(join(tmpdir(), 'gov-demo-server-'));
const caPath = join(dir, 'demo-ca.pem');
writeFileSync(caPath, caPem);
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
    description: 'Shows the credential the server received',
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
    case 'whoami':
      return `server received Authorization: ${req.headers.authorization ?? '(none)'}`;
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

const server = createServer(
  { key: leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: leafPem },
  (req, res) => {
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
  },
);
server.listen(Number(process.env.DEMO_PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(
    JSON.stringify({ url: `https://127.0.0.1:${server.address().port}/mcp`, ca: caPath }) + '\n',
  );
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
