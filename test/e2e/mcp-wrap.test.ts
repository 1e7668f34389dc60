import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ListRootsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { GOV_BIN, ROOT, runGov, spawnGov, tempHome } from '../helpers/gov-process.js';
import { auditRecords } from '../helpers/audit-records.js';
import { childEnv, pendingCalls } from '../helpers/approval-peers.js';
import { eventually } from '../helpers/until.js';

const SERVER = join(ROOT, 'test', 'fixtures', 'servers', 'stdio-server.mjs');

type Json = Record<string, unknown>;

function textOf(r: unknown): string {
  const content = (r as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}

interface Wrapped {
  home: string;
  execLog: string;
  client: Client;
  stderr: () => string;
}

/** The SDK client → `gov mcp wrap --name files` → the SDK stdio server, in a fresh GOV_HOME. */
async function openWrap(): Promise<Wrapped> {
  const home = tempHome();
  const execLog = join(home, 'exec.log');
  const policy = join(home, 'gov.yaml');
  writeFileSync(
    policy,
    [
      'version: 1',
      'default: allow',
      'rules:',
      '  - id: needs-human',
      '    tool: echo',
      '    when: args.text.startsWith("please approve")',
      '    decision: approve',
      '  - id: no-shell',
      '    tool: "shell*"',
      '    decision: deny',
      '    reason: Shell tools are not allowed',
      '',
    ].join('\n'),
  );
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [GOV_BIN, 'mcp', 'wrap', '--policy', policy, '--name', 'files', '--', process.execPath, SERVER],
    env: childEnv({ GOV_HOME: home, EXEC_LOG: execLog }),
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client(
    { name: 'gov-e2e', version: '1.0.0' },
    { capabilities: { roots: { listChanged: false } } },
  );
  client.setRequestHandler(ListRootsRequestSchema, () => ({
    roots: [{ uri: 'file:///work', name: 'work' }],
  }));
  await client.connect(transport);
  return { home, execLog, client, stderr: () => stderr };
}

describe('gov mcp wrap: the official SDK client → gov → the official SDK stdio server', () => {
  // One wrapped server for the tests below; each asserts only on what it did itself.
  let w: Wrapped;
  let home: string;
  let execLog: string;
  let client: Client;

  beforeAll(async () => {
    w = await openWrap();
    ({ home, execLog, client } = w);
  });

  afterAll(async () => {
    await client?.close();
  });

  it('filters tools/list: a tool every call of which is denied is hidden', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'big', 'leak', 'crash']));
    expect(names).not.toContain('shell_exec');
  });

  it('forwards an allowed call', async () => {
    const r = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
    expect(textOf(r)).toBe('hello');
  });

  it('answers a denied call with -32003 and never runs it', async () => {
    const err = await client
      .callTool({ name: 'shell_exec', arguments: { cmd: 'rm -rf /' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpError);
    expect((err as McpError).code).toBe(-32003);
    expect((err as McpError).message).toContain(
      "Denied by gov policy rule 'no-shell': Shell tools are not allowed",
    );
    expect(existsSync(execLog)).toBe(false);
    // gov writes the line before the response, but the two pipes are read independently.
    await expect
      .poll(() => w.stderr(), { timeout: 5000 })
      .toContain('gov: deny tools/call shell_exec (rule no-shell)');
  });

  it('holds a call until `gov approve`, while other calls pass it', async () => {
    const heldCall = client.callTool({ name: 'echo', arguments: { text: 'please approve me' } });
    const [held] = await eventually('the held call', async () => {
      const p = await pendingCalls(home);
      return p.length ? p : undefined;
    });
    expect(held).toMatchObject({ tool: 'echo', server: 'files' });
    // The held call does not block the traffic behind it.
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'meanwhile' } }))).toBe(
      'meanwhile',
    );
    const ok = await runGov(['approve', String(held!['id'])], { env: { GOV_HOME: home } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(textOf(await heldCall)).toBe('please approve me');
    const approval = await eventually('the approval record', () =>
      auditRecords(home).find((r) => r['kind'] === 'approval' && r['status'] === 'approved'),
    );
    expect(approval).toMatchObject({ tool: 'echo' });
  });

  it('withdraws a held call the client cancels (notifications/cancelled)', async () => {
    const ac = new AbortController();
    const call = expect(
      client.callTool({ name: 'echo', arguments: { text: 'please approve, then cancel' } }, undefined, {
        signal: ac.signal,
      }),
    ).rejects.toThrow();
    await eventually('the held call', async () => ((await pendingCalls(home)).length ? true : undefined));
    ac.abort('changed my mind');
    await call;
    await eventually('the call to be withdrawn', async () =>
      (await pendingCalls(home)).length === 0 ? true : undefined,
    );
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'still alive' } }))).toBe(
      'still alive',
    );
    await eventually('the cancelled approval record', () =>
      auditRecords(home).find((r) => r['kind'] === 'approval' && r['status'] === 'cancelled'),
    );
  });

  it('redacts a secret in a tool result', async () => {
    const r = textOf(await client.callTool({ name: 'leak', arguments: {} }));
    expect(r).toContain('[REDACTED:github-token]');
    expect(r).not.toMatch(/ghp_/);
  });

  it('passes a server-initiated request (roots/list) to the client and its answer back', async () => {
    const r = textOf(await client.callTool({ name: 'ask_client', arguments: {} }));
    expect(JSON.parse(r)).toEqual([{ uri: 'file:///work', name: 'work' }]);
  });

  it('relays a 5 MB tool result', async () => {
    const bytes = 5 * 1024 * 1024;
    const r = textOf(await client.callTool({ name: 'big', arguments: { bytes } }));
    expect(r.length).toBe(bytes);
  });

  it('records every call with transport stdio and the --name identity; the chain verifies', async () => {
    // Its own wrapped server and GOV_HOME: the records are exactly this test's calls.
    const own = await openWrap();
    try {
      expect(textOf(await own.client.callTool({ name: 'echo', arguments: { text: 'hello' } }))).toBe('hello');
      await expect(own.client.callTool({ name: 'shell_exec', arguments: { cmd: 'id' } })).rejects.toThrow(
        McpError,
      );
      expect(textOf(await own.client.callTool({ name: 'leak', arguments: {} }))).toContain(
        '[REDACTED:github-token]',
      );
      // Outcome records may land just after the response: wait for the last one.
      const recs = await eventually('the leak outcome record', () => {
        const all = auditRecords(own.home);
        return all.some((r) => r['tool'] === 'leak' && r['status'] === 'ok') ? all : undefined;
      });
      const calls = recs.filter((r) => r['kind'] === 'call');
      const tools = calls.filter((r) => r['method'] === 'tools/call').map((r) => r['tool']);
      expect(new Set(tools)).toEqual(new Set(['echo', 'shell_exec', 'leak']));
      expect(calls.every((r) => r['transport'] === 'stdio')).toBe(true);
      expect(
        calls.every(
          (r) => JSON.stringify(r['server']) === JSON.stringify({ name: 'files', url: 'stdio:files' }),
        ),
      ).toBe(true);
      const denied = calls.find((r) => r['tool'] === 'shell_exec');
      expect(denied).toMatchObject({ decision: 'deny', rule: 'no-shell', status: 'denied' });
      const leak = calls.find((r) => r['tool'] === 'leak' && r['status'] === 'ok');
      expect(leak?.['redactions']).toEqual({ 'github-token': 1 });
      expect(
        recs.find((r) => r['kind'] === 'call' && r['method'] === 'initialize' && r['status'] === 'ok')?.[
          'server_info'
        ],
      ).toMatchObject({
        name: 'gov-test-stdio',
      });
      const v = await runGov(['audit', 'verify'], { env: { GOV_HOME: own.home } });
      expect(v.code, v.stdout + v.stderr).toBe(0);
    } finally {
      await own.client.close();
    }
  });
});

/** gov mcp wrap driven by hand: raw lines in, parsed lines out. */
function rawWrap(args: string[], env: Record<string, string>) {
  const child: ChildProcess = spawnGov(['mcp', 'wrap', ...args], { env });
  const messages: Json[] = [];
  const arrays: Json[][] = [];
  const nonJson: string[] = [];
  let buf = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const v = JSON.parse(line) as Json | Json[];
        if (Array.isArray(v)) arrays.push(v);
        else messages.push(v);
      } catch {
        nonJson.push(line);
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      res({ code, signal });
    }),
  );
  return {
    child,
    messages,
    arrays,
    nonJson,
    exited,
    stderr: () => stderr,
    send: (text: string) => child.stdin!.write(text),
    reply: (id: unknown) =>
      eventually(`a reply to ${JSON.stringify(id)}`, () => messages.find((m) => m['id'] === id)),
  };
}

const init = (id: number) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  }) + '\n';
const call = (id: number | string, name: string, args: Json = {}) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }) + '\n';

describe('gov mcp wrap: framing, malformed input, crashes and shutdown', () => {
  let home: string;
  let policy: string;
  beforeAll(() => {
    home = tempHome();
    policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      'version: 1\ndefault: allow\nrules:\n  - id: no-leaks\n    tool: leak\n    decision: deny\n',
    );
  });

  it('answers malformed and over-long lines with JSON-RPC errors, never forwards them, and carries on', async () => {
    const g = rawWrap(['--policy', policy, '--max-line', '65536', '--', process.execPath, SERVER], {
      GOV_HOME: home,
    });
    g.send(init(1));
    expect(await g.reply(1)).toHaveProperty('result.serverInfo.name', 'gov-test-stdio');
    g.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
    g.send('this is not json\n');
    g.send('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":7}}\n');
    g.send('{"jsonrpc":"2.0","id":3,"id":4,"method":"ping"}\n');
    g.send(
      `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo","arguments":{"text":"${'a'.repeat(200_000)}"}},"id":5}\n`,
    );
    // A valid request split over three writes with a CRLF line end.
    const split = call(6, 'echo', { text: 'split' }).replace('\n', '\r\n');
    g.send(split.slice(0, 10));
    await new Promise((r) => setTimeout(r, 50));
    g.send(split.slice(10, 40));
    await new Promise((r) => setTimeout(r, 50));
    g.send(split.slice(40));

    // A batch whose every element is denied is answered by gov alone, as a batch.
    g.send(`[${call(20, 'leak').trim()},${call(21, 'leak').trim()}]\n`);
    const batch = await eventually('the batch answer', () => g.arrays.find((a) => a.length === 2));
    expect(batch.map((m) => [m['id'], (m['error'] as Json)['code']])).toEqual([
      [20, -32003],
      [21, -32003],
    ]);
    expect(await g.reply(6)).toMatchObject({ result: { content: [{ type: 'text', text: 'split' }] } });
    expect(await g.reply(2)).toMatchObject({ error: { code: -32600 } });
    expect(await g.reply(5)).toMatchObject({
      error: { code: -32600, message: expect.stringContaining('65536') },
    });
    const nullIds = g.messages.filter((m) => m['id'] === null).map((m) => (m['error'] as Json)['code']);
    expect(nullIds.sort()).toEqual([-32700, -32700]);
    expect(g.messages.some((m) => m['id'] === 3 || m['id'] === 4)).toBe(false);
    expect(g.nonJson).toEqual([]);
    expect(g.stderr()).toMatch(/refused a message from the client/);
    g.child.stdin!.end();
    expect((await g.exited).code).toBe(0);
    const alerts = auditRecords(home).filter((r) => r['kind'] === 'alert');
    expect(alerts.length).toBeGreaterThanOrEqual(4);
    expect(alerts.every((r) => r['transport'] === 'stdio')).toBe(true);
  });

  it('when the server crashes, answers its pending requests with an error and exits with its code', async () => {
    const execLog = join(home, 'crash-exec.log');
    const g = rawWrap(['--policy', policy, '--', process.execPath, SERVER], {
      GOV_HOME: home,
      EXEC_LOG: execLog,
    });
    g.send(init(1));
    await g.reply(1);
    g.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
    // An allowed shell_exec does run: the exec log is a real witness.
    g.send(call(2, 'shell_exec', { cmd: 'echo witness' }));
    await g.reply(2);
    expect(readFileSync(execLog, 'utf8')).toBe('echo witness\n');
    g.send(call(3, 'crash'));
    expect(await g.reply(3)).toMatchObject({
      error: { code: -32603, message: expect.stringMatching(/MCP server exited \(code 3\)/) },
    });
    expect((await g.exited).code).toBe(3);
    const recs = auditRecords(home);
    expect(recs.find((r) => r['tool'] === 'crash' && r['status'] === 'server-exited')).toBeDefined();
    expect(
      recs
        .filter((r) => r['kind'] === 'run_end')
        .some((r) => (r['detail'] as Json)['server_exit'] === 'code 3'),
    ).toBe(true);
  });

  it(
    'on client EOF closes the server stdin, and kills a server that ignores it and SIGTERM',
    { timeout: 30_000 },
    async () => {
      const pidFile = join(home, 'stubborn.pid');
      const stubborn = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); process.on('SIGTERM', () => {}); process.stdin.resume(); setInterval(() => {}, 1000);`;
      const g = rawWrap(['--policy', policy, '--name', 'stubborn', '--', process.execPath, '-e', stubborn], {
        GOV_HOME: home,
      });
      const pid = await eventually('the server pid', () =>
        existsSync(pidFile) && readFileSync(pidFile, 'utf8')
          ? Number(readFileSync(pidFile, 'utf8'))
          : undefined,
      );
      g.child.stdin!.end();
      expect((await g.exited).code).toBe(0);
      expect(() => process.kill(pid, 0)).toThrow();
    },
  );

  it('on SIGTERM stops the server, seals the audit and exits 128+15', async () => {
    const g = rawWrap(['--policy', policy, '--name', 'sigterm', '--', process.execPath, SERVER], {
      GOV_HOME: home,
    });
    g.send(init(1));
    await g.reply(1);
    g.child.kill('SIGTERM');
    expect((await g.exited).code).toBe(143);
    const ends = auditRecords(home).filter((r) => r['kind'] === 'run_end');
    expect(ends.some((r) => (r['detail'] as Json)['stopped_by'] === 'SIGTERM')).toBe(true);
  });

  it('gov mcp --help and gov mcp wrap --help', async () => {
    const a = await runGov(['mcp', '--help']);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain('gov mcp wrap');
    const b = await runGov(['mcp', 'wrap', '--help']);
    expect(b.code).toBe(0);
    expect(b.stdout).toContain('--name NAME');
    const c = await runGov(['mcp', 'wrap'], { env: { GOV_HOME: home } });
    expect(c.code).toBe(2);
  });
});
