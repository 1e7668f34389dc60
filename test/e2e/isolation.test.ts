import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { GOV_BIN, ROOT, runGov, spawnGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { isolationSupport } from '../../src/isolation/availability.js';

const PROBES = join(ROOT, 'test', 'fixtures', 'isolation', 'escape_probes.py');
const DIRECT = join(ROOT, 'test', 'fixtures', 'isolation', 'direct_agents.sh');
const PROXIED = join(ROOT, 'test', 'fixtures', 'isolation', 'proxied_agents.sh');
const SDK_CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'sdk-client.mjs');
const SECRET = 'sk-isolation-test-credential-Vb71QpR';
const supported = isolationSupport().ok;

function auditText(home: string): string {
  const dir = join(home, 'audit');
  return readdirSync(dir)
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('');
}

describe.skipIf(!supported)('gov run --isolate: the proxy is the only way out', () => {
  let pki: TestPki;
  let server: McpTestServer;
  /** Stateless, so an agent can call a tool in one bare POST. */
  let direct: McpTestServer;
  let home: string;
  let policy: string;
  /** Stands in for the keyring's D-Bus session bus socket. */
  let bus: Server;
  let busPath: string;
  const env = () => ({
    GOV_HOME: home,
    GOV_VAULT_BACKEND: 'passphrase',
    GOV_VAULT_PASSPHRASE: 'pass-Xk2',
    DBUS_SESSION_BUS_ADDRESS: `unix:path=${busPath},guid=0123`,
  });

  beforeAll(async () => {
    busPath = join(mkdtempSync(join(tmpdir(), 'gov-bus-')), 'bus');
    bus = createServer((s) => s.destroy());
    await new Promise<void>((r) => bus.listen(busPath, r));
    pki = makeTestPki();
    server = await startMcpServer(pki, 'json');
    direct = await startMcpServer(pki, 'stateless');
    home = tempHome('gov-iso-home-');
    await sealWithFastKdf(home, 'pass-Xk2');
    policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: allow
rules:
  - id: no-shell
    tool: "shell*"
    decision: deny
credentials:
  - secret: api-token
    hosts: ["127.0.0.1:${server.port}", "127.0.0.1:${direct.port}"]
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
    await direct.close();
    bus.close();
  });

  const probeRun = async (isolate: boolean) => {
    const script = `python3 ${PROBES} ${server.port} ${home} ${isolate ? 1 : 0} ${ROOT}; node ${SDK_CLIENT} ${server.mcpUrl} streamable '[["call","whoami",{}]]'`;
    const r = await runGov(
      [
        'run',
        '--no-tui',
        ...(isolate ? ['--isolate'] : []),
        '--policy',
        policy,
        '--upstream-ca',
        pki.caPath,
        '--',
        'sh',
        '-c',
        script,
      ],
      { env: env(), timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const [probeLine, ...sdkLines] = r.stdout.trim().split('\n');
    return { probes: JSON.parse(probeLine!) as Record<string, string>, sdk: sdkLines.join('\n'), r };
  };

  it('without --isolate the same agent escapes in every way (what the isolated run must prevent)', async () => {
    const { probes } = await probeRun(false);
    expect(probes['raw_tcp']).toBe('connected');
    expect(probes['curl_noproxy']).toMatch(/^http \d{3}$/);
    expect(probes['vault']).toMatch(/^read/);
    expect(probes['ca_key']).toMatch(/^read/);
    expect(probes['control_socket']).toBe('connected');
    expect(probes['environ_secret']).toMatch(/^found/);
    expect(probes['keyring_bus']).toBe('connected');
    expect(probes['gov_code']).toBe('wrote');
    expect(auditText(home)).toMatch(/"isolated":false/);
  });

  it('with --isolate every escape fails, and MCP through the proxy is governed, injected and audited', async () => {
    const executedBefore = server.executed.length;
    const { probes, sdk, r } = await probeRun(true);
    for (const k of [
      'raw_tcp',
      'curl_noproxy',
      'vault',
      'ca_key',
      'control_socket',
      'environ_secret',
      'keyring_bus',
      'gov_code',
      'route_del',
      'umount_home',
      'remount_gov_code',
    ])
      expect(probes[k], k).toMatch(/^error/);
    // DNS never leaves: the query to 8.8.8.8 is answered inside by gov's stub, with a synthetic address.
    expect(probes['dns_udp']).toMatch(/^answer 198\.1[89]\./);
    expect(probes['resolve']).toMatch(/^198\.1[89]\./);
    // The official SDK client works unchanged and the credential is injected upstream.
    expect(sdk).toContain('[REDACTED:vault]');
    expect(server.executed.slice(executedBefore).map((e) => e.tool)).toEqual(['whoami']);
    expect(server.executed.at(-1)!.authorization).toBe(`Bearer ${SECRET}`);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    const audit = auditText(home);
    expect(audit).toMatch(/"isolated":true/);
    expect(audit).toMatch(/"tool":"whoami"/);
  });

  it('curl, Python urllib and Node fetch work unchanged inside, governed through the proxy', async () => {
    const run = (tool: string, args: string) =>
      runGov(
        [
          'run',
          '--no-tui',
          '--isolate',
          '--policy',
          policy,
          '--upstream-ca',
          pki.caPath,
          '--',
          'sh',
          PROXIED,
          `https://127.0.0.1:${direct.port}/mcp`,
          tool,
          args,
        ],
        { env: env(), timeoutMs: 60_000 },
      );
    const agents = ['curl', 'urllib', 'fetch'];
    const before = direct.executed.length;
    const denied = await run('shell_exec', '{"cmd":"id"}');
    expect(denied.code, denied.stderr).toBe(0);
    for (const agent of agents)
      expect(denied.stdout, denied.stdout).toMatch(
        new RegExp(`${agent}: .*Denied by gov policy rule 'no-shell'`),
      );
    expect(direct.executed.slice(before)).toEqual([]);
    const allowed = await run('echo', '{"text":"hi"}');
    for (const agent of agents)
      expect(allowed.stdout, allowed.stdout).toMatch(new RegExp(`${agent}: .*echo: hi`));
    expect(direct.executed.slice(before).map((e) => e.tool)).toEqual(['echo', 'echo', 'echo']);
    expect(direct.executed.at(-1)!.authorization).toBe(`Bearer ${SECRET}`);
  });

  it('governs agents that ignore the proxy variables (Node https, curl, Python http.client, a scrubbed environment)', async () => {
    const run = (tool: string, args: string) =>
      runGov(
        [
          'run',
          '--no-tui',
          '--isolate',
          '--capture-port',
          String(direct.port),
          '--policy',
          policy,
          '--upstream-ca',
          pki.caPath,
          '--',
          'sh',
          DIRECT,
          `https://127.0.0.1:${direct.port}/mcp`,
          tool,
          args,
        ],
        { env: env(), timeoutMs: 60_000 },
      );
    const before = direct.executed.length;
    const denied = await run('shell_exec', '{"cmd":"id"}');
    expect(denied.code, denied.stderr).toBe(0);
    for (const agent of ['node', 'curl', 'python', 'scrubbed'])
      expect(denied.stdout, denied.stdout).toMatch(
        new RegExp(`${agent}: .*Denied by gov policy rule 'no-shell'`),
      );
    expect(direct.executed.slice(before).map((e) => e.tool)).toEqual([]);
    expect(denied.stderr).toMatch(/gov: deny tools\/call shell_exec \(rule no-shell\)/);

    const allowed = await run('echo', '{"text":"hi"}');
    for (const agent of ['node', 'curl', 'python', 'scrubbed'])
      expect(allowed.stdout, allowed.stdout).toMatch(new RegExp(`${agent}: .*echo: hi`));
    expect(direct.executed.slice(before).map((e) => e.tool)).toEqual(['echo', 'echo', 'echo', 'echo']);
    // Captured traffic still gets the vault credential, never the agent's placeholder.
    expect(direct.executed.at(-1)!.authorization).toBe(`Bearer ${SECRET}`);
  });

  it('forwards stdin, the exit code and signals through the sandbox', async () => {
    const r = await runGov(['run', '--no-tui', '--isolate', '--', 'sh', '-c', 'exit 7'], { env: env() });
    expect(r.code, r.stderr).toBe(7);
    const echoed = await runGov(['run', '--no-tui', '--isolate', '--', 'cat'], {
      env: env(),
      input: 'from stdin\n',
    });
    expect(echoed.stdout).toBe('from stdin\n');
    const gov = spawnGov(
      [
        'run',
        '--no-tui',
        '--isolate',
        '--',
        'sh',
        '-c',
        'trap "exit 42" TERM; echo ready; while :; do sleep 0.1; done',
      ],
      { env: env() },
    );
    const killer = setTimeout(() => gov.kill('SIGKILL'), 30_000);
    gov.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) gov.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((res) => gov.on('close', (c) => res(c)));
    clearTimeout(killer);
    expect(code).toBe(42);
  });
});

describe.skipIf(!supported)('gov run --isolate: the agent cannot approve its own held call', () => {
  let pki: TestPki;
  let server: McpTestServer;

  beforeAll(async () => {
    pki = makeTestPki();
    server = await startMcpServer(pki, 'json');
  });
  afterAll(async () => {
    await server.close();
  });

  const heldRun = async (isolate: boolean) => {
    const home = tempHome('gov-iso-held-');
    const shared = mkdtempSync(join(tmpdir(), 'gov-iso-shared-'));
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      'version: 1\ndefault: allow\nrules:\n  - {id: refunds, tool: refund, decision: approve}\n',
    );
    const script = `
node ${SDK_CLIENT} ${server.mcpUrl} streamable '[["call","refund",{"amount":5}]]' > ${shared}/client.out &
i=0; while [ ! -s ${shared}/id ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
GOV_HOME=${home} node ${GOV_BIN} pending --json > ${shared}/pending.out 2>&1
GOV_HOME=${home} node ${GOV_BIN} approve "$(cat ${shared}/id)" > ${shared}/approve.out 2>&1; echo "exit $?" >> ${shared}/approve.out
touch ${shared}/done
wait`;
    const run = runGov(
      [
        'run',
        '--no-tui',
        ...(isolate ? ['--isolate'] : []),
        '--policy',
        policy,
        '--upstream-ca',
        pki.caPath,
        '--',
        'sh',
        '-c',
        script,
      ],
      { env: { GOV_HOME: home }, timeoutMs: 60_000 },
    );
    // From outside (gov's real user, real namespaces) find the held call and tell the agent its id.
    let id = '';
    for (const deadline = Date.now() + 30_000; !id && Date.now() < deadline;) {
      const p = await runGov(['pending', '--json'], { env: { GOV_HOME: home } });
      id = ((JSON.parse(p.stdout || '[]') as Array<{ id: string }>)[0]?.id ?? '') as string;
    }
    expect(id).not.toBe('');
    writeFileSync(join(shared, 'id'), id);
    for (const deadline = Date.now() + 30_000; !existsSync(join(shared, 'done')) && Date.now() < deadline;)
      await new Promise((r) => setTimeout(r, 50));
    // Whatever the agent managed, a human now denies what is still held, so the run ends.
    const deny = await runGov(['deny', id], { env: { GOV_HOME: home } });
    const r = await run;
    return {
      r,
      denyCode: deny.code,
      approve: readFileSync(join(shared, 'approve.out'), 'utf8'),
      pending: readFileSync(join(shared, 'pending.out'), 'utf8'),
    };
  };

  it('without --isolate it can (the gap), with --isolate it cannot', async () => {
    const before = server.executed.length;
    const open = await heldRun(false);
    expect(open.approve).toMatch(/exit 0/);
    expect(server.executed.slice(before).map((e) => e.tool)).toEqual(['refund']);

    const closed = await heldRun(true);
    expect(closed.pending).not.toMatch(/refund/);
    expect(closed.approve).toMatch(/exit [12]/);
    expect(closed.denyCode).toBe(0); // still held when the agent gave up: only the human decided
    expect(server.executed.slice(before).map((e) => e.tool)).toEqual(['refund']);
    expect(closed.r.code).toBe(0);
  });
});

describe('gov run --isolate: never a silent fallback', () => {
  it('refuses with one clear line when user namespaces are disabled, and runs no child', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'gov-iso-off-')), 'child-ran');
    // user.max_user_namespaces is per user namespace: setting it to 0 inside one simulates the
    // sysctl without touching the machine.
    const r = spawnSync(
      'unshare',
      [
        '--user',
        '--map-root-user',
        'sh',
        '-c',
        `echo 0 > /proc/sys/user/max_user_namespaces && exec "${process.execPath}" "${GOV_BIN}" run --isolate -- touch "${marker}"`,
      ],
      { encoding: 'utf8', env: { ...process.env, GOV_HOME: tempHome() }, timeout: 30_000 },
    );
    if (r.status === null || /unshare: /.test(r.stderr)) return; // no namespaces to simulate with
    expect(r.stderr.trim()).toBe(
      'gov: --isolate is unavailable: user namespaces are disabled (user.max_user_namespaces=0) — enable them: sysctl -w user.max_user_namespaces=15000',
    );
    expect(r.status).toBe(1);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses with the cause when the namespaces cannot be created, and runs no child', async () => {
    // An `unshare` that fails as a seccomp filter or AppArmor would make the real one fail.
    const home = tempHome();
    const bin = join(home, 'bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'unshare'),
      '#!/bin/sh\necho "unshare: unshare failed: Operation not permitted" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const marker = join(home, 'child-ran');
    const r = await runGov(['run', '--no-tui', '--isolate', '--', 'touch', marker], {
      env: { GOV_HOME: home, PATH: `${bin}:${process.env['PATH'] ?? ''}` },
    });
    expect(r.stderr).toContain(
      'gov: --isolate is unavailable: cannot create user, network, mount and PID namespaces: unshare: unshare failed: Operation not permitted',
    );
    expect(r.code).toBe(1);
    expect(existsSync(marker)).toBe(false);
  });

  it("refuses an unisolated run when the policy says 'isolate: required'", async () => {
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(policy, 'version: 1\nisolate: required\n');
    const marker = join(home, 'child-ran');
    const r = await runGov(['run', '--policy', policy, '--', 'touch', marker], { env: { GOV_HOME: home } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/isolate: required.*— run it with gov run --isolate/);
    expect(existsSync(marker)).toBe(false);
  });
});
