import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { runServeClient, startServe, type ServeProcess } from '../helpers/gov-serve.js';

const CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'sdk-serve-client.mjs');
const SECRET = 'upstream-secret-value-123456';

type Line = {
  step: string;
  tool?: string;
  tools?: string[];
  session?: string;
  result?: { content: Array<{ text: string }> };
  error?: { code: number; message: string };
};

/** Raw HTTP(S) request to the gateway; resolves with status, headers and body. */
function raw(
  url: string,
  ca: string,
  o: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    // A Host header of another name must not change which certificate name is checked.
    const opts = { method: o.method ?? 'POST', headers: o.headers ?? {}, ca, servername: 'localhost' };
    const send = url.startsWith('https:') ? request : httpRequest;
    const req = send(url, opts, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('timeout')));
    req.end(o.body);
  });
}

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

describe('gov serve: the official SDK client → gov serve (HTTPS, bearer) → an SDK server', () => {
  let upstreamPki: TestPki;
  let edgePki: TestPki;
  let server: McpTestServer;
  let home: string;
  let policy: string;
  let gov: ServeProcess;
  let token: string;
  const env = () => ({
    GOV_HOME: home,
    GOV_VAULT_BACKEND: 'passphrase',
    GOV_VAULT_PASSPHRASE: 'correct horse battery',
  });
  const mcpUrl = () => `${gov.url}/mcp`;

  const client = (steps: unknown[], bearer = token): Promise<Line[]> =>
    runServeClient<Line>(CLIENT, mcpUrl(), steps, { bearer, edgeCa: edgePki.caPath });

  beforeAll(async () => {
    upstreamPki = makeTestPki();
    edgePki = makeTestPki('gov serve edge CA');
    writeFileSync(join(edgePki.dir, 'cert.pem'), edgePki.certPem);
    writeFileSync(join(edgePki.dir, 'key.pem'), edgePki.keyPem);
    server = await startMcpServer(upstreamPki, 'sse');
    home = tempHome();
    await sealWithFastKdf(home, 'correct horse battery');
    policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: approve
rules:
  - id: reads
    tool: [echo, whoami, leak]
    decision: allow
  - id: no-shell
    tool: "shell*"
    decision: deny
    reason: Shell tools are not allowed
  - id: refunds
    tool: refund
    decision: approve
credentials:
  - secret: api-token
    hosts: ["127.0.0.1:${server.port}"]
    header: Authorization
    format: "Bearer {secret}"
`,
    );
    const set = await runGov(['vault', 'set', 'api-token'], { env: env(), input: SECRET + '\n' });
    expect(set.code, set.stderr).toBe(0);
    const add = await runGov(['serve', 'token', 'add', 'alice'], { env: env() });
    expect(add.code, add.stderr).toBe(0);
    token = add.stdout.trim();
    expect(token).toMatch(/^gov_st_/);
    // Only a hash is stored.
    expect(readFileSync(join(home, 'serve-tokens.json'), 'utf8')).not.toContain(token);
    gov = await startServe(
      [
        '--target',
        server.mcpUrl,
        '--policy',
        policy,
        '--upstream-ca',
        upstreamPki.caPath,
        '--tls-cert',
        join(edgePki.dir, 'cert.pem'),
        '--tls-key',
        join(edgePki.dir, 'key.pem'),
        '--auth',
        'bearer',
        '--approval-timeout',
        '20s',
        '--protocol-version-mode',
        'strict',
        '--protocol-version',
        '2025-06-18',
        '--protocol-version',
        '2025-11-25',
        '--protocol-version',
        '2025-03-26',
      ],
      env(),
    );
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    await server?.close();
  });

  it('filters the list, allows, denies without executing, injects the target credential and redacts', async () => {
    const lines = await client([
      ['list'],
      ['call', 'echo', { text: 'hi' }],
      ['call', 'shell_exec', { cmd: 'rm -rf /' }],
      ['call', 'whoami'],
      ['call', 'leak'],
    ]);
    expect(lines[0]!.step).toBe('connect');
    expect(lines[1]!.tools).not.toContain('shell_exec');
    expect(lines[1]!.tools).toContain('echo');
    expect(lines[2]!.result!.content[0]!.text).toBe('echo: hi');
    expect(lines[3]!.error!.message).toContain("Denied by gov policy rule 'no-shell'");
    expect(server.executed.map((e) => e.tool)).not.toContain('shell_exec');
    // The target saw its own binding, never alice's token; the client sees it redacted.
    const who = server.executed.find((e) => e.tool === 'whoami')!;
    expect(who.authorization).toBe(`Bearer ${SECRET}`);
    expect(JSON.stringify(server.executed)).not.toContain(token);
    expect(lines[4]!.result!.content[0]!.text).toContain('[REDACTED:vault]');
    expect(lines[5]!.result!.content[0]!.text).toContain('[REDACTED:');
    expect(lines[5]!.result!.content[0]!.text).not.toContain('ghp_abcdef');

    const audit = readdirSync(join(home, 'audit'))
      .filter((f) => f.endsWith('.jsonl'))
      .map((f) => readFileSync(join(home, 'audit', f), 'utf8'))
      .join('');
    const calls = audit
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { kind: string; transport?: string; principal?: string; tool?: string });
    const echo = calls.find((r) => r.kind === 'call' && r.tool === 'echo')!;
    expect(echo.transport).toBe('gateway');
    expect(echo.principal).toBe('token:alice');
    expect(audit).not.toContain(SECRET);
    expect(audit).not.toContain(token);
  }, 90_000);

  it('holds a call until gov approve answers it', async () => {
    const pending = client([['call', 'refund', { amount: 5 }]]);
    let id: string | undefined;
    const deadline = Date.now() + 30_000;
    while (!id && Date.now() < deadline) {
      const p = await runGov(['pending', '--json'], { env: env() });
      id = (JSON.parse(p.stdout || '[]') as Array<{ id: string }>)[0]?.id;
    }
    expect(id).toBeDefined();
    expect(server.executed.map((e) => e.tool)).not.toContain('refund');
    const ok = await runGov(['approve', id!], { env: env() });
    expect(ok.code, ok.stderr).toBe(0);
    const lines = await pending;
    expect(lines[1]!.result!.content[0]!.text).toBe('refunded 5');
  }, 90_000);

  it('refuses before the target: no or wrong token 401, bad Origin 403, foreign Host 403, wrong version 400', async () => {
    const before = server.bodies.length;
    const ca = edgePki.caPem;
    const json = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const none = await raw(mcpUrl(), ca, { headers: json, body: INIT });
    expect(none.status).toBe(401);
    expect(String(none.headers['www-authenticate'])).toContain('Bearer');
    const wrong = await raw(mcpUrl(), ca, {
      headers: { ...json, authorization: 'Bearer gov_st_nope' },
      body: INIT,
    });
    expect(wrong.status).toBe(401);
    expect(String(wrong.headers['www-authenticate'])).toContain('invalid_token');
    const auth = { ...json, authorization: `Bearer ${token}` };
    const origin = await raw(mcpUrl(), ca, {
      headers: { ...auth, origin: 'https://evil.example' },
      body: INIT,
    });
    expect(origin.status).toBe(403);
    const host = await raw(mcpUrl(), ca, { headers: { ...auth, host: 'rebind.example' }, body: INIT });
    expect(host.status).toBe(403);
    const version = await raw(mcpUrl(), ca, {
      headers: { ...auth, 'mcp-protocol-version': '1999-01-01' },
      body: INIT,
    });
    expect(version.status).toBe(400);
    expect(server.bodies.length).toBe(before);
    // A loopback Origin is allowed by default.
    const ok = await raw(mcpUrl(), ca, { headers: { ...auth, origin: 'http://localhost:3000' }, body: INIT });
    expect(ok.status).toBe(200);
  }, 60_000);

  it('answers 404 to an unknown or expired session, without reaching the target', async () => {
    const ca = edgePki.caPem;
    const auth = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
    };
    const init = await raw(mcpUrl(), ca, { headers: auth, body: INIT });
    const sid = String(init.headers['mcp-session-id']);
    expect(sid.length).toBeGreaterThan(0);
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' });
    const live = await raw(mcpUrl(), ca, {
      headers: { ...auth, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
      body: ping,
    });
    expect(live.status).toBe(200);
    const unknown = await raw(mcpUrl(), ca, {
      headers: { ...auth, 'mcp-session-id': 'not-a-session', 'mcp-protocol-version': '2025-06-18' },
      body: ping,
    });
    expect(unknown.status).toBe(404);

    // Expiry: a second instance whose sessions live 1 s. Each poll is a request in the session
    // (which a TTL, unlike idle time, does not extend) until the answer is 404.
    const short = await startServe(
      [
        '--target',
        server.mcpUrl,
        '--policy',
        policy,
        '--upstream-ca',
        upstreamPki.caPath,
        '--session-ttl',
        '1s',
      ],
      env(),
    );
    try {
      const plain = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      const opened = await raw(`${short.url}/mcp`, '', { headers: plain, body: INIT });
      const shortSid = String(opened.headers['mcp-session-id']);
      const inSession = { ...plain, 'mcp-session-id': shortSid, 'mcp-protocol-version': '2025-06-18' };
      const deadline = Date.now() + 20_000;
      let answer: Awaited<ReturnType<typeof raw>>;
      let before: number;
      do {
        expect(Date.now(), 'the session did not expire within 20 s').toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 50));
        before = server.bodies.length;
        answer = await raw(`${short.url}/mcp`, '', { headers: inSession, body: ping });
      } while (answer.status === 200);
      expect(answer.status).toBe(404);
      expect(answer.body).toContain('session expired');
      expect(server.bodies.length).toBe(before);
    } finally {
      await short.stop();
    }
  }, 60_000);

  it('serves /healthz and /readyz without a token', async () => {
    expect((await raw(`${gov.url}/healthz`, edgePki.caPem, { method: 'GET' })).status).toBe(200);
    expect((await raw(`${gov.url}/readyz`, edgePki.caPem, { method: 'GET' })).status).toBe(200);
  });
});
