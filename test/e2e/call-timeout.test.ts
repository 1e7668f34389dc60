import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startSlowMcpServer, type SlowMcpServer, type SlowMode } from '../helpers/slow-mcp-server.js';
import { GOV_BIN, ROOT, runGov, spawnGov, tempHome } from '../helpers/gov-process.js';
import { auditRecords } from '../helpers/audit-records.js';

// constraints.timeout: a call the server does not answer in time gets a JSON-RPC error naming
// the rule and the limit, on every transport, promptly (not the client's own timeout).
const POLICY = `version: 1
servers:
  test: "https://127.0.0.1:*"
default: deny
rules:
  - id: slow-tools
    tool: [stall, tick]
    decision: allow
    constraints: { timeout: 1s }
  - id: quick
    tool: echo
    decision: allow
`;

const SDK_CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'sdk-timeout-client.mjs');
const TIMED_OUT =
  "Timed out by gov: no answer from the server within 1s (rule 'slow-tools', constraints.timeout)";

type Json = Record<string, unknown>;

describe('constraints.timeout over HTTP: the client gets an error, not a hang or a cut transfer', () => {
  let pki: TestPki;
  let home: string;
  let policyPath: string;
  const servers = new Map<SlowMode, SlowMcpServer>();
  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    policyPath = join(home, 'gov.yaml');
    writeFileSync(policyPath, POLICY);
    for (const mode of ['json', 'sse', 'legacy'] as const)
      servers.set(mode, await startSlowMcpServer(pki, mode));
  });
  afterAll(async () => {
    for (const s of servers.values()) await s.close();
  });

  const govRun = (cmd: string[]) =>
    runGov(['run', '--no-tui', '--policy', policyPath, '--upstream-ca', pki.caPath, '--', ...cmd], {
      env: { GOV_HOME: home },
      timeoutMs: 50_000,
    });

  const curlCall = (url: string, tool: string, accept: string, args: Json = {}) =>
    govRun([
      'curl',
      '-sS',
      '--max-time',
      '40',
      '-X',
      'POST',
      url,
      '-H',
      'content-type: application/json',
      '-H',
      `accept: ${accept}`,
      '-d',
      JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: tool, arguments: args },
      }),
    ]);

  it('curl, JSON response: a JSON-RPC error body, and the outcome is audited as timeout', async () => {
    const r = await curlCall(servers.get('json')!.mcpUrl, 'stall', 'application/json, text/event-stream');
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout) as Json;
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32001, message: TIMED_OUT } });
    expect((body['error'] as Json)['data']).toMatchObject({ rule: 'slow-tools', timeout_ms: 1000 });
    expect(servers.get('json')!.started).toContain('stall');
    expect(r.stderr).toContain('gov: deny tools/call stall (rule slow-tools) — timed out: no answer');
    const outcome = auditRecords(home).find((a) => a['tool'] === 'stall' && a['status'] === 'timeout');
    expect(outcome).toMatchObject({ kind: 'call', rule: 'slow-tools' });
  });

  it('curl, SSE response: the error arrives as the stream’s final event', async () => {
    const r = await curlCall(servers.get('sse')!.mcpUrl, 'stall', 'application/json, text/event-stream');
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as Json);
    expect(events.at(-1)).toMatchObject({ id: 7, error: { code: -32001, message: TIMED_OUT } });
  });

  it('the SDK client gets the error, not its own timeout, even while the server streams progress', async () => {
    const r = await govRun([
      process.execPath,
      SDK_CLIENT,
      servers.get('sse')!.mcpUrl,
      'streamable',
      'tick',
      'progress',
    ]);
    const line = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { error?: Json; progressSeen: number };
    expect(line.error, r.stderr).toMatchObject({ code: -32001, message: expect.stringContaining(TIMED_OUT) });
    // Progress flowed, and still did not keep the call alive past its limit.
    expect(line.progressSeen).toBeGreaterThan(0);
  });

  it('the SDK client over the legacy HTTP+SSE transport gets the error on its session stream', async () => {
    const r = await govRun([process.execPath, SDK_CLIENT, servers.get('legacy')!.mcpUrl, 'legacy', 'stall']);
    const line = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { error?: Json };
    expect(line.error, r.stderr).toMatchObject({ code: -32001, message: expect.stringContaining(TIMED_OUT) });
  });

  it('a held call approved onto its heartbeat stream is still cut at its limit, with the error as the final event', async () => {
    const heldHome = tempHome();
    const heldPolicy = join(heldHome, 'gov.yaml');
    writeFileSync(
      heldPolicy,
      `version: 1
default: deny
rules:
  - id: held-slow
    tool: stall
    decision: approve
    constraints: { timeout: 1s }
`,
    );
    const call = {
      jsonrpc: '2.0',
      id: 9,
      method: 'tools/call',
      params: { name: 'stall', arguments: {}, _meta: { progressToken: 'p1' } },
    };
    const gov = spawnGov(
      [
        'run',
        '--no-tui',
        '--policy',
        heldPolicy,
        '--upstream-ca',
        pki.caPath,
        '--',
        'curl',
        '-sS',
        '-N',
        '--max-time',
        '40',
        '-X',
        'POST',
        servers.get('sse')!.mcpUrl,
        '-H',
        'content-type: application/json',
        '-H',
        'accept: application/json, text/event-stream',
        '-d',
        JSON.stringify(call),
      ],
      { env: { GOV_HOME: heldHome, GOV_HEARTBEAT_MS: '200' } },
    );
    let stdout = '';
    gov.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((r) => gov.on('exit', (c) => r(c)));
    const kill = setTimeout(() => gov.kill('SIGKILL'), 45_000);
    try {
      let id: string | undefined;
      for (let i = 0; i < 150 && !id; i++) {
        const p = await runGov(['pending', '--json'], { env: { GOV_HOME: heldHome } });
        id = (JSON.parse(p.stdout || '[]') as Array<{ id: string }>)[0]?.id;
        if (!id) await new Promise((r) => setTimeout(r, 200));
      }
      expect(id).toBeDefined();
      expect((await runGov(['approve', id!], { env: { GOV_HOME: heldHome } })).code).toBe(0);
      expect(await exited).toBe(0);
    } finally {
      clearTimeout(kill);
      gov.kill('SIGKILL');
    }
    const events = stdout
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as Json);
    expect(events[0]).toMatchObject({ method: 'notifications/progress' });
    expect(events.at(-1)).toMatchObject({
      id: 9,
      error: { code: -32001, message: TIMED_OUT.replace('slow-tools', 'held-slow') },
    });
  });

  it('a call within its limit is answered as usual', async () => {
    const r = await curlCall(servers.get('json')!.mcpUrl, 'echo', 'application/json, text/event-stream', {
      text: 'hi',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: 7, result: { content: [{ text: 'echo: hi' }] } });
  });
});

describe('constraints.timeout under gov mcp wrap', () => {
  it('answers the client with the error, and tells the server to stop', async () => {
    const home = tempHome();
    const policyPath = join(home, 'gov.yaml');
    writeFileSync(policyPath, POLICY);
    const execLog = join(home, 'exec.log');
    const server = join(ROOT, 'test', 'fixtures', 'servers', 'slow-stdio-server.mjs');
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'NODE_OPTIONS') env[k] = v;
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [
        GOV_BIN,
        'mcp',
        'wrap',
        '--name',
        'slow',
        '--policy',
        policyPath,
        '--',
        process.execPath,
        server,
      ],
      env: { ...env, GOV_HOME: home, EXEC_LOG: execLog },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'wrap-timeout-client', version: '1.0.0' });
    await client.connect(transport);
    try {
      const err = await client.callTool({ name: 'stall', arguments: {} }).then(
        () => undefined,
        (e: unknown) => e as { code: number; message: string },
      );
      expect(err, stderr).toMatchObject({ code: -32001, message: expect.stringContaining(TIMED_OUT) });
      // The relay goes on after a timeout.
      const ok = await client.callTool({ name: 'echo', arguments: { text: 'after' } });
      expect(JSON.stringify(ok)).toContain('echo: after');
    } finally {
      await client.close();
    }
    const log = readFileSync(execLog, 'utf8');
    expect(log).toContain('call stall');
    expect(log).toMatch(/^cancelled \d+$/m);
    const outcome = auditRecords(home).find((a) => a['tool'] === 'stall' && a['status'] === 'timeout');
    expect(outcome).toMatchObject({ kind: 'call', transport: 'stdio', rule: 'slow-tools' });
  });
});
