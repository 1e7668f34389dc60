/**
 * gov serve mounts a server's base path under a route prefix, with that route's policy and
 * injected credential. A request path gov reads as under the base path but an upstream
 * normalises to somewhere else escapes the route: Tomcat, Jetty and Spring strip `;params`
 * from segments before resolving dot segments (`/mcp/..;/admin` is `/admin`), WHATWG-URL
 * servers drop a `#fragment` and treat `\` as `/`, some decode twice or accept overlong
 * UTF-8. The upstream here logs each raw request path; every way such servers read it must
 * stay under the mounted base path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { connect, type AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { startServe, type ServeProcess } from '../helpers/gov-serve.js';
import { startLoggingServer, type LoggingServer } from '../helpers/logging-server.js';
import { auditRecords } from '../helpers/audit-records.js';
import { until } from '../helpers/until.js';

const SECRET = 'route-escape-secret-0123456789';

/** `%XX` escapes decoded as bytes, then read as UTF-8 (a lax decoder: bad bytes become U+FFFD). */
const decode = (s: string): string =>
  Buffer.from(
    s.replace(/%([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');

const stripParams = (p: string): string => p.replace(/;[^/]*/g, '');
const resolve = (p: string): string => posix.normalize(p.replace(/\\/g, '/'));

/** Where servers that normalise request paths would route `raw` (path only). */
function readings(raw: string): string[] {
  const path = raw.split('?')[0]!;
  const noFragment = path.split('#')[0]!;
  return [
    // Tomcat / Jetty: `;params` off, then decoded, then dot segments resolved.
    resolve(decode(stripParams(path))),
    // Spring (UrlPathHelper): decoded first, then `;` content removed.
    resolve(stripParams(decode(path))),
    // WHATWG URL (`new URL(req.url, base)`): fragment dropped, `\` as `/`, `%2e` as `.`.
    resolve(decode(new URL(raw, 'http://upstream').pathname)),
    // Decoded twice (a front end decodes, the framework decodes again).
    resolve(stripParams(decode(decode(noFragment)))),
    // Overlong UTF-8 taken as ASCII (old decoders), and Unicode NFKC compatibility forms.
    resolve(stripParams(decode(noFragment.replace(/%c0%ae/gi, '.').replace(/%c0%af/gi, '/')))),
    resolve(stripParams(decode(noFragment).normalize('NFKC'))),
  ];
}

/** Request headers some servers route by instead of the request line. */
const PATH_OVERRIDES = [
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-forwarded-uri',
  'x-forwarded-prefix',
  'x-forwarded-path',
  'x-envoy-original-path',
];

const under = (base: string, p: string) => p === base || p.startsWith(base + '/');

/** One raw HTTP/1.1 request with this exact request target; resolves with the status line. */
function rawPost(port: number, target: string, extraHeaders = ''): Promise<string> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
  return new Promise((done, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('end', () => done(out));
    s.on('error', reject);
    s.setTimeout(10_000, () => (s.destroy(), done(out)));
    s.write(
      `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
        `Accept: application/json, text/event-stream\r\nContent-Length: ${body.length}\r\n` +
        `Connection: close\r\n${extraHeaders}\r\n${body}`,
    );
  });
}

describe('gov serve: a request under one route never reaches another upstream path', () => {
  let mcp: LoggingServer;
  let root: LoggingServer;
  let gov: ServeProcess;
  let home: string;
  let port: number;

  beforeAll(async () => {
    mcp = await startLoggingServer(null);
    root = await startLoggingServer(null);
    home = tempHome();
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
    hosts: ["127.0.0.1:${mcp.port}", "127.0.0.1:${root.port}"]
    scheme: http
    header: X-Api-Key
    format: "{secret}"
`,
    );
    const set = await runGov(['vault', 'set', 'api'], { env, input: SECRET + '\n' });
    expect(set.code, set.stderr).toBe(0);
    // A prefix that differs from the base path, and the root prefix mounted on a base path.
    gov = await startServe(
      ['--route', `/github=${mcp.url}/mcp`, '--route', `/=${root.url}/api`, '--policy', policy],
      env,
    );
    port = Number(new URL(gov.url).port);
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    await mcp?.close();
    await root?.close();
  });

  /** Every request each upstream received whose path some server would route outside its base. */
  const escapes = () => [
    ...mcp.log.filter((r) => readings(r.url).some((p) => !under('/mcp', p))).map((r) => `mcp ${r.url}`),
    ...root.log.filter((r) => readings(r.url).some((p) => !under('/api', p))).map((r) => `api ${r.url}`),
  ];

  it('matrix parameters, fragments, double encoding and lookalike dots do not leave the mount', async () => {
    const tries = [
      '/github/..;/admin',
      '/github/.;x/..;/x',
      '/github/%2e%2e;/x',
      '/github/%2E%2e;jsessionid=1/x',
      '/github/..;a=b/..;/etc',
      '/github/..%3b/admin',
      '/github/..#/admin',
      '/github/x/..%23/../../admin',
      '/github/%252e%252e/admin',
      '/github/..%252fadmin',
      '/github/%c0%ae%c0%ae/admin',
      '/github/..%c0%afadmin',
      '/github/\uff0e\uff0e/admin'.replace(/[^\x00-\x7f]/g, (c) => encodeURIComponent(c)),
      '/github/..%00/admin',
      '/github/..%3f/admin',
      '/..;/admin',
      '/%2e%2e;/admin',
      '/x/..;/..;/admin',
      '/github//admin',
      // Absolute-form: gov serve is no proxy (this went to the root route's server before).
      `http://127.0.0.1:1/github/x`,
      '*',
    ];
    const answers: Record<string, string> = {};
    for (const t of tries) answers[t] = await rawPost(port, t);
    const statusLines = Object.fromEntries(tries.map((t) => [t, answers[t]!.split('\r\n')[0]]));
    expect(escapes(), JSON.stringify(statusLines, null, 1)).toEqual([]);
    // Each is refused with a JSON-RPC error that says why, and an audit alert naming the path.
    for (const t of tries) {
      expect(statusLines[t], t).toMatch(/^HTTP\/1\.1 400 /);
      const body = JSON.parse(answers[t]!.split('\r\n\r\n')[1]!) as { error: { message: string } };
      expect(body.error.message, t).toMatch(/a server may route it outside the mounted path; refused$/);
    }
    const refusedPaths = () =>
      auditRecords(home)
        .filter((r) => r['kind'] === 'alert' && String(r['reason']).includes('refused a request (400)'))
        .map((r) => (r['detail'] as { path: string }).path);
    await until(() => refusedPaths().length >= tries.length, 'an alert per refused path', 10_000);
    expect(refusedPaths()).toContain('/github/..;/admin');
  }, 60_000);

  it('headers that override the request path (Symfony, IIS, nginx, Traefik, Spring) do not reach the upstream', async () => {
    mcp.log.length = 0;
    const overrides = PATH_OVERRIDES.map((h) => `${h}: /admin\r\n`).join('');
    expect((await rawPost(port, '/github/x', overrides)).split('\r\n')[0]).toMatch(/^HTTP\/1\.1 200 /);
    expect(mcp.log.map((r) => r.url)).toEqual(['/mcp/x']);
    const names = mcp.log[0]!.rawHeaders.filter((_v, i) => i % 2 === 0).map((h) => h.toLowerCase());
    expect(names.filter((h) => PATH_OVERRIDES.includes(h))).toEqual([]);
  }, 60_000);

  it('ordinary paths, and a jsessionid-style parameter, still reach the mount', async () => {
    mcp.log.length = 0;
    root.log.length = 0;
    const ok = ['/github', '/github/', '/github/sub;v=1/x', '/github?x=%2e%2e', '/', '/tools/list'];
    for (const t of ok) expect((await rawPost(port, t)).split('\r\n')[0], t).toMatch(/^HTTP\/1\.1 200 /);
    expect(mcp.log.map((r) => r.url)).toEqual(['/mcp', '/mcp/', '/mcp/sub;v=1/x', '/mcp?x=%2e%2e']);
    expect(root.log.map((r) => r.url)).toEqual(['/api/', '/api/tools/list']);
    expect(escapes()).toEqual([]);
  }, 60_000);
});

/**
 * A 2024-11-05 server at `/mcp`: `GET /mcp/sse` announces `endpoint` (as given), `POST`s are
 * logged (that log is what reached it).
 */
async function startLegacyServer(
  endpoint: string,
): Promise<{ server: Server; port: number; posts: string[] }> {
  const posts: string[] = [];
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: endpoint\ndata: ${endpoint}\n\n`);
      return;
    }
    posts.push(req.url ?? '');
    req.resume();
    req.on('end', () => res.writeHead(202).end('Accepted'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, posts };
}

describe('gov serve: a 2024-11-05 endpoint is announced under its route', () => {
  let legacy: Awaited<ReturnType<typeof startLegacyServer>>;
  let root: LoggingServer;
  let gov: ServeProcess;

  beforeAll(async () => {
    legacy = await startLegacyServer('/mcp/messages?sessionId=s1');
    root = await startLoggingServer(null);
    gov = await startServe(
      ['--route', `/github=http://127.0.0.1:${legacy.port}/mcp`, '--route', `/=${root.url}/api`],
      { ...process.env, GOV_HOME: tempHome() },
    );
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    legacy?.server.closeAllConnections();
    legacy?.server.close();
    await root?.close();
  });

  it("the client's POSTs, resolved as MCP clients resolve the endpoint, reach the server that announced it", async () => {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 15_000);
    try {
      const stream = await fetch(`${gov.url}/github/sse`, { signal: ac.signal });
      const reader = stream.body!.getReader();
      let text = '';
      const announced = /event: endpoint\n(?:[^\n]+\n)*?data: (.*)\n/;
      while (!announced.test(text)) text += new TextDecoder().decode((await reader.read()).value);
      const data = announced.exec(text)![1]!;
      // As the SDK's SSEClientTransport does: the endpoint resolved against the stream's URL.
      const endpoint = new URL(data, `${gov.url}/github/sse`);
      const r = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
        signal: ac.signal,
      });
      expect({ data, status: r.status, root: root.log.map((l) => l.url) }).toEqual({
        data: '/github/messages?sessionId=s1',
        status: 202,
        root: [],
      });
      expect(legacy.posts).toEqual(['/mcp/messages?sessionId=s1']);
    } finally {
      clearTimeout(timer);
      ac.abort();
    }
  }, 30_000);
});

describe("gov serve: a redirect names the route's path, never another route's", () => {
  let up: Server;
  let gov: ServeProcess;

  beforeAll(async () => {
    up = createServer((req, res) => {
      const to = { '/mcp/moved': '/mcp/here?x=1', '/mcp/away': '/admin' }[req.url ?? ''];
      res.writeHead(to ? 307 : 404, to ? { location: to } : {}).end();
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const upPort = (up.address() as AddressInfo).port;
    gov = await startServe(['--route', `/github=http://127.0.0.1:${upPort}/mcp`], {
      ...process.env,
      GOV_HOME: tempHome(),
    });
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    up?.closeAllConnections();
    up?.close();
  });

  it('a Location under the base path is given under the prefix; one outside it is withheld', async () => {
    const port = Number(new URL(gov.url).port);
    const location = async (path: string) => {
      const answer = await rawPost(port, path);
      return { status: answer.split('\r\n')[0], location: /\r\nlocation: ([^\r]*)/i.exec(answer)?.[1] };
    };
    expect(await location('/github/moved')).toEqual({
      status: 'HTTP/1.1 307 Temporary Redirect',
      location: '/github/here?x=1',
    });
    // Followed, `/admin` would be another route's path on gov (or none): not passed on.
    expect((await location('/github/away')).location).toBeUndefined();
  }, 30_000);
});

describe('gov serve: a session opened through one route is not taken to another', () => {
  let a: Server;
  let b: LoggingServer;
  let gov: ServeProcess;

  beforeAll(async () => {
    a = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'session-on-a' });
      res.end('{}');
    });
    await new Promise<void>((r) => a.listen(0, '127.0.0.1', r));
    b = await startLoggingServer(null);
    const aUrl = `http://127.0.0.1:${(a.address() as AddressInfo).port}/mcp`;
    gov = await startServe(['--route', `/a=${aUrl}`, '--route', `/b=${b.url}/mcp`], {
      ...process.env,
      GOV_HOME: tempHome(),
    });
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    a?.closeAllConnections();
    a?.close();
    await b?.close();
  });

  it("route /a's session id on route /b gets 404 and never reaches b's server", async () => {
    const port = Number(new URL(gov.url).port);
    expect(await rawPost(port, '/a')).toMatch(/\r\nmcp-session-id: session-on-a\r\n/i);
    expect((await rawPost(port, '/a', 'Mcp-Session-Id: session-on-a\r\n')).split('\r\n')[0]).toMatch(/ 200 /);
    const onB = await rawPost(port, '/b', 'Mcp-Session-Id: session-on-a\r\n');
    expect({ status: onB.split('\r\n')[0], reachedB: b.log.map((r) => r.url) }).toEqual({
      status: 'HTTP/1.1 404 Not Found',
      reachedB: [],
    });
  }, 30_000);
});
