import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CreateMessageResultSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import type { TestServer } from '../helpers/https-server.js';
import { startSdkBothTransports } from '../helpers/sdk-both-transports.js';
import { GOV_BIN, ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { auditRecords } from '../helpers/audit-records.js';
import { until } from '../helpers/until.js';

const POLICY = `version: 1
servers:
  sdk: "https://127.0.0.1:*"
unknown_servers: deny
default: deny
rules:
  - id: summaries
    tool: summarize
    decision: allow
  - id: no-sampling
    method: sampling/createMessage
    decision: deny
    reason: Servers may not use the agent's model
`;

const CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'sampling-client.mjs');

/**
 * An SDK 1.32 server, Streamable HTTP (`/mcp`, sessions, SSE answers) and 2024-11-05 HTTP+SSE
 * (`/sse`), whose `summarize` tool asks the client to sample (inside the call's stream; on the
 * session's GET stream for HTTP+SSE) and records how that request was answered.
 */
async function startSamplingServer(pki: TestPki): Promise<TestServer & { answers: string[] }> {
  const answers: string[] = [];
  const build = () => {
    const s = new McpServer({ name: 'sampling-server', version: '1.0.0' });
    s.registerTool('summarize', {}, async (extra) => {
      try {
        const r = await extra.sendRequest(
          {
            method: 'sampling/createMessage',
            params: { messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }], maxTokens: 9 },
          },
          CreateMessageResultSchema,
          { timeout: 20_000 },
        );
        answers.push(`sampled: ${JSON.stringify(r.content)}`);
      } catch (err) {
        answers.push(`error ${(err as { code?: number }).code}: ${(err as Error).message}`);
      }
      return { content: [{ type: 'text', text: answers.at(-1)! }] };
    });
    return s;
  };
  const server = await startSdkBothTransports(pki, (t) => build().connect(t));
  return { ...server, answers };
}

describe('2025-era sampling request denied by policy (SDK 1.32 client and server)', () => {
  let pki: TestPki;
  let home: string;
  let server: TestServer & { answers: string[] };
  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    writeFileSync(join(home, 'gov.yaml'), POLICY);
    server = await startSamplingServer(pki);
  });
  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['Streamable HTTP (in the call stream)', '/mcp', 'streamable'],
    ['HTTP+SSE 2024-11-05 (on the session stream)', '/sse', 'legacy'],
  ])('%s: never reaches the client; the server gets the denial as its answer', async (_, path, kind) => {
    const before = server.answers.length;
    const r = await runGov(
      [
        'run',
        '--no-tui',
        '--policy',
        join(home, 'gov.yaml'),
        '--upstream-ca',
        pki.caPath,
        '--',
        'node',
        CLIENT,
        `${server.url}${path}`,
        'summarize',
        kind,
      ],
      { env: { GOV_HOME: home }, timeoutMs: 60_000 },
    );
    const steps = r.stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { step: string; data?: string; result?: { content: Array<{ text: string }> } },
      );
    expect(
      steps.map((s) => s.step),
      r.stderr,
    ).not.toContain('sampling-handler-called');
    // What the server received as the client's answer: gov's denial.
    expect(server.answers.slice(before)).toEqual([expect.stringMatching(/^error -32003: .*no-sampling/)]);
    const call = steps.find((s) => s.step === 'call');
    expect(call?.result?.content[0]?.text, r.stdout).toMatch(/^error -32003/);
    expect(steps.find((s) => s.step === 'log')?.data).toMatch(
      /gov denied the server's sampling\/createMessage/,
    );
    const record = auditRecords(home).findLast((x) => x['method'] === 'sampling/createMessage');
    expect(record).toMatchObject({
      decision: 'deny',
      rule: 'no-sampling',
      detail: { direction: 'server-to-client' },
    });
  });
});

describe('2025-era server request denied on stdio (gov mcp wrap, SDK 1.32 client and server)', () => {
  it('roots/list denied by policy never reaches the client; the server gets the denial as its answer', async () => {
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      'version: 1\ndefault: allow\nrules:\n  - id: no-roots\n    method: roots/list\n    decision: deny\n    reason: Roots stay private\n',
    );
    const env: Record<string, string> = { GOV_HOME: home };
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && k !== 'NODE_OPTIONS') env[k] ??= v;
    const server = join(ROOT, 'test', 'fixtures', 'servers', 'stdio-server.mjs');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [GOV_BIN, 'mcp', 'wrap', '--policy', policy, '--name', 'files', '--', process.execPath, server],
      env,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'roots-client', version: '1.0.0' }, { capabilities: { roots: {} } });
    let rootsAsked = 0;
    client.setRequestHandler(ListRootsRequestSchema, () => {
      rootsAsked += 1;
      return { roots: [{ uri: 'file:///work', name: 'work' }] };
    });
    await client.connect(transport);
    try {
      // ask_client returns the roots its listRoots() got; the SDK turns its failure into an error result.
      const r = await client.callTool({ name: 'ask_client', arguments: {} }, undefined, { timeout: 30_000 });
      const text = (r.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('');
      expect(r.isError, text).toBe(true);
      expect(text).toMatch(/-32003.*Roots stay private/);
      expect(text).not.toContain('file:///work');
      expect(rootsAsked).toBe(0);
    } finally {
      await client.close();
    }
  });

  it('roots/list sent when no call is outstanding is governed as the wrapped server and answered', async () => {
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    const execLog = join(home, 'exec.log');
    writeFileSync(execLog, '');
    writeFileSync(
      policy,
      'version: 1\ndefault: allow\nrules:\n  - id: no-roots\n    server: files\n    method: roots/list\n    decision: deny\n    reason: Roots stay private\n',
    );
    const env: Record<string, string> = { GOV_HOME: home, EXEC_LOG: execLog };
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && k !== 'NODE_OPTIONS') env[k] ??= v;
    const server = join(ROOT, 'test', 'fixtures', 'servers', 'roots-later-server.mjs');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [GOV_BIN, 'mcp', 'wrap', '--policy', policy, '--name', 'files', '--', process.execPath, server],
      env,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'roots-client', version: '1.0.0' }, { capabilities: { roots: {} } });
    let rootsAsked = 0;
    client.setRequestHandler(ListRootsRequestSchema, () => {
      rootsAsked += 1;
      return { roots: [{ uri: 'file:///work', name: 'work' }] };
    });
    await client.connect(transport);
    try {
      await client.callTool({ name: 'ask_later', arguments: {} }, undefined, { timeout: 30_000 });
      await until(() => readFileSync(execLog, 'utf8').includes('roots'), 'the server saw an answer', 20_000);
      expect(readFileSync(execLog, 'utf8')).toMatch(/^roots error -32003: .*Roots stay private/);
      expect(rootsAsked).toBe(0);
    } finally {
      await client.close();
    }
  });
});
