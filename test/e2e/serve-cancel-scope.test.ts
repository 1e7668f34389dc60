/**
 * gov serve with bearer auth and a stateless upstream (no Mcp-Session-Id, as in
 * 2026-07-28 or a stateless 2025 server): two authenticated clients share one gateway. A
 * `notifications/cancelled` from one client must not withdraw another client's held call,
 * whose JSON-RPC id it only has to guess (ids are small integers in every SDK).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { startServe, type ServeProcess } from '../helpers/gov-serve.js';

function post(
  url: string,
  ca: string,
  bearer: string,
  body: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca: readFileSync(ca),
        servername: 'localhost',
        headers: {
          authorization: `Bearer ${bearer}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-06-18',
        },
      },
      (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe("gov serve: one client cannot withdraw another client's held call", () => {
  let upstreamPki: TestPki;
  let edgePki: TestPki;
  let server: McpTestServer;
  let home: string;
  let gov: ServeProcess;
  let alice: string;
  let mallory: string;
  const env = () => ({ GOV_HOME: home, GOV_VAULT_BACKEND: 'passphrase', GOV_VAULT_PASSPHRASE: 'x y z w' });

  beforeAll(async () => {
    upstreamPki = makeTestPki();
    edgePki = makeTestPki('gov serve edge CA');
    writeFileSync(join(edgePki.dir, 'cert.pem'), edgePki.certPem);
    writeFileSync(join(edgePki.dir, 'key.pem'), edgePki.keyPem);
    server = await startMcpServer(upstreamPki, 'stateless');
    home = tempHome();
    await sealWithFastKdf(home, 'x y z w');
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      'version: 1\ndefault: allow\nrules:\n  - id: refunds\n    tool: refund\n    decision: approve\n',
    );
    alice = (await runGov(['serve', 'token', 'add', 'alice'], { env: env() })).stdout.trim();
    mallory = (await runGov(['serve', 'token', 'add', 'mallory'], { env: env() })).stdout.trim();
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
        '30s',
      ],
      env(),
    );
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    await server?.close();
  });

  it('keeps alice call held when mallory cancels the same id', async () => {
    const url = `${gov.url}/mcp`;
    const aliceCall = post(url, edgePki.caPath, alice, {
      jsonrpc: '2.0',
      id: 42,
      method: 'tools/call',
      params: { name: 'refund', arguments: { amount: 5 } },
    });
    const pending = async () =>
      JSON.parse((await runGov(['pending', '--json'], { env: env() })).stdout) as Array<{ id: string }>;
    for (let i = 0; i < 100 && (await pending()).length === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    const [held] = await pending();
    expect(held).toBeDefined();

    const m = await post(url, edgePki.caPath, mallory, {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 42, reason: 'mallory' },
    });
    expect(m.status).toBe(202);
    // Mallory's cancel named no call of his: alice's call still waits for its human, who
    // decides it. (Before, alice got HTTP 202 with an empty body and the held call was gone.)
    await runGov(['deny', held!.id], { env: env() });
    const a = await aliceCall;
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toMatchObject({ id: 42, error: { code: -32003 } });
  }, 60_000);
});
