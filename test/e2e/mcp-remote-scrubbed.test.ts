import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { auditRecords } from '../helpers/audit-records.js';
import { ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { isolationSupport } from '../../src/isolation/availability.js';

/** The SDK's stdio client starting the real `mcp-remote` with the SDK's default (scrubbed) environment. */
const CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'sdk-stdio-mcp-remote.mjs');

describe('mcp-remote started by the MCP SDK stdio client (scrubbed environment) is governed', () => {
  let pki: TestPki;
  let server: McpTestServer;
  /** The agent's own home, where mcp-remote keeps its state (GOV_HOME is hidden under --isolate). */
  let userHome: string;
  let policy: string;

  beforeAll(async () => {
    pki = makeTestPki();
    server = await startMcpServer(pki, 'json');
    userHome = mkdtempSync(join(tmpdir(), 'gov-remote-user-'));
    policy = join(userHome, 'gov.yaml');
    writeFileSync(
      policy,
      'version: 1\ndefault: allow\nrules:\n  - id: no-shell\n    tool: "shell*"\n    decision: deny\n',
    );
  });
  afterAll(async () => {
    await server.close();
  });

  const call = async (home: string, isolate: boolean, tool: string, args: string) => {
    const r = await runGov(
      [
        'run',
        '--no-tui',
        ...(isolate ? ['--isolate', '--capture-port', String(server.port)] : []),
        '--policy',
        policy,
        '--upstream-ca',
        pki.caPath,
        '--',
        'node',
        CLIENT,
        server.mcpUrl,
        tool,
        args,
      ],
      {
        env: {
          GOV_HOME: home,
          HOME: userHome,
          GOV_VAULT_BACKEND: 'passphrase',
          GOV_VAULT_PASSPHRASE: 'pw-remote',
        },
        timeoutMs: 90_000,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    return { ...r, out: JSON.parse(r.stdout.trim()) as { result?: unknown; error?: string } };
  };

  const denyThenAllow = async (isolate: boolean) => {
    const home = tempHome('gov-remote-');
    await sealWithFastKdf(home, 'pw-remote');
    const before = server.executed.length;
    const denied = await call(home, isolate, 'shell_exec', '{"cmd":"id"}');
    expect(denied.out.error, denied.stdout).toMatch(/Denied by gov policy rule 'no-shell'/);
    expect(server.executed.slice(before)).toEqual([]);

    const allowed = await call(home, isolate, 'echo', '{"text":"via mcp-remote"}');
    expect(allowed.out.result, allowed.stdout).toEqual({
      content: [{ type: 'text', text: 'echo: via mcp-remote' }],
    });
    expect(server.executed.slice(before).map((e) => e.tool)).toEqual(['echo']);
    // Audited as any proxied call: a decision for each, the allowed one also with its result.
    const calls = auditRecords(home).filter((r) => r['method'] === 'tools/call');
    expect(new Set(calls.map((r) => `${String(r['tool'])} ${String(r['decision'])}`))).toEqual(
      new Set(['shell_exec deny', 'echo allow']),
    );
  };

  it('without --isolate: the preload carries gov’s variables into the bridge', async () => {
    await denyThenAllow(false);
  });

  it.skipIf(!isolationSupport().ok)(
    'with --isolate: the bridge reaches only gov, and trusts its CA',
    async () => {
      await denyThenAllow(true);
    },
  );
});

describe("the preload carries gov's variables, and only those, into a child started with its own environment", () => {
  it('adds proxy, CA, preload and run id; keeps what the program set; never a credential placeholder', async () => {
    const home = tempHome('gov-carry-');
    await sealWithFastKdf(home, 'pw-carry');
    const env = { GOV_HOME: home, GOV_VAULT_BACKEND: 'passphrase', GOV_VAULT_PASSPHRASE: 'pw-carry' };
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      'version: 1\ndefault: allow\ncredentials:\n  - secret: tok\n    hosts: ["api.example.test"]\n    header: Authorization\n    env: API_TOKEN\n',
    );
    const set = await runGov(['vault', 'set', 'tok'], { env, input: 'sk-carry-secret\n' });
    expect(set.code, set.stderr).toBe(0);
    // What the grandchild sees, started by execFile with a two-variable environment.
    const report =
      'console.log(JSON.stringify({ proxy: process.env.HTTPS_PROXY ?? null, ca: process.env.NODE_EXTRA_CA_CERTS ?? null,' +
      ' run: process.env.GOV_RUN_ID ?? null, options: process.env.NODE_OPTIONS ?? "", token: process.env.API_TOKEN ?? null,' +
      ' ssl: process.env.SSL_CERT_FILE ?? null }))';
    const parent =
      'require("node:child_process").execFile(process.execPath, ["-e", process.argv[1]],' +
      ' { env: { PATH: process.env.PATH, SSL_CERT_FILE: "/the/programs/own.pem" } }, (err, out) => process.stdout.write(err ? String(err) : out))';
    const r = await runGov(['run', '--no-tui', '--policy', policy, '--', 'node', '-e', parent, report], {
      env,
    });
    expect(r.code, r.stderr).toBe(0);
    const seen = JSON.parse(r.stdout.trim()) as Record<string, string | null>;
    expect(seen['proxy']).toMatch(/^http:\/\/gov:[0-9a-f]+@127\.0\.0\.1:\d+$/);
    expect(seen['ca']).toMatch(/\.pem$/);
    expect(seen['run']).toMatch(/^\d{8}T\d{6}Z-/);
    expect(seen['options']).toContain('node-proxy.cjs');
    expect(seen['token']).toBeNull();
    expect(seen['ssl']).toBe('/the/programs/own.pem');
  });
});
