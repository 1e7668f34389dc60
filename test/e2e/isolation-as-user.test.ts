import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { GOV_BIN, ROOT, tempHome } from '../helpers/gov-process.js';
import { isolationSupport } from '../../src/isolation/availability.js';

const PROBES = join(ROOT, 'test', 'fixtures', 'isolation', 'escape_probes.py');
const SDK_CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'sdk-client.mjs');
const supported = isolationSupport().ok;

const TEST_USER = 'govtest';
const asUserPossible =
  supported &&
  process.getuid?.() === 0 &&
  spawnSync('id', [TEST_USER]).status === 0 &&
  spawnSync('runuser', ['-u', TEST_USER, '--', 'true']).status === 0;

/** Run gov as an ordinary user (CI creates it): the namespaces must not need root. */
function runGovAs(user: string, args: string[], env: Record<string, string>, input = '') {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const child = spawn('runuser', ['-u', user, '--', 'env', ...vars, process.execPath, GOV_BIN, ...args], {
      cwd: tmpdir(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gov ${args.join(' ')} as ${user} timed out\n${stderr}`));
    }, 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(!asUserPossible)(`gov run --isolate as the ordinary user '${TEST_USER}'`, () => {
  let pki: TestPki;
  let server: McpTestServer;
  let home: string;

  beforeAll(async () => {
    pki = makeTestPki();
    server = await startMcpServer(pki, 'json');
    home = tempHome('gov-iso-user-');
    copyFileSync(pki.caPath, join(home, 'upstream-ca.pem'));
    writeFileSync(join(home, 'gov.yaml'), 'version: 1\ndefault: allow\n');
    spawnSync('chown', ['-R', `${TEST_USER}:`, home]);
  });
  afterAll(async () => {
    await server.close();
  });

  it('blocks every escape and keeps MCP through the proxy working, without root', async () => {
    const env = { GOV_HOME: home, GOV_VAULT_BACKEND: 'passphrase', GOV_VAULT_PASSPHRASE: 'pass-user' };
    const set = await runGovAs(TEST_USER, ['vault', 'set', 'unused'], env, 'value\n');
    expect(set.code, set.stderr).toBe(0);
    const r = await runGovAs(
      TEST_USER,
      [
        'run',
        '--no-tui',
        '--isolate',
        '--policy',
        join(home, 'gov.yaml'),
        '--upstream-ca',
        join(home, 'upstream-ca.pem'),
        '--',
        'sh',
        '-c',
        `id -un; python3 ${PROBES} ${server.port} ${home} 1 ${ROOT}; node ${SDK_CLIENT} ${server.mcpUrl} streamable '[["call","echo",{"text":"as-user"}]]'`,
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const [who, probeLine, ...sdk] = r.stdout.trim().split('\n');
    expect(who).toBe(TEST_USER); // the child sees its own user, not root
    const probes = JSON.parse(probeLine!) as Record<string, string>;
    for (const k of ['raw_tcp', 'curl_noproxy', 'vault', 'ca_key', 'control_socket', 'environ_secret'])
      expect(probes[k], k).toMatch(/^error/);
    expect(probes['dns_udp']).toMatch(/^answer 198\.1[89]\./);
    expect(sdk.join('\n')).toContain('echo: as-user');
    expect(server.executed.map((e) => e.tool)).toEqual(['echo']);
  });
});
