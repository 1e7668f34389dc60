/**
 * gov serve's upstream side against a hostile client: can it steer its request (and the
 * credential gov injects) elsewhere than the mounted target, or smuggle headers through?
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { startServe, type ServeProcess } from '../helpers/gov-serve.js';

const SECRET = 'gw-upstream-secret-0123456789';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

async function logServer(
  answer: (s: Seen, res: ServerResponse) => void,
): Promise<{ port: number; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(s);
      answer(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** One raw HTTP/1.1 request (exact request line and headers); resolves with the raw answer. */
function rawRequest(port: number, head: string, body = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(10_000, () => (s.destroy(), resolve(out)));
    s.write(head.replace(/\n/g, '\r\n') + '\r\n' + body);
  });
}

const BODY = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'echo', arguments: {} },
});

describe('gov serve upstream side: target confinement and header hygiene', () => {
  let up: Awaited<ReturnType<typeof logServer>>;
  let elsewhere: Awaited<ReturnType<typeof logServer>>;
  let gov: ServeProcess;
  let port: number;

  beforeAll(async () => {
    elsewhere = await logServer((_s, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
    );
    up = await logServer((s, res) => {
      if (s.url.includes('redirect'))
        return void res.writeHead(307, { location: `http://127.0.0.1:${elsewhere.port}/stolen` }).end();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'ok' }] } }));
    });
    const home = tempHome();
    await sealWithFastKdf(home, 'pw pw pw');
    const env = {
      ...process.env,
      GOV_HOME: home,
      GOV_VAULT_BACKEND: 'passphrase',
      GOV_VAULT_PASSPHRASE: 'pw pw pw',
    };
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: allow
rules: []
credentials:
  - secret: api
    hosts: ["127.0.0.1:${up.port}"]
    scheme: http
    header: X-Api-Key
    format: "{secret}"
`,
    );
    const set = await runGov(['vault', 'set', 'api'], { env, input: SECRET + '\n' });
    expect(set.code, set.stderr).toBe(0);
    gov = await startServe(['--target', `http://127.0.0.1:${up.port}/mcp`, '--policy', policy], env);
    port = Number(new URL(gov.url).port);
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    await up?.close();
    await elsewhere?.close();
  });

  const post = (target: string, extra = '') =>
    rawRequest(
      port,
      `POST ${target} HTTP/1.1\nHost: 127.0.0.1:${port}\nContent-Type: application/json\nAccept: application/json, text/event-stream\nContent-Length: ${BODY.length}\nConnection: close\n${extra}`,
      BODY,
    );

  it('paths that leave the mount do not reach other upstream paths', async () => {
    const tries = [
      '/mcp/../admin',
      '/mcp/%2e%2e/admin',
      '/mcp/..%2fadmin',
      '/mcp//evil.example/x',
      'http://evil.example/mcp',
      '/mcp\\..\\admin',
    ];
    const answers: Record<string, string> = {};
    for (const t of tries) answers[t] = (await post(t)).split('\r\n')[0]!;
    // A non-MCP GET out of the mount: forwarded ungoverned, with the credential?
    answers['GET /mcp/../admin/users'] = (
      await rawRequest(port, `GET /mcp/../admin/users HTTP/1.1\nHost: 127.0.0.1:${port}\nConnection: close\n`)
    ).split('\r\n')[0]!;
    const paths = up.seen.map((s) => `${s.method} ${s.url} key=${String(s.headers['x-api-key'] === SECRET)}`);
    const outside = up.seen.filter((s) => !new URL(s.url, 'http://x').pathname.startsWith('/mcp'));
    // Nothing may reach a path that, once its dot segments are resolved (as any normalising
    // front end or framework does), lies outside the mounted /mcp — least of all with the credential.
    expect(
      outside.map((s) => s.url),
      JSON.stringify({ answers, paths }, null, 1),
    ).toEqual([]);
  }, 30_000);

  it('client headers that must not travel do not reach the upstream; the injected credential wins', async () => {
    up.seen.length = 0;
    await post(
      '/mcp',
      'Proxy-Authorization: Basic c3RvbGVuOnN0b2xlbg==\nForwarded: for=1.2.3.4\nX-Forwarded-For: 1.2.3.4\nX-Api-Key: client-chosen\nTE: trailers\nUpgrade: h2c\nKeep-Alive: timeout=5\nX-Hop: secret\nConnection: close, X-Hop, X-Api-Key\n',
    );
    const h = up.seen[0]!.headers;
    expect(h['proxy-authorization']).toBeUndefined();
    expect(h['x-hop']).toBeUndefined();
    expect(h['te']).toBeUndefined();
    expect(h['upgrade']).toBeUndefined();
    expect(h['x-api-key']).toBe(SECRET);
    // gov serve is the edge: a client's claims about earlier hops are not passed on.
    expect(h['forwarded']).toBeUndefined();
    expect(h['x-forwarded-for']).toBeUndefined();
  }, 30_000);

  it('an upstream redirect is not followed with the credential', async () => {
    const r = await post('/mcp/redirect');
    expect(elsewhere.seen).toEqual([]);
    expect(r).not.toContain(SECRET);
  }, 30_000);
});
