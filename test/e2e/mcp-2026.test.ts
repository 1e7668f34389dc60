import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { SECRET, startMcp2026Server, type Mcp2026TestServer } from '../helpers/mcp2026-server.js';
import { ROOT, runGov, spawnGov, tempHome } from '../helpers/gov-process.js';

const POLICY = `version: 1
servers:
  test: "https://127.0.0.1:*"
unknown_servers: deny
default: approve
tools_list: hide_denied
rules:
  - id: reads
    tool: [echo, region_echo, confirm_deploy, slow, summarize, ask_password, open_login, "leak_*"]
    decision: allow
  - id: no-sampling
    method: sampling/createMessage
    decision: deny
    reason: Servers may not use the agent's model
  - id: no-shell
    tool: "shell*"
    decision: deny
    reason: Shell tools are not allowed
  - id: refunds
    tool: refund
    decision: approve
`;

const SDK2_CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'sdk2-client.mjs');
const RAW_POST = join(ROOT, 'test', 'fixtures', 'clients', 'raw_post.py');

type Line = {
  step: string;
  tool?: string;
  tools?: string[];
  cacheScope?: string;
  ttlMs?: number;
  first?: { resultType?: string; requestState?: string; inputRequests?: Record<string, unknown> };
  result?: {
    resultType?: string;
    isError?: boolean;
    content: Array<{ type: string; text?: string; resource?: { text?: string } }>;
    structuredContent?: unknown;
  };
  error?: { code: number; message: string; data?: Record<string, unknown> };
};

const lines = (stdout: string): Line[] =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('MCP 2026-07-28 through gov run: SDK v2 client and server, stateless, governed', () => {
  let pki: TestPki;
  let home: string;
  let policyPath: string;
  let server: Mcp2026TestServer;
  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    policyPath = join(home, 'gov.yaml');
    writeFileSync(policyPath, POLICY);
    server = await startMcp2026Server(pki);
  });
  afterAll(async () => {
    await server.close();
  });

  const govArgs = (cmd: string[]) => [
    'run',
    '--no-tui',
    '--policy',
    policyPath,
    '--upstream-ca',
    pki.caPath,
    '--approval-timeout',
    '20s',
    '--',
    ...cmd,
  ];
  const govRun = (cmd: string[]) => runGov(govArgs(cmd), { env: { GOV_HOME: home }, timeoutMs: 60_000 });
  const client = (steps: unknown[]) => ['node', SDK2_CLIENT, server.mcpUrl, JSON.stringify(steps)];
  const audit = () =>
    readdirSync(join(home, 'audit'))
      .map((f) => readFileSync(join(home, 'audit', f), 'utf8'))
      .join('');
  const executedTools = () => server.executed.map((e) => e.tool);

  it('filters the list (private, immediately stale), allows echo, denies shell_exec without executing it', async () => {
    const before = server.executed.length;
    const r = await govRun(
      client([['list'], ['call', 'echo', { text: 'hi' }], ['call', 'shell_exec', { cmd: 'id' }]]),
    );
    const [list, echo, shell] = lines(r.stdout);
    expect(list, r.stderr).toMatchObject({ step: 'list', cacheScope: 'private', ttlMs: 0 });
    expect(list!.tools).not.toContain('shell_exec');
    expect(list!.tools).toContain('echo');
    expect(echo!.result!.content[0]!.text).toBe('echo: hi');
    expect(shell!.error).toMatchObject({
      code: -32003,
      message: expect.stringContaining("Denied by gov policy rule 'no-shell'"),
    });
    const ran = server.executed.slice(before).map((e) => e.tool);
    expect(ran).toEqual(['echo']);
    expect(
      server.requests.some((q) => q.method === 'tools/call' && q.headers['mcp-name'] === 'shell_exec'),
    ).toBe(false);
    // Stateless: no initialize, every request governed on its own.
    expect(server.requests.some((q) => q.method === 'initialize')).toBe(false);
    expect(r.stderr).toMatch(/^gov: deny tools\/call shell_exec \(rule no-shell\)$/m);
    // Stateless: who the client and the server are is recorded per call.
    const echoes = audit()
      .split('\n')
      .filter((l) => l.includes('"tool":"echo"'))
      .map(
        (l) => JSON.parse(l) as { status: string; detail: Record<string, unknown>; server_info?: unknown },
      );
    const decided = echoes.find((x) => x.status === 'forwarded')!;
    expect(decided.detail['client_info']).toMatchObject({ name: expect.any(String) });
    expect(echoes.find((x) => x.status === 'ok')?.server_info).toMatchObject({ name: 'gov-test-2026' });
  });

  it('relays an MRTR round trip (input_required → retry) and keeps a retried denied tool denied', async () => {
    const before = server.executed.length;
    const r = await govRun(
      client([
        ['mrtr', 'confirm_deploy', { env: 'staging' }],
        ['call', 'confirm_deploy', { env: 'prod' }],
        [
          'raw',
          'shell_exec',
          { cmd: 'id' },
          { confirm: { action: 'accept', content: { confirm: true } } },
          's',
        ],
      ]),
    );
    const [manual, auto, retryDenied] = lines(r.stdout);
    expect(manual!.first, r.stderr).toMatchObject({
      resultType: 'input_required',
      requestState: 'step-confirm-staging',
    });
    expect(manual!.result!.content[0]!.text).toBe('deployed to staging');
    expect(auto!.result!.content[0]!.text).toBe('deployed to prod');
    expect(retryDenied!.error).toMatchObject({ code: -32003 });
    const ran = server.executed.slice(before);
    expect(ran.map((e) => `${e.tool}:${e.round}`)).toEqual([
      'confirm_deploy:first',
      'confirm_deploy:retry',
      'confirm_deploy:first',
      'confirm_deploy:retry',
    ]);
    // Each round is its own governed call in the audit.
    expect(audit().match(/"tool":"confirm_deploy"[^\n]*"status":"forwarded"/g)?.length).toBe(4);
  });

  it('answers header mismatches (Mcp-Name, Mcp-Param-*) with HTTP 400 and -32020, never forwarded', async () => {
    const call = (name: string, args: Record<string, unknown>) =>
      JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: {
          name,
          arguments: args,
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientCapabilities': {},
            'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
          },
        },
      });
    const v = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call' };
    const cases = [
      {
        name: 'name',
        body_b64: b64(call('shell_exec', { cmd: 'id' })),
        headers: { ...v, 'mcp-name': 'echo' },
      },
      {
        name: 'param',
        body_b64: b64(call('region_echo', { region: 'eu-secret-region' })),
        headers: { ...v, 'mcp-name': 'region_echo', 'mcp-param-region': 'us-west1' },
      },
      {
        name: 'param-b64',
        body_b64: b64(call('region_echo', { region: 'Zürich' })),
        headers: { ...v, 'mcp-name': 'region_echo', 'mcp-param-region': '=?base64?WsO8cmljaA==?=' },
      },
    ];
    const casesFile = join(home, 'cases.json');
    writeFileSync(casesFile, JSON.stringify(cases));
    const before = server.executed.length;
    // The client lists first, so gov has seen region_echo's x-mcp-header declaration.
    const r = await govRun([
      'sh',
      '-c',
      `node "$0" "$1" '[["list"]]' >/dev/null && python3 "$2" "$1" "$3"`,
      SDK2_CLIENT,
      server.mcpUrl,
      RAW_POST,
      casesFile,
    ]);
    const results = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { name: string; status: number; body: string })
        .map((o) => [o.name, o]),
    );
    for (const name of ['name', 'param']) {
      expect(results[name]!.status, r.stderr).toBe(400);
      expect(JSON.parse(results[name]!.body)).toMatchObject({ id: 7, error: { code: -32020 } });
    }
    expect(results['param']!.body).not.toContain('eu-secret-region');
    expect(results['param-b64']!.status, results['param-b64']!.body).toBe(200);
    expect(results['param-b64']!.body).toContain('region: Zürich');
    expect(server.executed.slice(before).map((e) => e.args)).toEqual([{ region: 'Zürich' }]);
    expect(audit()).not.toContain('eu-secret-region');
  });

  it('withholds a result whose structuredContent carried a secret; redacts embedded resources', async () => {
    const r = await govRun(
      client([
        ['call', 'leak_structured', {}],
        ['call', 'leak_resource', {}],
      ]),
    );
    const [structured, resource] = lines(r.stdout);
    expect(structured!.result, r.stdout).toMatchObject({ isError: true });
    expect(structured!.result!.content[0]!.text).toMatch(/gov withheld this tool result/);
    expect(structured!.result!.structuredContent).toBeUndefined();
    expect(resource!.result!.content[0]!.resource!.text).toMatch(/^GITHUB_TOKEN=\[REDACTED:/);
    expect(r.stdout).not.toContain(SECRET);
    expect(audit()).not.toContain(SECRET);
    expect(executedTools()).toContain('leak_structured');
  });

  it('aborts the upstream request at once when the client closes its response stream', async () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 9,
      method: 'tools/call',
      params: {
        name: 'slow',
        arguments: {},
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': {},
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
        },
      },
    });
    // The client gives up after 2 s (a read timeout closes its connection) and then stays
    // alive until the test has looked: the tool alone would run for 30 s, so the server sees
    // its response closed while gov still runs only if gov aborted the upstream request.
    const seen = join(home, 'abandoned-seen');
    const py = [
      'import os, sys, time, urllib.request',
      'h = {"content-type": "application/json", "accept": "application/json, text/event-stream",',
      '     "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "slow"}',
      'r = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), headers=h, method="POST")',
      'try:\n    urllib.request.urlopen(r, timeout=2).read()\nexcept Exception as e:\n    print("gave up", type(e).__name__, flush=True)',
      'end = time.time() + 25',
      'while not os.path.exists(sys.argv[3]) and time.time() < end:\n    time.sleep(0.05)',
    ].join('\n');
    const run = govRun(['python3', '-c', py, server.mcpUrl, body, seen]);
    const deadline = Date.now() + 20_000;
    while (!server.abandoned.includes('slow') && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 100));
    const abandonedWhileGovRan = server.abandoned.includes('slow');
    writeFileSync(seen, '');
    const r = await run;
    expect(r.stdout, r.stderr).toContain('gave up');
    expect(abandonedWhileGovRan).toBe(true);
    expect(server.executed.filter((e) => e.tool === 'slow').length).toBe(1);
    const slowRecords = audit()
      .split('\n')
      .filter((l) => l.includes('"tool":"slow"'));
    expect(slowRecords.join('\n'), r.stderr).toMatch(/"status":"cancelled"/);
  });

  it('puts MRTR input requests under policy: sampling denied by rule, a password form denied with an alert, URL mode recorded', async () => {
    const before = server.executed.length;
    const r = await govRun(
      client([
        ['mrtr', 'summarize', {}],
        ['mrtr', 'ask_password', {}],
        ['mrtr', 'open_login', {}],
      ]),
    );
    const [sampling, password, login] = lines(r.stdout);
    expect(sampling!.error, r.stdout).toMatchObject({
      code: -32003,
      message: expect.stringContaining("sampling/createMessage input request 'ask'"),
    });
    expect(sampling!.error!.message).toContain('no-sampling');
    expect(password!.error).toMatchObject({
      code: -32003,
      message: expect.stringContaining("field 'password'"),
    });
    expect(login!.first).toMatchObject({ resultType: 'input_required' });
    // The denied ones were asked once and never retried.
    expect(server.executed.slice(before).map((e) => `${e.tool}:${e.round}`)).toEqual([
      'summarize:first',
      'ask_password:first',
      'open_login:first',
      'open_login:retry',
    ]);
    const records = audit().split('\n');
    expect(
      records.find((l) => l.includes('"kind":"alert"') && l.includes('secret-elicitation')),
    ).toBeDefined();
    expect(
      records.find(
        (l) => l.includes('"method":"elicitation/create"') && l.includes('"domain":"login.example.com"'),
      ),
    ).toBeDefined();
  });

  it('holds refund until `gov approve`, then executes it once', async () => {
    const before = server.executed.length;
    const gov = spawnGov(govArgs(client([['call', 'refund', { amount: 5000 }]])), {
      env: { GOV_HOME: home },
    });
    let stdout = '';
    let stderr = '';
    gov.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    gov.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((res) => gov.on('exit', (c) => res(c)));
    const kill = setTimeout(() => gov.kill('SIGKILL'), 50_000);
    try {
      let id: string | undefined;
      for (let i = 0; i < 150 && !id; i++) {
        const p = await runGov(['pending', '--json'], { env: { GOV_HOME: home } });
        const list = JSON.parse(p.stdout || '[]') as Array<{ id: string; tool: string }>;
        id = list.find((x) => x.tool === 'refund')?.id;
        if (!id) await new Promise((res) => setTimeout(res, 200));
      }
      expect(id, stderr).toBeDefined();
      expect(server.executed.length).toBe(before);
      expect((await runGov(['approve', id!], { env: { GOV_HOME: home } })).code).toBe(0);
      expect(await exited).toBe(0);
    } finally {
      clearTimeout(kill);
      gov.kill('SIGKILL');
    }
    expect(lines(stdout)[0]!.result!.content[0]!.text, stderr).toBe('refunded 5000');
    expect(server.executed.slice(before).map((e) => e.tool)).toEqual(['refund']);
  });
});
