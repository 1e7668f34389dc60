import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpMode, type McpTestServer } from '../helpers/mcp-http-server.js';
import { ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { auditRecords } from '../helpers/approval-peers.js';

const CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'eliciting-client.mjs');

type Line = {
  step: string;
  protocolVersion?: string;
  message?: string;
  result?: { content: Array<{ text: string }> };
  error?: { code: number; message: string };
};

describe('approval by MCP elicitation over Streamable HTTP (gov run, SDK 1.32 client)', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });

  async function run(
    server: McpTestServer,
    answer: string,
    steps: unknown[][],
    o: { channels?: string; protocol?: string } = {},
  ) {
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
        `approvals: {channels: ${o.channels ?? '[elicitation]'}, when_unattended: deny}`,
        '',
      ].join('\n'),
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
        CLIENT,
        server.mcpUrl,
        answer,
        JSON.stringify(steps),
      ],
      { env: { GOV_HOME: home, MCP_TEST_PROTOCOL: o.protocol ?? '' }, timeoutMs: 60_000 },
    );
    const all = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);
    const connected = all.find((l) => l.step === 'connected');
    return { home, lines: all.filter((l) => l !== connected), protocol: connected?.protocolVersion, r };
  }

  const modes: McpMode[] = ['sse', 'json', 'stateless'];
  for (const mode of modes) {
    describe(`${mode} server`, () => {
      let server: McpTestServer;
      beforeAll(async () => {
        server = await startMcpServer(pki, mode);
      });
      afterAll(async () => {
        await server.close();
      });

      for (const version of ['2025-06-18', '2025-11-25']) {
        it(`accept on ${version}: asked once on the held call’s stream, executed exactly once, audited with the client`, async () => {
          const before = server.executed.length;
          const { home, lines, protocol, r } = await run(
            server,
            'approve_once',
            [['call', 'refund', { amount: 7 }]],
            {
              protocol: version,
            },
          );
          expect(protocol, r.stderr).toBe(version);
          expect(
            lines.map((l) => l.step),
            r.stderr,
          ).toEqual(['asked', 'call']);
          expect(lines[0]!.message).toContain('Tool: refund');
          expect(lines[1]!.result!.content[0]!.text).toBe('refunded 7');
          expect(server.executed.slice(before).map((e) => e.tool)).toEqual(['refund']);
          const rec = auditRecords(home).find((x) => x['kind'] === 'approval');
          expect(rec).toMatchObject({
            approver: 'elicitation:http-ide',
            reason: 'looks fine',
            detail: expect.objectContaining({ client_info: { name: 'http-ide', version: '2.0.0' } }),
          });
        });
      }

      it('decline: -32003 "Denied by approver: …", never executed', async () => {
        const before = server.executed.length;
        const { lines } = await run(server, 'decline', [['call', 'refund', { amount: 8 }]]);
        const call = lines.find((l) => l.step === 'call')!;
        expect(call.error!.code).toBe(-32003);
        expect(call.error!.message).toContain('Denied by approver: declined in the MCP client');
        expect(server.executed.slice(before)).toEqual([]);
      });

      it('approve_run: the next identical call passes without asking', async () => {
        const before = server.executed.length;
        const { lines } = await run(server, 'approve_run', [
          ['call', 'refund', { amount: 9 }],
          ['call', 'refund', { amount: 9 }],
        ]);
        expect(lines.map((l) => l.step)).toEqual(['asked', 'call', 'call']);
        expect(server.executed.slice(before).map((e) => e.tool)).toEqual(['refund', 'refund']);
      });
    });
  }

  it('a client without the capability, nobody attached and when_unattended: deny — denied at once', async () => {
    const server = await startMcpServer(pki, 'sse');
    try {
      const { lines, home } = await run(server, 'none', [['call', 'refund', { amount: 1 }]]);
      expect(lines[0]!.error!.message).toMatch(/no one can give it/);
      expect(server.executed).toEqual([]);
      expect(auditRecords(home).find((x) => x['kind'] === 'approval')).toMatchObject({
        approver: 'unattended',
      });
    } finally {
      await server.close();
    }
  });
});
