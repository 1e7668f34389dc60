import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { GOV_BIN, ROOT, tempHome } from '../helpers/gov-process.js';
import {
  auditRecords,
  childEnv,
  executed,
  shellApprovalPolicy,
  type Json,
} from '../helpers/approval-peers.js';

// A v2-SDK server over stdio: it serves 2026-07-28 and the 2025 handshake.
const SERVER = join(ROOT, 'test', 'fixtures', 'servers', 'v2-stdio-server.mjs');

type Decision = 'approve_once' | 'approve_run' | 'decline';

const open: Client[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close().catch(() => undefined);
});

/**
 * `gov mcp wrap` around the v2 server, with an SDK v2 (2.4) client that answers elicitations:
 * `legacy` is the plain 2025 handshake (2025-11-25: gov writes `elicitation/create` lines),
 * `2026-07-28` is pinned (gov answers `input_required`; the SDK retries with the answer).
 */
async function wrap(era: 'legacy' | '2026-07-28', decision: Decision) {
  const home = tempHome();
  const execLog = join(home, 'exec.log');
  const policy = join(home, 'gov.yaml');
  // An elicitation-capable client is a live channel: nothing is denied as unattended.
  writeFileSync(policy, shellApprovalPolicy('{channels: [elicitation], when_unattended: deny}'));
  const client = new Client(
    { name: 'v2-stdio-ide', version: '4.1.0' },
    {
      capabilities: { elicitation: { form: {} } },
      ...(era === 'legacy' ? {} : { versionNegotiation: { mode: { pin: era } } }),
    },
  );
  const asked: string[] = [];
  client.setRequestHandler('elicitation/create', async (req) => {
    asked.push(req.params.message);
    return decision === 'decline'
      ? { action: 'decline' }
      : { action: 'accept', content: { decision, reason: 'checked it' } };
  });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [GOV_BIN, 'mcp', 'wrap', '--policy', policy, '--name', 'files', '--', process.execPath, SERVER],
      env: childEnv({ GOV_HOME: home, EXEC_LOG: execLog }),
      stderr: 'pipe',
    }),
  );
  open.push(client);
  const call = (cmd: string) =>
    client.callTool({ name: 'shell_exec', arguments: { cmd } }).then(
      (result) => ({ result, error: undefined }),
      (e: unknown) => ({ result: undefined, error: e as { code: number; message: string } }),
    );
  return { home, execLog, client, asked, call };
}

const approvals = (home: string) => auditRecords(home).filter((x: Json) => x['kind'] === 'approval');

const eras = [
  { era: 'legacy', version: '2025-11-25' },
  { era: '2026-07-28', version: '2026-07-28' },
] as const;

for (const { era, version } of eras) {
  describe(`approval by elicitation over stdio: SDK v2 client on ${version} (gov mcp wrap)`, () => {
    it('accept: asked once, naming the call; executed exactly once; audited with the client', async () => {
      const w = await wrap(era, 'approve_once');
      expect(w.client.getNegotiatedProtocolVersion()).toBe(version);
      const r = await w.call('make');
      expect(JSON.stringify(r.result), r.error?.message).toContain('ran: make');
      expect(w.asked).toHaveLength(1);
      expect(w.asked[0]).toContain('Tool: shell_exec');
      expect(w.asked[0]).toContain('Server: files');
      expect(w.asked[0]).toContain('Rule: shell-needs-human — Shell commands need a person');
      expect(executed(w.execLog)).toEqual(['make']);
      expect(approvals(w.home)).toMatchObject([
        {
          approver: 'elicitation:v2-stdio-ide',
          status: 'approved',
          reason: 'checked it',
          detail: expect.objectContaining({ client_info: { name: 'v2-stdio-ide', version: '4.1.0' } }),
        },
      ]);
    });

    it('decline: -32003 "Denied by approver: …", never executed', async () => {
      const w = await wrap(era, 'decline');
      const r = await w.call('rm -rf /');
      expect(r.error?.code).toBe(-32003);
      expect(r.error?.message).toContain('Denied by approver: declined in the MCP client');
      expect(executed(w.execLog)).toEqual([]);
      expect(approvals(w.home)).toMatchObject([{ approver: 'elicitation:v2-stdio-ide', status: 'denied' }]);
    });

    it('approve_run: the next identical call passes without asking', async () => {
      const w = await wrap(era, 'approve_run');
      expect(JSON.stringify((await w.call('date')).result)).toContain('ran: date');
      expect(JSON.stringify((await w.call('date')).result)).toContain('ran: date');
      expect(w.asked).toHaveLength(1);
      expect(executed(w.execLog)).toEqual(['date', 'date']);
    });
  });
}
