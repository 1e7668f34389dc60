/**
 * "Approve <tool> for the rest of this run" given through one client's elicitation must not
 * approve calls the person never saw: another gov serve principal's calls of that tool, or,
 * under `--auth none` (where every client is the same principal), another session's.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { makeTestPki } from '../helpers/test-ca.js';
import { startMcpServer } from '../helpers/mcp-http-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { startServe, addServeToken } from '../helpers/gov-serve.js';
import { auditRecords, pendingCalls, type Json } from '../helpers/approval-peers.js';
import { eventually } from '../helpers/until.js';

describe('gov serve: an elicited approve_run stays with the principal that gave it', () => {
  it('the IDE principal approves refund for its run; the bot principal’s refund is still held', async () => {
    const pki = makeTestPki();
    const server = await startMcpServer(pki, 'sse');
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
      const ide = await connect('ide', ideToken, { elicitation: { form: {} } });
      ide.setRequestHandler(ElicitRequestSchema, async () => ({
        action: 'accept',
        content: { decision: 'approve_run' },
      }));
      expect(JSON.stringify(await ide.callTool({ name: 'refund', arguments: { amount: 1 } }))).toContain(
        'refunded 1',
      );

      const bot = await connect('bot', botToken, {});
      const botCall = bot.callTool({ name: 'refund', arguments: { amount: 99999 } }).then(
        (r) => ({ r }),
        (e: unknown) => ({ e }),
      );
      // The bot's call must wait for a person of its own (here: `gov deny`).
      const held = await eventually(
        'the bot’s call held (or executed)',
        async () => {
          if (server.executed.some((x) => (x.args as Json)['amount'] === 99999)) return 'executed' as const;
          const p = await pendingCalls(home);
          return p.length ? p : undefined;
        },
        15_000,
      );
      expect(held, 'the bot’s refund ran on the IDE’s approve_run').not.toBe('executed');
      const id = String((held as Json[])[0]!['id']);
      const r = await runGov(['deny', id], { env: { GOV_HOME: home } });
      expect(r.code, r.stderr).toBe(0);
      await botCall;
      expect(server.executed.map((x) => x.args)).toEqual([{ amount: 1 }]);
      expect(
        auditRecords(home)
          .filter((x: Json) => x['kind'] === 'approval')
          .map((x: Json) => x['approver']),
      ).toEqual(['elicitation:ide', 'cli']);
    } finally {
      for (const c of clients) await c.close().catch(() => undefined);
      await gov.stop();
      await server.close();
    }
  }, 60_000);
  it('under --auth none, one session’s approve_run leaves another session’s refund held', async () => {
    const pki = makeTestPki();
    const server = await startMcpServer(pki, 'sse');
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      'version: 1\ndefault: allow\napproval_timeout: 1h\nrules:\n  - id: refunds\n    tool: refund\n    decision: approve\napprovals: {channels: [cli, elicitation]}\n',
    );
    const gov = await startServe(
      ['--target', server.mcpUrl, '--policy', policy, '--upstream-ca', pki.caPath, '--auth', 'none'],
      { ...process.env, GOV_HOME: home },
    );
    const clients: Client[] = [];
    const connect = async (name: string, capabilities: ClientCapabilities) => {
      const c = new Client({ name, version: '1.0.0' }, { capabilities });
      await c.connect(new StreamableHTTPClientTransport(new URL(`${gov.url}/mcp`)));
      clients.push(c);
      return c;
    };
    try {
      const ide = await connect('ide', { elicitation: { form: {} } });
      ide.setRequestHandler(ElicitRequestSchema, async () => ({
        action: 'accept',
        content: { decision: 'approve_run' },
      }));
      expect(JSON.stringify(await ide.callTool({ name: 'refund', arguments: { amount: 1 } }))).toContain(
        'refunded 1',
      );
      // The grant covers the session it was given in.
      expect(JSON.stringify(await ide.callTool({ name: 'refund', arguments: { amount: 2 } }))).toContain(
        'refunded 2',
      );

      const bot = await connect('bot', {});
      const botCall = bot.callTool({ name: 'refund', arguments: { amount: 99999 } }).then(
        (r) => ({ r }),
        (e: unknown) => ({ e }),
      );
      const held = await eventually(
        'the bot’s call held (or executed)',
        async () => {
          if (server.executed.some((x) => (x.args as Json)['amount'] === 99999)) return 'executed' as const;
          const p = await pendingCalls(home);
          return p.length ? p : undefined;
        },
        15_000,
      );
      expect(held, 'the bot’s refund ran on the IDE session’s approve_run').not.toBe('executed');
      const r = await runGov(['deny', String((held as Json[])[0]!['id'])], { env: { GOV_HOME: home } });
      expect(r.code, r.stderr).toBe(0);
      await botCall;
      expect(server.executed.map((x) => x.args)).toEqual([{ amount: 1 }, { amount: 2 }]);
      expect(
        auditRecords(home)
          .filter((x: Json) => x['kind'] === 'approval')
          .map((x: Json) => x['approver']),
      ).toEqual(['elicitation:ide', 'always', 'cli']);
    } finally {
      for (const c of clients) await c.close().catch(() => undefined);
      await gov.stop();
      await server.close();
    }
  }, 60_000);
});
