import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpMode, type McpTestServer } from '../helpers/mcp-http-server.js';
import { ROOT, runGov, tempHome } from '../helpers/gov-process.js';

const POLICY = `version: 1
servers:
  test: "https://127.0.0.1:*"
unknown_servers: deny
default: approve
rules:
  - id: reads
    tool: [echo, whoami, leak]
    decision: allow
  - id: no-shell
    tool: "shell*"
    decision: deny
    reason: Shell tools are not allowed
  - id: refunds
    tool: refund
    decision: approve
`;

const SDK_CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'sdk-client.mjs');
const RAW_POST = join(ROOT, 'test', 'fixtures', 'clients', 'raw_post.py');

type Line = {
  step: string;
  tool?: string;
  tools?: string[];
  result?: { content: Array<{ text: string }> };
  error?: { code: number; message: string; data?: Record<string, unknown> };
};

describe('MCP through gov run: the official SDK client and server, governed by gov.yaml', () => {
  let pki: TestPki;
  let home: string;
  let policyPath: string;
  beforeAll(() => {
    pki = makeTestPki();
    home = tempHome();
    policyPath = join(home, 'gov.yaml');
    writeFileSync(policyPath, POLICY);
  });

  const govRun = (cmd: string[], extra: string[] = []) =>
    runGov(
      [
        'run',
        '--no-tui',
        '--policy',
        policyPath,
        '--upstream-ca',
        pki.caPath,
        '--approval-timeout',
        '1s',
        ...extra,
        '--',
        ...cmd,
      ],
      {
        env: { GOV_HOME: home },
        timeoutMs: 60_000,
      },
    );

  const modes: McpMode[] = ['sse', 'json', 'stateless', 'legacy'];
  for (const mode of modes) {
    describe(`${mode} transport`, () => {
      let server: McpTestServer;
      beforeAll(async () => {
        server = await startMcpServer(pki, mode);
      });
      afterAll(async () => {
        await server.close();
      });

      it('filters tools/list, allows echo, denies shell_exec with -32003 before it reaches the server, times out a held call', async () => {
        const steps = [
          ['list'],
          ['call', 'echo', { text: 'hi' }],
          ['call', 'shell_exec', { cmd: 'id' }],
          ['call', 'refund', { amount: 5 }],
        ];
        const r = await govRun([
          process.execPath,
          SDK_CLIENT,
          server.mcpUrl,
          mode === 'legacy' ? 'legacy' : 'streamable',
          JSON.stringify(steps),
        ]);
        const lines = r.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Line);
        expect(lines[0]?.step, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe('connect');
        expect(lines[1]!.tools).toEqual(['echo', 'leak', 'refund', 'whoami']);
        expect(lines[2]!.result!.content[0]!.text).toBe('echo: hi');
        expect(lines[3]!.error!.code).toBe(-32003);
        expect(lines[3]!.error!.message).toContain(
          "Denied by gov policy rule 'no-shell': Shell tools are not allowed",
        );
        expect(lines[3]!.error!.data).toMatchObject({
          decision: 'deny',
          rule: 'no-shell',
          reason: 'Shell tools are not allowed',
        });
        expect(String(lines[3]!.error!.data!['audit_id'])).toMatch(/\S/);
        expect(lines[4]!.error!.code).toBe(-32003);
        expect(lines[4]!.error!.message).toContain('Approval timed out after 1s');
        expect(server.executed.map((e) => e.tool)).toEqual(['echo']);
        expect(r.stderr).toContain('gov: deny tools/call shell_exec (rule no-shell)');
        expect(r.stderr).toContain('gov: allow tools/call echo (rule reads)');
        expect(r.stderr).toContain(
          'gov: deny tools/call refund (rule refunds) — approval timed out after 1s',
        );
        expect(r.code).toBe(0);
      });

      it('redacts a secret in a tool result before the agent sees it', async () => {
        const steps = [['call', 'leak', {}]];
        const r = await govRun([
          process.execPath,
          SDK_CLIENT,
          server.mcpUrl,
          mode === 'legacy' ? 'legacy' : 'streamable',
          JSON.stringify(steps),
        ]);
        const line = r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Line)[1]!;
        expect(line.result!.content[0]!.text).not.toContain('ghp_');
        expect(line.result!.content[0]!.text).toMatch(/\[REDACTED:[a-z-]+\]/);
      });
    });
  }

  describe('bypass attempts never reach the server', () => {
    let server: McpTestServer;
    beforeAll(async () => {
      server = await startMcpServer(pki, 'stateless');
    });
    afterAll(async () => {
      await server.close();
    });

    const call = (name: string, id = 1) => ({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name, arguments: { cmd: 'id', text: 'x' } },
    });
    const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

    it('refuses or denies every trick, and forwards only the allowed element of a batch', async () => {
      const big = JSON.stringify({
        ...call('echo'),
        params: { name: 'echo', arguments: { text: 'x'.repeat(5 * 1024 * 1024) } },
      });
      const cases = [
        {
          name: 'duplicate-keys',
          body_b64: b64(
            '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"shell_exec","arguments":{"cmd":"id"}}}',
          ),
        },
        {
          name: 'unicode-escaped',
          body_b64: b64(
            '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"shell\\u005fexec","arguments":{"cmd":"id"}}}',
          ),
        },
        {
          name: 'gzip',
          body_b64: b64(gzipSync(JSON.stringify(call('shell_exec')))),
          headers: { 'content-encoding': 'gzip' },
        },
        {
          name: 'text-plain',
          body_b64: b64(JSON.stringify(call('shell_exec'))),
          headers: { 'content-type': 'text/plain' },
        },
        { name: 'oversized', body_b64: b64(big) },
        {
          name: 'mcp-method-mismatch',
          body_b64: b64(JSON.stringify(call('shell_exec'))),
          headers: { 'mcp-method': 'tools/list' },
        },
        {
          name: 'mcp-name-mismatch',
          body_b64: b64(JSON.stringify(call('shell_exec'))),
          headers: { 'mcp-method': 'tools/call', 'mcp-name': 'echo' },
        },
        {
          name: 'invalid-utf8',
          body_b64: Buffer.concat([
            Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"shell_exec\xff'),
            Buffer.from([0xff]),
            Buffer.from('","arguments":{}}}'),
          ]).toString('base64'),
        },
        {
          name: 'unknown-encoding',
          body_b64: b64(JSON.stringify(call('shell_exec'))),
          headers: { 'content-encoding': 'compress' },
        },
        {
          name: 'batch',
          body_b64: b64(JSON.stringify([call('echo', 1), call('shell_exec', 2)])),
          headers: { 'mcp-protocol-version': '2025-03-26' },
        },
      ];
      const casesFile = join(home, 'cases.json');
      writeFileSync(casesFile, JSON.stringify(cases));
      const r = await govRun(['python3', RAW_POST, server.mcpUrl, casesFile]);
      const results = Object.fromEntries(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => {
            const o = JSON.parse(l) as { name: string; status: number; body: string };
            return [o.name, o];
          }),
      );
      expect(Object.keys(results).length, r.stderr).toBe(cases.length);
      expect(results['duplicate-keys']!.status).toBe(400);
      expect(results['duplicate-keys']!.body).toContain('-32700');
      expect(results['unicode-escaped']!.body).toContain("Denied by gov policy rule 'no-shell'");
      expect(results['gzip']!.body).toContain("Denied by gov policy rule 'no-shell'");
      expect(results['text-plain']!.body).toContain("Denied by gov policy rule 'no-shell'");
      expect(results['oversized']!.status, results['oversized']!.body).toBe(413);
      expect(results['mcp-method-mismatch']!.status).toBe(400);
      expect(results['mcp-name-mismatch']!.status).toBe(400);
      expect(results['invalid-utf8']!.status).toBe(400);
      expect(results['unknown-encoding']!.status).toBe(415);
      // The SDK answers a batch as SSE (one event per response) or JSON; gov merges its denials in either way.
      const raw = results['batch']!.body;
      const batch = (
        /^(event|data):/m.test(raw)
          ? raw
              .split('\n')
              .filter((l) => l.startsWith('data:'))
              .flatMap((l) => [JSON.parse(l.slice(5)) as unknown].flat())
          : [JSON.parse(raw) as unknown].flat()
      ) as Array<{ id: number; result?: unknown; error?: { code: number } }>;
      expect(batch.map((m) => m.id).sort()).toEqual([1, 2]);
      expect(batch.find((m) => m.id === 2)!.error!.code).toBe(-32003);
      // Only the allowed batch element ever reached the server.
      expect(server.executed.map((e) => e.tool)).toEqual(['echo']);
      expect(server.bodies.every((b) => !b.includes('shell'))).toBe(true);
    });
  });
});
