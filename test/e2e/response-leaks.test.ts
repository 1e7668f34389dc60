/**
 * A credential gov injected must never come back to the agent, whatever the server does
 * with it: echo it in headers (`Location`, `Set-Cookie`, `WWW-Authenticate`, its own), in a
 * non-MCP body (plain, gzip-encoded, split into one-byte chunks), or in a non-JSON answer
 * to an MCP call. And a JSON-RPC call written in another charset (declared, or UTF-16/32
 * that servers detect) is refused, never forwarded as "not MCP". Through the real `gov run`
 * with raw TLS clients and curl; proven by what the server logged and by grepping what the
 * agent received and everything gov wrote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { auditRecords } from '../helpers/audit-records.js';
import { readUntilClose, startLiveRun, tlsThroughProxy, type LiveRun } from '../helpers/raw-proxy-client.js';
import { filesUnder } from '../helpers/home-files.js';

// The decoder the MCP SDK's legacy SSE server transport uses for a request's charset.
const iconv = createRequire(import.meta.url)('iconv-lite') as {
  decode(b: Buffer, charset: string): string;
  encode(s: string, charset: string): Buffer;
};

const SECRET = 'sk-relay-leak-real-credential-7Hq2Zp';
const call = (name: string, id = 1) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });

/** `s` as UTF-32 bytes, four per code point. */
function utf32(s: string, littleEndian: boolean): Buffer {
  const cps = [...s].map((c) => c.codePointAt(0)!);
  const b = Buffer.alloc(cps.length * 4);
  cps.forEach((cp, i) => (littleEndian ? b.writeUInt32LE(cp, i * 4) : b.writeUInt32BE(cp, i * 4)));
  return b;
}

/** What Python's json.loads does with bytes: it detects UTF-16/32 by BOM or NUL pattern. */
function pythonReading(b: Buffer): string {
  if (b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString('utf16le');
  if (b[0] === 0xfe && b[1] === 0xff) return Buffer.from(b.subarray(2)).swap16().toString('utf16le');
  if (b[0] === 0 && b.length % 2 === 0) return Buffer.from(b).swap16().toString('utf16le');
  if (b[1] === 0) return b.toString('utf16le');
  return b.toString('utf8');
}

describe('gov run: no injected credential comes back, no call hides in another charset', () => {
  let pki: TestPki;
  let home: string;
  let server: TestServer;
  let run: LiveRun;
  let govCa: string;
  const executed: string[] = [];
  const received: string[] = [];

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const auth = String(req.headers.authorization ?? 'none');
      received.push(`${req.method} ${req.url} ${auth}`);
      const charset = /charset=([^;]+)/i.exec(String(req.headers['content-type'] ?? ''))?.[1];
      for (const text of [charset ? iconv.decode(raw, charset.trim()) : '', pythonReading(raw)]) {
        try {
          const m = JSON.parse(text.replace(/^\uFEFF/, '')) as {
            method?: string;
            params?: { name?: string };
          };
          if (m.method === 'tools/call') executed.push(String(m.params?.name));
        } catch {
          /* not JSON in this reading */
        }
      }
      const echo = {
        'x-echo': auth,
        location: `/next?token=${encodeURIComponent(auth)}`,
        'set-cookie': [`session=${auth}`, 'other=1'],
        'www-authenticate': `Bearer error="invalid_token", error_description="${auth} is revoked"`,
      };
      if (req.url === '/echo') {
        res.writeHead(401, { 'content-type': 'text/plain', ...echo });
        return res.end(`bad token: ${auth}\n`);
      }
      if (req.url === '/echo-gzip') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        return res.end(gzipSync(JSON.stringify({ headers: { authorization: auth } })));
      }
      if (req.url === '/echo-utf32' || req.url === '/echo-utf32be') {
        const le = req.url === '/echo-utf32';
        res.writeHead(200, { 'content-type': `text/plain; charset=utf-32${le ? 'le' : 'be'}` });
        return res.end(utf32(`token=${auth}`, le));
      }
      if (req.url === '/echo-utf16') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-16le' });
        return res.end(Buffer.from(`token=${auth}`, 'utf16le'));
      }
      if (req.url === '/echo-sse') {
        // The credential around the data of a legacy stream: a comment, an id, an event name, the endpoint.
        res.writeHead(200, { 'content-type': 'text/event-stream', 'x-echo': auth });
        res.write(`event: endpoint\ndata: /messages?session=1&token=${encodeURIComponent(auth)}\n\n`);
        res.write(
          `: debug ${auth}\nid: ${auth}\nevent: ${auth}\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}\n\n`,
        );
        return res.end();
      }
      if (req.url === '/echo-compress') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'compress' });
        return res.end(auth);
      }
      if (req.url === '/echo-split') {
        // One byte per write, each flushed: the value is split at every boundary.
        res.writeHead(200, { 'content-type': 'text/plain' });
        const bytes = Buffer.from(`token=${auth};`);
        let i = 0;
        const next = () => (i < bytes.length ? res.write(bytes.subarray(i, ++i), next) : res.end());
        return next();
      }
      // An MCP call answered in text/plain: a lenient client reads the JSON-RPC all the same.
      res.writeHead(200, { 'content-type': 'text/plain', 'x-echo': auth });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: auth }] } }));
    });
  };

  /** One raw HTTP/1.1 exchange over TLS through gov; the whole answer as latin1 text. */
  const exchange = async (head: string, body: Buffer = Buffer.alloc(0)): Promise<string> => {
    const t = await tlsThroughProxy(run.proxy, '127.0.0.1', server.port, govCa);
    t.write(Buffer.concat([Buffer.from(head.replace(/\n/g, '\r\n') + '\r\n'), body]));
    return readUntilClose(t);
  };
  const host = () => `Host: 127.0.0.1:${server.port}\nConnection: close\n`;
  const post = (path: string, contentType: string, body: Buffer) =>
    exchange(
      `POST ${path} HTTP/1.1\n${host()}Content-Type: ${contentType}\nAccept: application/json, text/event-stream\nContent-Length: ${body.length}\n`,
      body,
    );
  /** The answer's head and its body with any chunked framing removed. */
  const dechunk = (r: string): string => {
    const at = r.indexOf('\r\n\r\n');
    if (!/^transfer-encoding: chunked/im.test(r.slice(0, at))) return r;
    let body = '';
    for (let i = at + 4; ;) {
      const eol = r.indexOf('\r\n', i);
      const size = parseInt(r.slice(i, eol), 16);
      if (!(size > 0)) break;
      body += r.slice(eol + 2, eol + 2 + size);
      i = eol + 4 + size;
    }
    return r.slice(0, at + 4) + body;
  };
  const agentSaw: string[] = [];
  const saw = (text: string) => (agentSaw.push(text), dechunk(text));

  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    await sealWithFastKdf(home, 'correct horse battery');
    server = await startHttpsServer(pki, onRequest);
    const env = { GOV_HOME: home, GOV_VAULT_PASSPHRASE: 'correct horse battery' };
    const set = await runGov(['vault', 'set', 'api-token'], { env, input: SECRET + '\n' });
    expect(set.code, set.stderr).toBe(0);
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: allow
rules:
  - id: no-shell
    tool: "shell*"
    decision: deny
credentials:
  - secret: api-token
    hosts: ["127.0.0.1:${server.port}"]
    env: API_TOKEN
`,
    );
    run = await startLiveRun(['--policy', policy, '--upstream-ca', pki.caPath], env);
    govCa = readFileSync(run.env['NODE_EXTRA_CA_CERTS']!, 'utf8');
  }, 60_000);

  afterAll(async () => {
    await run?.stop();
    await server?.close();
    // Nothing gov wrote holds the secret, and neither did anything the agent received.
    for (const f of filesUnder(home).filter((f) => statSync(f).isFile() && !f.endsWith('vault.json')))
      expect(readFileSync(f, 'latin1'), f).not.toContain(SECRET);
    expect(agentSaw.join('\n')).not.toContain(SECRET);
  });

  it('redacts an echoed credential in every header and in a plain non-MCP body', async () => {
    const r = saw(await exchange(`GET /echo HTTP/1.1\n${host()}`));
    expect(received).toContain(`GET /echo Bearer ${SECRET}`);
    expect(r).toMatch(/^HTTP\/1\.1 401/);
    for (const h of ['x-echo', 'location', 'set-cookie', 'www-authenticate'])
      expect(r).toMatch(new RegExp(`^${h}: .*REDACTED`, 'im'));
    expect(r).toContain('bad token: Bearer [REDACTED:vault]');
    expect(r).not.toContain(SECRET);
    const head = saw(await exchange(`HEAD /echo HTTP/1.1\n${host()}`));
    expect(head).toMatch(/^HTTP\/1\.1 401/);
    expect(head).toMatch(/^location: .*REDACTED/im);
  });

  it('decodes a gzip body to redact it, finds the value split at every byte or in UTF-16 or UTF-32, refuses what it cannot decode', async () => {
    const gz = saw(await exchange(`GET /echo-gzip HTTP/1.1\n${host()}Accept-Encoding: gzip\n`));
    expect(gz).not.toMatch(/content-encoding/i);
    expect(gz).toContain('Bearer [REDACTED:vault]');
    const split = saw(await exchange(`GET /echo-split HTTP/1.1\n${host()}`));
    expect(split).toContain('token=Bearer [REDACTED:vault];');
    const utf16 = saw(await exchange(`GET /echo-utf16 HTTP/1.1\n${host()}`));
    expect(utf16).not.toContain(Buffer.from(SECRET, 'utf16le').toString('latin1'));
    expect(utf16).toContain('[REDACTED:vault]');
    for (const path of ['/echo-utf32', '/echo-utf32be']) {
      const r = saw(await exchange(`GET ${path} HTTP/1.1\n${host()}`));
      expect(r, path).not.toContain(utf32(SECRET, path === '/echo-utf32').toString('latin1'));
      expect(r, path).toContain('[REDACTED:vault]');
    }
    const compress = saw(await exchange(`GET /echo-compress HTTP/1.1\n${host()}`));
    expect(compress).toMatch(/^HTTP\/1\.1 502/);
    expect(compress).toContain('could not be scanned');
  });

  it("redacts the credential in an event stream's comments, ids, event names and endpoint", async () => {
    const r = saw(await exchange(`GET /echo-sse HTTP/1.1\n${host()}Accept: text/event-stream\n`));
    expect(r).toContain('data: /messages?session=1&token=Bearer%20[REDACTED:vault]');
    expect(r).toContain(': debug Bearer [REDACTED:vault]');
    expect(r).toContain('id: Bearer [REDACTED:vault]');
    expect(r).toContain('event: Bearer [REDACTED:vault]');
    expect(r).not.toContain(SECRET);
  });

  it('curl gets the echo redacted too', async () => {
    const r = await runGov(
      [
        'run',
        '--no-tui',
        '--policy',
        join(home, 'gov.yaml'),
        '--upstream-ca',
        pki.caPath,
        '--',
        'curl',
        '-sS',
        '-i',
        '--compressed',
        '--max-time',
        '10',
        `https://127.0.0.1:${server.port}/echo`,
      ],
      { env: { GOV_HOME: home, GOV_VAULT_PASSPHRASE: 'correct horse battery' }, timeoutMs: 30_000 },
    );
    saw(r.stdout);
    expect(r.stdout).toContain('bad token: Bearer [REDACTED:vault]');
  });

  it('scans a non-JSON answer to an allowed MCP call like a JSON one', async () => {
    const r = saw(await post('/mcp', 'application/json', Buffer.from(call('echo'))));
    expect(executed).toContain('echo');
    expect(r).toContain('[REDACTED:vault]');
    expect(r).toMatch(/^x-echo: Bearer \[REDACTED:vault\]/im);
  });

  it('refuses a denied call written in another charset: UTF-16 (declared, BOM or none), UTF-7, UCS-2', async () => {
    const denied = call('shell_exec');
    const attempts: Array<[string, Buffer]> = [
      [
        'application/json; charset=utf-16le',
        Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode(denied, 'utf16le')]),
      ],
      ['application/json', Buffer.from(denied, 'utf16le').swap16()],
      ['application/json', Buffer.from(denied, 'utf16le')],
      ['application/json; charset="UTF-7"', iconv.encode(denied, 'utf7')],
      ['application/json; charset=utf-8; charset=ucs2', iconv.encode(denied, 'ucs2')],
      ['text/plain; charset=utf-16', iconv.encode(denied, 'utf16')],
    ];
    for (const [ct, body] of attempts) {
      const r = saw(await post('/mcp', ct, body));
      expect(r, ct).toMatch(/^HTTP\/1\.1 400/);
      expect(r, ct).toContain('-32600');
    }
    expect(executed).not.toContain('shell_exec');
    expect(JSON.stringify(auditRecords(home))).toContain('a JSON-RPC body must be UTF-8');
    // A body in a plain single-byte charset that reads the same is governed as usual.
    const latin = saw(
      await post('/mcp', 'application/json; charset=iso-8859-1', Buffer.from(call('echo', 2))),
    );
    expect(latin).toMatch(/^HTTP\/1\.1 200/);
  });
});
