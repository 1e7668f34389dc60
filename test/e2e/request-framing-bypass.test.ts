/**
 * Adversarial client→server requests through a real `gov run` (raw TLS through CONNECT): a
 * denied tools/call (`shell_exec`) must never be executed by the upstream, whatever framing,
 * encoding or method carries it. The upstream is a lenient MCP-ish server that decodes the
 * body the way real servers do (Content-Encoding, declared charset, a UTF-8 BOM, UTF-16/32
 * detection like Python's json.loads) and records every tools/call it would execute.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { tempHome } from '../helpers/gov-process.js';
import { readUntilClose, startLiveRun, tlsThroughProxy, type LiveRun } from '../helpers/raw-proxy-client.js';

const require = createRequire(import.meta.url);
const iconv = require('iconv-lite') as {
  decode(b: Buffer, enc: string): string;
  encodingExists(e: string): boolean;
};

const DENIED = (id: number | string = 7) =>
  `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":"tools/call","params":{"name":"shell_exec","arguments":{"cmd":"id"}}}`;
const ALLOWED = (id: number | string = 1) =>
  `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`;

interface Executed {
  url: string;
  tool: string;
  how: string;
  method?: string;
  contentType?: string;
  body?: string;
}

/** What a lenient server would read from a body: every decoding it might try. */
function readings(req: IncomingMessage, raw: Buffer): Array<{ how: string; text: string }> {
  const out: Array<{ how: string; text: string }> = [];
  let body = raw;
  const ce = String(req.headers['content-encoding'] ?? '')
    .toLowerCase()
    .trim();
  try {
    if (ce === 'gzip' || ce === 'x-gzip') body = zlib.gunzipSync(raw);
    else if (ce === 'deflate') body = zlib.inflateSync(raw);
    else if (ce === 'br') body = zlib.brotliDecompressSync(raw);
  } catch {
    return out;
  }
  out.push({ how: 'utf8', text: body.toString('utf8').replace(/^\uFEFF/, '') });
  const m = /charset\s*=\s*"?([^";\s]+)/i.exec(String(req.headers['content-type'] ?? ''));
  if (m && iconv.encodingExists(m[1]!)) out.push({ how: `charset ${m[1]}`, text: iconv.decode(body, m[1]!) });
  const b = body;
  if (b.length >= 4) {
    if (b[0] === 0) out.push({ how: 'py-detect', text: iconv.decode(b, b[1] ? 'utf-16be' : 'utf-32be') });
    else if (b[1] === 0)
      out.push({ how: 'py-detect', text: iconv.decode(b, b[2] || b[3] ? 'utf-16le' : 'utf-32le') });
  }
  return out;
}

function toolsCalled(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap(toolsCalled);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const p = o['params'] as Record<string, unknown> | undefined;
    if (o['method'] === 'tools/call' && p && typeof p['name'] === 'string') return [p['name']];
  }
  return [];
}

describe('adversarial requests through gov run: a denied call never executes', () => {
  let pki: TestPki;
  let home: string;
  let upstream: TestServer;
  let run: LiveRun;
  let govCa: string;
  const executed: Executed[] = [];
  const bodies: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }> =
    [];

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      bodies.push({ method: req.method!, url: req.url!, headers: req.headers, body: raw });
      let answered = false;
      for (const { how, text } of readings(req, raw)) {
        let v: unknown;
        try {
          v = JSON.parse(text);
        } catch {
          continue;
        }
        for (const tool of toolsCalled(v))
          executed.push({
            url: req.url!,
            tool,
            how,
            method: req.method!,
            contentType: String(req.headers['content-type']),
            body: JSON.stringify(raw.toString('latin1').slice(0, 160)),
          });
        if (!answered && toolsCalled(v).length) {
          answered = true;
          const ids = (Array.isArray(v) ? v : [v]).map((x) => (x as { id?: unknown }).id);
          const results = ids.map((id) => ({
            jsonrpc: '2.0',
            id,
            result: { content: [{ type: 'text', text: 'ran' }] },
          }));
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(Array.isArray(v) ? results : results[0]));
        }
        break;
      }
      if (!answered) res.writeHead(202).end();
    });
  };

  const shellRuns = () => executed.filter((e) => e.tool.startsWith('shell'));

  /** One raw request (or several pipelined) on a fresh TLS connection; the answer text. */
  async function raw(bytes: Buffer | string, wait = true): Promise<string> {
    const t = await tlsThroughProxy(run.proxy, '127.0.0.1', upstream.port, govCa);
    t.write(bytes);
    if (!wait) {
      t.destroy();
      return '';
    }
    const timer = setTimeout(() => t.destroy(), 8000);
    const text = await readUntilClose(t);
    clearTimeout(timer);
    return text;
  }

  const host = () => `127.0.0.1:${upstream.port}`;
  const post = (
    body: Buffer | string,
    headers: Record<string, string> = {},
    method = 'POST',
    path = '/mcp',
  ): Buffer => {
    const b = Buffer.from(body);
    const h = {
      host: host(),
      'content-type': 'application/json',
      'content-length': String(b.length),
      connection: 'close',
      ...headers,
    };
    const head = Object.entries(h)
      .filter(([, v]) => v !== '')
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n');
    return Buffer.concat([Buffer.from(`${method} ${path} HTTP/1.1\r\n${head}\r\n\r\n`), b]);
  };

  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    upstream = await startHttpsServer(pki, onRequest);
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: allow
rules:
  - id: no-shell
    tool: "shell*"
    decision: deny
`,
    );
    run = await startLiveRun(['--policy', policy, '--upstream-ca', pki.caPath], { GOV_HOME: home });
    govCa = readFileSync(run.env['NODE_EXTRA_CA_CERTS']!, 'utf8');
  }, 60_000);

  afterAll(async () => {
    await run?.stop();
    await upstream?.close();
  });

  it('control: the allowed call runs, the denied one is refused', async () => {
    const a = await raw(post(ALLOWED()));
    expect(a).toContain('"ran"');
    const d = await raw(post(DENIED()));
    expect(d).toContain('-32003');
    expect(shellRuns()).toEqual([]);
  });

  it('content encodings, stacked and odd', async () => {
    const b = Buffer.from(DENIED());
    const variants: Array<[Buffer, string]> = [
      [zlib.gzipSync(b), 'gzip'],
      [zlib.gzipSync(b), 'GZIP'],
      [zlib.gzipSync(b), 'x-gzip'],
      [zlib.gzipSync(b), 'identity, gzip'],
      [zlib.gzipSync(b), 'gzip, identity'],
      [zlib.gzipSync(b), ' gzip '],
      [zlib.deflateSync(b), 'deflate'],
      [zlib.deflateRawSync(b), 'deflate'],
      [zlib.brotliCompressSync(b), 'br'],
      [zlib.gzipSync(zlib.gzipSync(b)), 'gzip, gzip'],
      [Buffer.concat([zlib.gzipSync(Buffer.from('[')), zlib.gzipSync(Buffer.from(DENIED() + ']'))]), 'gzip'],
      [b, 'identity'],
      [b, ''],
    ];
    for (const [body, ce] of variants) await raw(post(body, ce ? { 'content-encoding': ce } : {}));
    expect(shellRuns()).toEqual([]);
  }, 60_000);

  it('charsets, BOMs and UTF-16/32', async () => {
    const t = DENIED();
    const variants: Array<[Buffer, string]> = [
      [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(t)]), 'application/json'],
      [
        Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), Buffer.from(t)]),
        'application/json',
      ],
      [Buffer.from(t, 'utf16le'), 'application/json'],
      [Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(t, 'utf16le')]), 'application/json'],
      [Buffer.from(t, 'utf16le').swap16(), 'application/json; charset=utf-16be'],
      [Buffer.from(t, 'utf16le'), 'application/json; charset=UTF-16'],
      [Buffer.from(t, 'utf16le'), 'application/json; charset="utf-16le"'],
      [Buffer.from(t, 'utf16le'), 'application/json; charset=ucs2'],
      [Buffer.from(t, 'utf16le'), 'application/json; charset=utf16le'],
      [Buffer.from(t, 'latin1'), 'application/json; charset=latin1'],
      [Buffer.from(t), 'application/json; charset=utf-7'],
      [Buffer.from(t.replace('shell_exec', 'shell+AF8-exec')), 'application/json; charset=utf-7'],
      [Buffer.from(t.replace('shell_exec', 'shell+AF8-exec')), 'application/json; charset=UTF7'],
      [Buffer.from(t.replace('{', '+AHs-')), 'application/json; charset=utf-7'],
      [Buffer.from(t.replace('{', '+AHs-')), 'application/json; charset=unicode-1-1-utf-7'],
      [Buffer.from(t.replace('{', '+AHs-')), 'application/json;charset=utf7'],
      [Buffer.from(t.replace('{', '+AHs-')), 'application/json; charset="utf-7"; charset=utf-8'],
      [Buffer.from(t.replace('{', '+AHs-')), 'application/json; charset=utf-8; charset=utf-7'],
    ];
    for (const [body, ct] of variants) await raw(post(body, { 'content-type': ct }));
    expect(shellRuns()).toEqual([]);
  }, 60_000);

  it('methods, transfer encodings and pipelining', async () => {
    const d = DENIED();
    for (const m of ['PUT', 'PATCH', 'DELETE', 'GET', 'OPTIONS', 'HEAD', 'FOO', 'post'])
      await raw(post(d, {}, m));
    // chunked with extensions and trailers
    await raw(
      `POST /mcp HTTP/1.1\r\nHost: ${host()}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
        `5;ext=1\r\n${d.slice(0, 5)}\r\n${(d.length - 5).toString(16)}\r\n${d.slice(5)}\r\n0\r\nX-T: 1\r\n\r\n`,
    );
    // GET with chunked body
    await raw(
      `GET /mcp HTTP/1.1\r\nHost: ${host()}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
        `${d.length.toString(16)}\r\n${d}\r\n0\r\n\r\n`,
    );
    // Expect: 100-continue
    await raw(post(d, { expect: '100-continue' }));
    // HTTP/1.0 keep-alive then pipelined
    await raw(
      `POST /mcp HTTP/1.0\r\nHost: ${host()}\r\nConnection: keep-alive\r\nContent-Length: ${ALLOWED().length}\r\n\r\n${ALLOWED()}` +
        `POST /mcp HTTP/1.0\r\nHost: ${host()}\r\nContent-Length: ${d.length}\r\n\r\n${d}`,
    );
    // Two requests in one segment
    await raw(
      `POST /mcp HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: ${ALLOWED().length}\r\n\r\n${ALLOWED()}` +
        `POST /mcp HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: ${d.length}\r\nConnection: close\r\n\r\n${d}`,
    );
    // Content-Length smaller than the body: the tail is the next request
    const tail = `POST /mcp HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: ${d.length}\r\nConnection: close\r\n\r\n${d}`;
    await raw(
      `POST /mcp HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: ${ALLOWED().length}\r\n\r\n${ALLOWED()}${tail}`,
    );
    // GET without length, body bytes follow (they are the next request to any parser)
    await raw(`GET /mcp HTTP/1.1\r\nHost: ${host()}\r\n\r\n${tail}`);
    // CL + TE
    await raw(
      `POST /mcp HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
        `${d.length.toString(16)}\r\n${d}\r\n0\r\n\r\n`,
    );
    // absolute-form inside the tunnel
    await raw(post(d, {}, 'POST', `https://${host()}/mcp`));
    expect(shellRuns()).toEqual([]);
  }, 90_000);

  it('batches mixing allowed and denied calls, duplicate ids, nested arrays', async () => {
    const variants = [
      `[${ALLOWED(1)},${DENIED(2)}]`,
      `[${ALLOWED(1)},${DENIED(1)}]`,
      `[${DENIED(1)},${ALLOWED(1)}]`,
      `[[${DENIED(3)}]]`,
      `[${ALLOWED(4)},[${DENIED(5)}]]`,
      `[${ALLOWED('a')},${DENIED('a')},${ALLOWED('a')}]`,
      `[${DENIED(6)},${DENIED(6)}]`,
    ];
    for (const v of variants) await raw(post(v));
    expect(shellRuns()).toEqual([]);
  }, 60_000);

  it('over the limit and at the limit', async () => {
    const d = DENIED();
    const limit = 4 * 1024 * 1024;
    await raw(post(d + ' '.repeat(limit - d.length)));
    await raw(post(d + ' '.repeat(limit - d.length + 1)));
    // declared over the limit, real body short
    await raw(`POST /mcp HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: ${limit + 10}\r\n\r\n${d}`, false);
    expect(shellRuns()).toEqual([]);
  }, 90_000);
});
