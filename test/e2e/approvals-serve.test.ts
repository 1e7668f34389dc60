import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { startV2McpServer } from '../helpers/mcp-v2-server.js';
import { ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { runServeClient, startServe, type ServeProcess, addServeToken } from '../helpers/gov-serve.js';
import { auditRecords, pendingCalls, type Json } from '../helpers/approval-peers.js';
import { eventually } from '../helpers/until.js';

const V1_CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'eliciting-client.mjs');
const V2_CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'v2-eliciting-client.mjs');

type Line = {
  step: string;
  protocolVersion?: string;
  message?: string;
  result?: unknown;
  error?: { code: number; message: string };
};

/** An SDK client fixture (`node SCRIPT URL ANSWER STEPS`) against gov serve; its JSON lines. */
function client(
  script: string,
  g: { url: string; bearer: string },
  answer: string,
  steps: unknown[][],
  protocol = '',
): Promise<Line[]> {
  return runServeClient<Line>(script, g.url, steps, {
    bearer: g.bearer,
    args: [answer],
    env: { MCP_TEST_PROTOCOL: protocol },
  });
}

const steps = (lines: Line[]) => lines.map((l) => l.step);
const approvalsIn = (home: string) => auditRecords(home).filter((x: Json) => x['kind'] === 'approval');

describe('approval by elicitation through gov serve (the gateway shares the pipeline)', () => {
  let pki: TestPki;
  let sse: McpTestServer;
  let json: McpTestServer;
  let v2: Awaited<ReturnType<typeof startV2McpServer>>;
  const running: ServeProcess[] = [];

  beforeAll(async () => {
    pki = makeTestPki();
    [sse, json, v2] = await Promise.all([
      startMcpServer(pki, 'sse'),
      startMcpServer(pki, 'json'),
      startV2McpServer(pki),
    ]);
  });
  afterAll(async () => {
    for (const g of running.splice(0)) await g.stop();
    await Promise.all([sse.close(), json.close(), v2.close()]);
  });

  /**
   * gov serve (loopback, bearer tokens) fronting `target`, refunds held for a person. The
   * client's token name tells it apart from others where the server has no sessions (v2).
   */
  async function serve(target: string, channels = '[elicitation]') {
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      [
        'version: 1',
        'default: allow',
        'approval_timeout: 1h',
        'rules:',
        '  - id: refunds',
        '    tool: refund',
        '    decision: approve',
        '    reason: Refunds need a person',
        `approvals: {channels: ${channels}}`,
        '',
      ].join('\n'),
    );
    const add = await runGov(['serve', 'token', 'add', 'ide'], { env: { GOV_HOME: home } });
    expect(add.code, add.stderr).toBe(0);
    const gov = await startServe(
      ['--target', target, '--policy', policy, '--upstream-ca', pki.caPath, '--auth', 'bearer'],
      { ...process.env, GOV_HOME: home },
    );
    running.push(gov);
    return { home, url: `${gov.url}/mcp`, bearer: add.stdout.trim() };
  }

  it('SDK 1.32 client, server answering SSE: asked on the call’s stream, executed exactly once', async () => {
    const g = await serve(sse.mcpUrl);
    const before = sse.executed.length;
    const lines = await client(V1_CLIENT, g, 'approve_once', [['call', 'refund', { amount: 11 }]]);
    expect(steps(lines)).toEqual(['connected', 'asked', 'call']);
    expect(lines[1]!.message).toContain('Tool: refund');
    expect(JSON.stringify(lines[2]!.result)).toContain('refunded 11');
    expect(sse.executed.slice(before).map((e) => e.tool)).toEqual(['refund']);
    expect(approvalsIn(g.home)).toMatchObject([
      {
        approver: 'elicitation:http-ide',
        status: 'approved',
        detail: expect.objectContaining({ client_info: { name: 'http-ide', version: '2.0.0' } }),
      },
    ]);
  });

  it('SDK 1.32 client on 2025-06-18, server answering JSON: decline is -32003, never executed', async () => {
    const g = await serve(json.mcpUrl);
    const before = json.executed.length;
    const lines = await client(V1_CLIENT, g, 'decline', [['call', 'refund', { amount: 12 }]], '2025-06-18');
    expect(lines[0]).toMatchObject({ step: 'connected', protocolVersion: '2025-06-18' });
    expect(steps(lines)).toEqual(['connected', 'asked', 'call']);
    expect(lines[2]!.error).toMatchObject({ code: -32003 });
    expect(lines[2]!.error!.message).toContain('Denied by approver: declined in the MCP client');
    expect(json.executed.slice(before)).toEqual([]);
  });

  for (const era of ['legacy', '2026-07-28'] as const) {
    it(`SDK v2 client (${era === 'legacy' ? '2025-11-25' : era}): approve_run, the next identical call passes without asking`, async () => {
      const g = await serve(v2.mcpUrl);
      const before = v2.executed.length;
      const call = ['call', 'refund', { amount: 13 }];
      const lines = await client(V2_CLIENT, g, 'approve_run', [call, call], era);
      expect(lines[0]).toMatchObject({
        step: 'connected',
        protocolVersion: era === 'legacy' ? '2025-11-25' : era,
      });
      expect(steps(lines)).toEqual(['connected', 'asked', 'call', 'call']);
      expect(v2.executed.slice(before)).toEqual(['refund 13', 'refund 13']);
      expect(approvalsIn(g.home)).toMatchObject([
        { approver: 'elicitation:v2-ide', status: 'approved' },
        { approver: 'always', status: 'approved' },
      ]);
    });
  }

  it('a client without the capability falls back: `gov approve` settles the call', async () => {
    const g = await serve(sse.mcpUrl, '[tui, cli, elicitation]');
    const before = sse.executed.length;
    const done = client(V1_CLIENT, g, 'none', [['call', 'refund', { amount: 14 }]]);
    const [held] = await eventually('the held call', async () => {
      const p = await pendingCalls(g.home);
      return p.length ? p : undefined;
    });
    const ok = await runGov(['approve', String(held!['id'])], { env: { GOV_HOME: g.home } });
    expect(ok.code, ok.stderr).toBe(0);
    const lines = await done;
    expect(steps(lines)).toEqual(['connected', 'call']);
    expect(JSON.stringify(lines[1]!.result)).toContain('refunded 14');
    expect(sse.executed.slice(before).map((e) => e.tool)).toEqual(['refund']);
    expect(approvalsIn(g.home)).toMatchObject([{ approver: 'cli', status: 'approved' }]);
  });
});

describe('gov serve, a server without sessions: clients are told apart by their edge identity', () => {
  it('the capable client is asked about its own calls only; another client’s call falls back', async () => {
    const pki = makeTestPki();
    const server = await startMcpServer(pki, 'stateless');
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      'version: 1\ndefault: allow\napproval_timeout: 1h\nrules:\n  - id: refunds\n    tool: refund\n    decision: approve\napprovals: {channels: [cli, elicitation]}\n',
    );
    const token = (name: string) => addServeToken(home, name);
    const [ideToken, botToken] = [await token('ide'), await token('bot')];
    const gov = await startServe(
      ['--target', server.mcpUrl, '--policy', policy, '--upstream-ca', pki.caPath, '--auth', 'bearer'],
      { ...process.env, GOV_HOME: home },
    );
    const clients: Client[] = [];
    const connect = async (name: string, bearer: string, capabilities: ClientCapabilities) => {
      const c = new Client({ name, version: '1.0.0' }, { capabilities });
      await c.connect(
        new StreamableHTTPClientTransport(new URL(`${gov.url}/mcp`), {
          requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
        }),
      );
      clients.push(c);
      return c;
    };
    try {
      const asked: string[] = [];
      const ide = await connect('ide', ideToken, { elicitation: { form: {} } });
      ide.setRequestHandler(ElicitRequestSchema, async (req) => {
        asked.push(req.params.message);
        return { action: 'accept', content: { decision: 'approve_once' } };
      });
      // The bot initializes after the IDE, on the same session-less server.
      const bot = await connect('bot', botToken, {});
      const botCall = bot.callTool({ name: 'refund', arguments: { amount: 21 } });
      const [held] = await eventually('the bot’s held call', async () => {
        const p = await pendingCalls(home);
        return p.length ? p : undefined;
      });
      const ok = await runGov(['approve', String(held!['id'])], { env: { GOV_HOME: home } });
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.stringify(await botCall)).toContain('refunded 21');
      expect(asked).toEqual([]);

      expect(JSON.stringify(await ide.callTool({ name: 'refund', arguments: { amount: 22 } }))).toContain(
        'refunded 22',
      );
      expect(asked).toHaveLength(1);
      expect(server.executed.map((e) => e.args)).toEqual([{ amount: 21 }, { amount: 22 }]);
      expect(approvalsIn(home)).toMatchObject([
        { approver: 'cli', args: { amount: 21 } },
        { approver: 'elicitation:ide', args: { amount: 22 } },
      ]);
    } finally {
      for (const c of clients) await c.close().catch(() => undefined);
      await gov.stop();
      await server.close();
    }
  });
});
