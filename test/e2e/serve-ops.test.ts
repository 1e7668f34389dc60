import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { makeThrowawayPki } from '../../scripts/lib/throwaway-pki.js';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { tempHome } from '../helpers/gov-process.js';
import { startServe, type ServeProcess } from '../helpers/gov-serve.js';
import { until } from '../helpers/until.js';

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

function auditText(home: string): string {
  return readdirSync(join(home, 'audit'))
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => readFileSync(join(home, 'audit', f), 'utf8'))
    .join('');
}

describe('gov serve with mTLS: only certificates from --client-ca get in', () => {
  let upstreamPki: TestPki;
  let edgePki: TestPki;
  let server: McpTestServer;
  let home: string;
  let gov: ServeProcess;
  const clientPki = makeThrowawayPki({ name: 'gov serve client CA', clientAuth: true });
  const strangerPki = makeThrowawayPki({ name: 'another CA', clientAuth: true });

  beforeAll(async () => {
    upstreamPki = makeTestPki();
    edgePki = makeTestPki('gov serve edge CA');
    server = await startMcpServer(upstreamPki, 'json');
    home = tempHome();
    writeFileSync(join(edgePki.dir, 'cert.pem'), edgePki.certPem);
    writeFileSync(join(edgePki.dir, 'key.pem'), edgePki.keyPem);
    writeFileSync(join(edgePki.dir, 'clients.pem'), clientPki.caPem);
    writeFileSync(join(home, 'gov.yaml'), 'version: 1\ndefault: allow\n');
    gov = await startServe(
      [
        '--target',
        server.mcpUrl,
        '--policy',
        join(home, 'gov.yaml'),
        '--upstream-ca',
        upstreamPki.caPath,
        '--tls-cert',
        join(edgePki.dir, 'cert.pem'),
        '--tls-key',
        join(edgePki.dir, 'key.pem'),
        '--auth',
        'mtls',
        '--client-ca',
        join(edgePki.dir, 'clients.pem'),
      ],
      { GOV_HOME: home },
    );
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    await server?.close();
  });

  const post = (cert?: { certPem: string; keyPem: string }) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        `${gov.url}/mcp`,
        {
          method: 'POST',
          headers: HEADERS,
          ca: edgePki.caPem,
          ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.setTimeout(15_000, () => req.destroy(new Error('timeout')));
      req.end(INIT);
    });

  it('refuses a client without a certificate or with another CA’s, in the TLS handshake', async () => {
    const before = server.bodies.length;
    await expect(post()).rejects.toThrow();
    await expect(post(strangerPki)).rejects.toThrow();
    expect(server.bodies.length).toBe(before);
  });

  it('admits a client certificate from --client-ca and records its subject as the principal', async () => {
    expect(await post(clientPki)).toBe(200);
    const init = auditText(home)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { method?: string; principal?: string })
      .find((r) => r.method === 'initialize');
    expect(init?.principal).toMatch(/^cert:CN=localhost/);
  });
});

describe('gov serve policy reload on SIGHUP', () => {
  let pki: TestPki;
  let server: McpTestServer;
  let home: string;
  let policy: string;
  let gov: ServeProcess;

  const call = (id: number) =>
    new Promise<string>((resolve, reject) => {
      const u = new URL(`${gov.url}/mcp`);
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name: 'echo', arguments: { text: `n${id}` } },
      });
      const req = httpRequest(u, { method: 'POST', headers: HEADERS }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      req.setTimeout(15_000, () => req.destroy(new Error('timeout')));
      req.end(body);
    });

  beforeAll(async () => {
    pki = makeTestPki();
    server = await startMcpServer(pki, 'stateless');
    home = tempHome();
    policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      'version: 1\ndefault: deny\nrules:\n  - id: echo-ok\n    tool: echo\n    decision: allow\n',
    );
    gov = await startServe(['--target', server.mcpUrl, '--policy', policy, '--upstream-ca', pki.caPath], {
      GOV_HOME: home,
    });
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    await server?.close();
  });

  it('keeps the old policy when the new one is broken, applies a valid one to the next call', async () => {
    expect(await call(1)).toContain('echo: n1');
    const notReloaded = () => gov.stderr().split('policy not reloaded').length - 1;
    writeFileSync(policy, 'version: 1\nrules: [\n');
    await until(() => notReloaded() >= 1, 'the watcher to reject the broken policy', 20_000);
    // One line naming file:line:col.
    const line = gov
      .stderr()
      .split('\n')
      .find((l) => l.includes('policy not reloaded'))!;
    expect(line).toContain(`policy not reloaded: ${policy}:`);
    expect(line).toMatch(/gov\.yaml:\d+:\d+: .* — keeping the previous policy$/);
    gov.child.kill('SIGHUP');
    await until(() => notReloaded() >= 2, 'SIGHUP to re-read (and reject) the broken policy', 20_000);
    expect(await call(2)).toContain('echo: n2');

    writeFileSync(
      policy,
      'version: 1\ndefault: allow\nrules:\n  - id: no-echo\n    tool: echo\n    decision: deny\n',
    );
    gov.child.kill('SIGHUP');
    await until(() => gov.stderr().includes('policy reloaded'), 'the valid policy', 20_000);
    const denied = await call(3);
    expect(denied).toContain("Denied by gov policy rule 'no-echo'");
    expect(server.executed.map((e) => (e.args as { text?: string }).text)).not.toContain('n3');
    const records = auditText(home)
      .split('\n')
      .filter(Boolean)
      .map(
        (l) => JSON.parse(l) as { kind: string; policy_digest?: string; detail?: Record<string, unknown> },
      );
    const start = records.find((r) => r.kind === 'run_start')!;
    const reload = records.find((r) => r.kind === 'policy_reload')!;
    expect(reload.detail?.['old_policy_digest']).toBe(start.policy_digest);
    expect(reload.policy_digest).not.toBe(start.policy_digest);
  }, 60_000);

  it('drains on SIGTERM and seals the audit', async () => {
    expect(await gov.stop()).toBe(0);
    expect(auditText(home)).toContain('"kind":"run_end"');
  });
});
