import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startV2McpServer } from '../helpers/mcp-v2-server.js';
import { ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { auditRecords } from '../helpers/approval-peers.js';

const CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'v2-eliciting-client.mjs');

type Line = {
  step: string;
  protocolVersion?: string;
  message?: string;
  result?: unknown;
  error?: { code: number; message: string };
};

// The same client pinned to 2026-07-28 (asked in band: input_required) and on the plain 2025
// handshake (2025-11-25: asked with `elicitation/create` on the held call's stream).
const ERAS = [
  { era: '2026-07-28', version: '2026-07-28' },
  { era: 'legacy', version: '2025-11-25' },
] as const;

describe.each(ERAS)(
  'approval by elicitation: SDK v2 client and server through gov run ($version)',
  ({ era, version }) => {
    let pki: TestPki;
    let server: Awaited<ReturnType<typeof startV2McpServer>>;
    beforeAll(async () => {
      pki = makeTestPki();
      server = await startV2McpServer(pki);
    });
    afterAll(async () => {
      await server.close();
    });

    async function run(answer: string, steps: unknown[][]) {
      const home = tempHome();
      const policy = join(home, 'gov.yaml');
      writeFileSync(
        policy,
        'version: 1\ndefault: allow\napproval_timeout: 1h\nrules:\n  - id: refunds\n    tool: refund\n    decision: approve\napprovals: {channels: [elicitation]}\n',
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
        { env: { GOV_HOME: home, MCP_TEST_PROTOCOL: era }, timeoutMs: 60_000 },
      );
      const all = r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line);
      expect(all[0], r.stderr).toMatchObject({ step: 'connected', protocolVersion: version });
      return { home, lines: all.slice(1), r };
    }

    it('accept: asked once, executed exactly once, audited with the client', async () => {
      const before = server.executed.length;
      const { home, lines, r } = await run('approve_once', [['call', 'refund', { amount: 3 }]]);
      expect(
        lines.map((l) => l.step),
        r.stdout + r.stderr,
      ).toEqual(['asked', 'call']);
      expect(lines[0]!.message).toContain('Tool: refund');
      expect(JSON.stringify(lines[1]!.result)).toContain('refunded 3');
      expect(server.executed.slice(before)).toEqual(['refund 3']);
      expect(auditRecords(home).filter((x) => x['kind'] === 'approval')).toMatchObject([
        { approver: 'elicitation:v2-ide', status: 'approved' },
      ]);
    });

    it('decline: -32003 "Denied by approver: …", never executed', async () => {
      const before = server.executed.length;
      const { lines } = await run('decline', [['call', 'refund', { amount: 4 }]]);
      const call = lines.find((l) => l.step === 'call')!;
      expect(call.error?.code).toBe(-32003);
      expect(call.error?.message).toContain('Denied by approver: declined in the MCP client');
      expect(server.executed.slice(before)).toEqual([]);
    });

    it('approve_run: the next identical call passes without asking', async () => {
      const before = server.executed.length;
      const { lines } = await run('approve_run', [
        ['call', 'refund', { amount: 5 }],
        ['call', 'refund', { amount: 5 }],
      ]);
      expect(lines.map((l) => l.step)).toEqual(['asked', 'call', 'call']);
      expect(server.executed.slice(before)).toEqual(['refund 5', 'refund 5']);
    });
  },
);
