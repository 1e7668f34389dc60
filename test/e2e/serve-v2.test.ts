import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { SECRET, startMcp2026Server, type Mcp2026TestServer } from '../helpers/mcp2026-server.js';
import { ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { runServeClient, startServe, type ServeProcess } from '../helpers/gov-serve.js';
import { auditRecords } from '../helpers/audit-records.js';

const SDK2_CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'sdk2-client.mjs');
const UPSTREAM_TOKEN = 'upstream-credential-2026-abcdef';

type Line = {
  step: string;
  tools?: string[];
  result?: { content: Array<{ type: string; text?: string; resource?: { text?: string } }> };
  error?: { code: number; message: string };
};

describe('gov serve: the official SDK v2 client (2026-07-28) → gov serve (HTTPS, bearer) → an SDK v2 server', () => {
  let upstreamPki: TestPki;
  let edgePki: TestPki;
  let server: Mcp2026TestServer;
  let home: string;
  let gov: ServeProcess;
  let token: string;
  const env = () => ({
    GOV_HOME: home,
    GOV_VAULT_BACKEND: 'passphrase',
    GOV_VAULT_PASSPHRASE: 'correct horse battery',
  });

  const client = (steps: unknown[]): Promise<Line[]> =>
    runServeClient<Line>(SDK2_CLIENT, `${gov.url}/mcp`, steps, { bearer: token, edgeCa: edgePki.caPath });

  beforeAll(async () => {
    upstreamPki = makeTestPki();
    edgePki = makeTestPki('gov serve edge CA');
    writeFileSync(join(edgePki.dir, 'cert.pem'), edgePki.certPem);
    writeFileSync(join(edgePki.dir, 'key.pem'), edgePki.keyPem);
    server = await startMcp2026Server(upstreamPki);
    home = tempHome();
    await sealWithFastKdf(home, 'correct horse battery');
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: approve
tools_list: hide_denied
rules:
  - id: reads
    tool: [echo, leak_resource]
    decision: allow
  - id: no-shell
    tool: "shell*"
    decision: deny
    reason: Shell tools are not allowed
  - id: refunds
    tool: refund
    decision: approve
credentials:
  - secret: upstream-token
    hosts: ["127.0.0.1:${server.port}"]
    header: Authorization
    format: "Bearer {secret}"
`,
    );
    const set = await runGov(['vault', 'set', 'upstream-token'], {
      env: env(),
      input: UPSTREAM_TOKEN + '\n',
    });
    expect(set.code, set.stderr).toBe(0);
    const add = await runGov(['serve', 'token', 'add', 'v2-agent'], { env: env() });
    expect(add.code, add.stderr).toBe(0);
    token = add.stdout.trim();
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
        '2026-07-28',
      ],
      env(),
    );
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    await server?.close();
  });

  it('filters the list, allows, denies without executing, injects the target credential, redacts, records the principal', async () => {
    const lines = await client([
      ['list'],
      ['call', 'echo', { text: 'hi' }],
      ['call', 'shell_exec', { cmd: 'id' }],
      ['call', 'leak_resource'],
    ]);
    const [list, echo, shell, leak] = lines;
    expect(list!.tools).toContain('echo');
    expect(list!.tools).not.toContain('shell_exec');
    expect(echo!.result!.content[0]!.text).toBe('echo: hi');
    expect(shell!.error!.message).toContain("Denied by gov policy rule 'no-shell'");
    expect(server.executed.map((e) => e.tool)).not.toContain('shell_exec');
    expect(JSON.stringify(leak!.result)).not.toContain(SECRET);
    expect(JSON.stringify(leak!.result)).toContain('[REDACTED:');
    // The target got its own credential, never the agent's gov token.
    const calls = server.requests.filter((q) => q.method === 'tools/call');
    expect(calls.length).toBeGreaterThan(0);
    for (const q of calls) expect(q.headers['authorization']).toBe(`Bearer ${UPSTREAM_TOKEN}`);
    expect(JSON.stringify(server.requests)).not.toContain(token);
    const records = auditRecords(home) as Array<{
      kind: string;
      tool?: string;
      principal?: string;
      transport?: string;
    }>;
    const echoed = records.find((r) => r.kind === 'call' && r.tool === 'echo')!;
    expect(echoed).toMatchObject({ transport: 'gateway', principal: 'token:v2-agent' });
  }, 90_000);

  it('holds a call until gov approve answers it', async () => {
    const pending = client([['call', 'refund', { amount: 7 }]]);
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
    const [refund] = await pending;
    expect(refund!.result!.content[0]!.text).toBe('refunded 7');
    expect(server.executed.map((e) => e.tool)).toContain('refund');
  }, 90_000);
});
