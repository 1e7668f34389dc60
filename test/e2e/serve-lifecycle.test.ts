import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { runServeClient, startServe, type ServeProcess } from '../helpers/gov-serve.js';
import { auditRecords } from '../helpers/audit-records.js';
import { startOtlpReceiver, type OtlpReceiver } from '../audit/otlp-receiver.js';
import { eventually } from '../helpers/until.js';
import { pendingCalls } from '../helpers/approval-peers.js';

/**
 * Issues 15 and 20 under `gov serve`: shadow mode, OTLP export of signed records with the
 * callers' trace context, and taint kept per gateway session.
 */
const CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'sdk-serve-client.mjs');
const SECRET = 'upstream-secret-value-424242';
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

type Line = {
  step: string;
  session?: string;
  result?: { content: Array<{ text: string }> };
  error?: { message: string };
};

/** One JSON-RPC POST to the gateway (plain HTTP on loopback); resolves with the body. */
function post(url: string, message: object, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { ...HEADERS, ...headers } }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve(b));
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('timeout')));
    req.end(JSON.stringify(message));
  });
}

const call = (id: number, name: string, args: object, meta?: object) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
});

describe('gov serve --shadow --audit-otlp: advisory decisions, signed records shipped with trace context', () => {
  let pki: TestPki;
  let server: McpTestServer;
  let home: string;
  let rx: OtlpReceiver;
  let gov: ServeProcess;
  const env = () => ({
    GOV_HOME: home,
    GOV_VAULT_BACKEND: 'passphrase',
    GOV_VAULT_PASSPHRASE: 'correct horse battery',
  });

  beforeAll(async () => {
    pki = makeTestPki();
    server = await startMcpServer(pki, 'stateless');
    rx = await startOtlpReceiver();
    home = tempHome();
    await sealWithFastKdf(home, 'correct horse battery');
    writeFileSync(
      join(home, 'gov.yaml'),
      `version: 1
default: allow
rules:
  - id: no-shell
    tool: shell_exec
    decision: deny
credentials:
  - secret: api-token
    hosts: ["127.0.0.1:${server.port}"]
    header: Authorization
    format: "Bearer {secret}"
`,
    );
    const set = await runGov(['vault', 'set', 'api-token'], { env: env(), input: SECRET + '\n' });
    expect(set.code, set.stderr).toBe(0);
    gov = await startServe(
      [
        '--target',
        server.mcpUrl,
        '--policy',
        join(home, 'gov.yaml'),
        '--upstream-ca',
        pki.caPath,
        '--shadow',
        '--audit-otlp',
        rx.url,
      ],
      env(),
    );
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    await server?.close();
    await rx?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('forwards a denied call, records shadow_decision, and still injects and redacts', async () => {
    const url = `${gov.url}/mcp`;
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const metaTrace = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const shell = await post(url, call(1, 'shell_exec', { cmd: 'shadowed' }), {
      traceparent,
      tracestate: 'vendor=1',
    });
    expect(shell).toContain('ran shadowed');
    expect(server.executed.find((e) => e.tool === 'shell_exec')?.args).toEqual({ cmd: 'shadowed' });
    const who = await post(url, call(2, 'whoami', {}, { traceparent: metaTrace }));
    expect(server.executed.find((e) => e.tool === 'whoami')?.authorization).toBe(`Bearer ${SECRET}`);
    expect(who).toContain('[REDACTED:vault]');
    expect(who).not.toContain(SECRET);

    const tail = await runGov(['audit', 'tail', '--shadow', '--json'], { env: env() });
    expect(tail.code, tail.stderr).toBe(0);
    const shadowed = tail.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(shadowed).toHaveLength(1);
    expect(shadowed[0]).toMatchObject({
      tool: 'shell_exec',
      transport: 'gateway',
      decision: 'allow',
      shadow_decision: 'deny',
      shadow_rule: 'no-shell',
      trace: { traceparent, tracestate: 'vendor=1' },
    });

    // While it serves, the run is in progress and proves it on its control socket.
    const live = await runGov(['audit', 'verify'], { env: env() });
    expect(live.code, live.stdout + live.stderr).toBe(0);

    // Sealed on SIGTERM; every record, the seal included, reaches the collector.
    expect(await gov.stop()).toBe(0);
    const recs = auditRecords(home);
    expect(recs.at(-1)).toMatchObject({ kind: 'run_end', detail: { export: { dropped: 0 } } });
    await rx.waitFor(recs.length);
    const file = readFileSync(join(home, 'audit', `${String(recs[0]!['run'])}.jsonl`), 'utf8');
    expect(rx.logs.map((l) => l.body)).toEqual(file.trim().split('\n'));
    const shipped = (r: Record<string, unknown>) => rx.logs.find((l) => l.attributes['gov.id'] === r['id'])!;
    for (const r of recs) {
      const l = shipped(r);
      expect(l.attributes).toMatchObject({ 'gov.run': r['run'], 'gov.seq': r['seq'], 'gov.kind': r['kind'] });
      expect(l.attributes['gov.hash']).toBe(r['hash']);
      if (r['signature'] !== undefined) expect(l.attributes['gov.signature']).toBe(r['signature']);
    }
    expect(shipped(recs.at(-1)!).attributes['gov.signature']).toEqual(expect.any(String));
    const shellLogs = rx.logs.filter((l) => l.attributes['gov.tool'] === 'shell_exec');
    const whoLogs = rx.logs.filter((l) => l.attributes['gov.tool'] === 'whoami');
    expect(shellLogs.length).toBeGreaterThan(0);
    expect(whoLogs.length).toBeGreaterThan(0);
    for (const l of shellLogs)
      expect(l).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' });
    for (const l of whoLogs)
      expect(l).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' });
    expect(Buffer.concat(rx.raw).toString('latin1')).not.toContain(SECRET);

    // The shipped, signed history verifies against the key an auditor holds.
    const key = await runGov(['audit', 'key'], { env: env() });
    expect(key.stdout.trim()).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const verify = await runGov(['audit', 'verify', '--key', key.stdout.trim()], { env: env() });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 90_000);
});

describe('gov serve: taint is kept per gateway session', () => {
  let pki: TestPki;
  let server: McpTestServer;
  let home: string;
  let gov: ServeProcess;

  beforeAll(async () => {
    pki = makeTestPki();
    server = await startMcpServer(pki, 'json');
    home = tempHome();
    writeFileSync(
      join(home, 'gov.yaml'),
      `version: 1
default: allow
rules:
  - id: tainted-writes
    tool: shell_exec
    when: run.tainted
    decision: approve
`,
    );
    gov = await startServe(
      ['--target', server.mcpUrl, '--policy', join(home, 'gov.yaml'), '--upstream-ca', pki.caPath],
      { GOV_HOME: home },
    );
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    await server?.close();
    rmSync(home, { recursive: true, force: true });
  });

  const client = (steps: unknown[]) =>
    runServeClient<Line>(CLIENT, `${gov.url}/mcp`, steps, { bearer: '', edgeCa: pki.caPath });

  it("a session whose read returned a secret has its writes held; another session's are not", async () => {
    const tainted = client([
      ['call', 'leak'],
      ['call', 'shell_exec', { cmd: 'tainted' }],
    ]);
    const held = await eventually(
      'the held write',
      async () => (await pendingCalls(home)).find((c) => c['tool'] === 'shell_exec'),
      30_000,
    );
    const leak = auditRecords(home).find((r) => r['tool'] === 'leak' && r['status'] === 'forwarded')!;
    const alert = auditRecords(home).find((r) => r['kind'] === 'alert' && r['detail'] !== undefined)!;
    expect(alert['reason']).toMatch(/^gateway session \S+ on \/mcp tainted: the output of tools\/call leak/);
    expect(alert['reason']).toContain(`(audit ${String(leak['id'])})`);
    expect(String(held['reason'])).toMatch(
      new RegExp(`\\[gateway session \\S+ on /mcp tainted by ${String(leak['id'])}\\]`),
    );
    expect(server.executed.map((e) => e.tool)).not.toContain('shell_exec');

    // A second client, its own session: untainted, its write goes straight through.
    const clean = await client([['call', 'shell_exec', { cmd: 'clean' }]]);
    expect(clean[1]!.result!.content[0]!.text).toBe('ran clean');
    expect(server.executed.filter((e) => e.tool === 'shell_exec').map((e) => e.args)).toEqual([
      { cmd: 'clean' },
    ]);

    const denied = await runGov(['deny', String(held['id'])], { env: { GOV_HOME: home } });
    expect(denied.code, denied.stderr).toBe(0);
    const lines = await tainted;
    expect(lines[0]!.session).not.toBe(clean[0]!.session);
    expect(lines[2]!.error!.message).toContain('Denied by approver');
    expect(server.executed.map((e) => JSON.stringify(e.args))).not.toContain('{"cmd":"tainted"}');
  }, 90_000);
});
