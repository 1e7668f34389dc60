import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  ElicitRequestSchema,
  type ElicitResult,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import { GOV_BIN, ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import {
  auditRecords,
  childEnv,
  executed,
  pendingCalls,
  shellApprovalPolicy,
  type Json,
} from '../helpers/approval-peers.js';
import { eventually } from '../helpers/until.js';

const SERVER = join(ROOT, 'test', 'fixtures', 'servers', 'stdio-server.mjs');

interface Wrapped {
  home: string;
  execLog: string;
  client: Client;
  asked: Array<{ message: string; schema: unknown }>;
  protocol(): string | undefined;
}

const open: Client[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close().catch(() => undefined);
});

/** `gov mcp wrap` around the fixture server, with an SDK 1.32 client that may answer elicitations. */
async function wrap(o: {
  approvals: string;
  /** The version the client's `initialize` offers (the SDK offers its latest, 2025-11-25). */
  protocol?: string;
  answer?: (req: { message: string }, signal: AbortSignal) => Promise<ElicitResult>;
}): Promise<Wrapped> {
  const home = tempHome();
  const execLog = join(home, 'exec.log');
  const policy = join(home, 'gov.yaml');
  writeFileSync(policy, shellApprovalPolicy(o.approvals));
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [GOV_BIN, 'mcp', 'wrap', '--policy', policy, '--name', 'files', '--', process.execPath, SERVER],
    env: childEnv({ GOV_HOME: home, EXEC_LOG: execLog }),
    stderr: 'pipe',
  });
  // The version the server answered in `initialize`, as the client received it.
  let negotiated: string | undefined;
  let receive = transport.onmessage;
  Object.defineProperty(transport, 'onmessage', {
    get: () => receive,
    set: (handler: NonNullable<typeof transport.onmessage>) => {
      receive = (message: JSONRPCMessage) => {
        const r = 'result' in message ? (message.result as { protocolVersion?: unknown }) : undefined;
        if (typeof r?.protocolVersion === 'string') negotiated = r.protocolVersion;
        handler(message);
      };
    },
  });
  const protocol = o.protocol;
  if (protocol) {
    const send = transport.send.bind(transport);
    transport.send = (message: JSONRPCMessage) =>
      send(
        'method' in message && message.method === 'initialize'
          ? { ...message, params: { ...message.params, protocolVersion: protocol } }
          : message,
      );
  }
  const asked: Wrapped['asked'] = [];
  const client = new Client(
    { name: 'ide-client', version: '1.0.0' },
    { capabilities: o.answer ? { elicitation: { form: {} } } : {} },
  );
  if (o.answer) {
    const answer = o.answer;
    client.setRequestHandler(ElicitRequestSchema, (req, extra) => {
      const p = req.params as { message: string; requestedSchema: unknown };
      asked.push({ message: p.message, schema: p.requestedSchema });
      return answer(p, extra.signal);
    });
  }
  await client.connect(transport);
  open.push(client);
  return { home, execLog, client, asked, protocol: () => negotiated };
}

const approvals = (r: Json[]) => r.filter((x) => x['kind'] === 'approval');

describe('approval by MCP elicitation over stdio (gov mcp wrap, SDK 1.32 client)', () => {
  it.each(['2025-06-18', '2025-11-25'])(
    'accept on %s: the question names the call; the call executes exactly once; the audit names the client',
    async (version) => {
      const w = await wrap({
        approvals: '{channels: [tui, cli, elicitation]}',
        protocol: version,
        answer: async () => ({ action: 'accept', content: { decision: 'approve_once' } }),
      });
      expect(w.protocol()).toBe(version);
      const r = await w.client.callTool({ name: 'shell_exec', arguments: { cmd: 'ls \u202e-la' } });
      expect(JSON.stringify(r)).toContain('ran: ls');
      expect(executed(w.execLog)).toHaveLength(1);
      expect(w.asked).toHaveLength(1);
      const q = w.asked[0]!;
      expect(q.message).toContain('Tool: shell_exec');
      expect(q.message).toContain('Server: files');
      expect(q.message).toContain('Rule: shell-needs-human — Shell commands need a person');
      expect(q.message).toContain('"cmd": "ls \\u202e-la"');
      expect(q.message).not.toContain('\u202e');
      // The form its own version defines: `enum` + `enumNames` on 2025-06-18, titled `oneOf` after.
      const decisions = ['approve_once', 'approve_run', 'deny'];
      const titles = [
        'Approve this call once',
        'Approve shell_exec for the rest of this run',
        'Deny this call',
      ];
      expect(q.schema).toMatchObject({
        type: 'object',
        properties: {
          decision:
            version === '2025-06-18'
              ? { type: 'string', enum: decisions, enumNames: titles }
              : { type: 'string', oneOf: decisions.map((d, i) => ({ const: d, title: titles[i] })) },
          reason: { type: 'string', title: 'Reason (optional)' },
        },
        required: ['decision'],
      });
      // Answered: no channel still offers the call.
      expect(await pendingCalls(w.home)).toEqual([]);
      const [rec] = approvals(auditRecords(w.home));
      expect(rec).toMatchObject({
        approver: 'elicitation:ide-client',
        status: 'approved',
        detail: expect.objectContaining({ client_info: { name: 'ide-client', version: '1.0.0' } }),
      });
    },
  );

  it('decline: -32003 "Denied by approver: …", never executed', async () => {
    const w = await wrap({
      approvals: '{channels: [elicitation]}',
      answer: async () => ({ action: 'decline' }),
    });
    const err = await w.client.callTool({ name: 'shell_exec', arguments: { cmd: 'rm -rf /' } }).then(
      () => null,
      (e: unknown) => e as { code: number; message: string },
    );
    expect(err?.code).toBe(-32003);
    expect(err?.message).toContain('Denied by approver: declined in the MCP client');
    expect(executed(w.execLog)).toEqual([]);
    expect(approvals(auditRecords(w.home))[0]).toMatchObject({
      approver: 'elicitation:ide-client',
      status: 'denied',
    });
  });

  it.each([
    ['cancel', async (): Promise<ElicitResult> => ({ action: 'cancel' }), 'cancelled in the MCP client'],
    [
      'an error',
      async (): Promise<ElicitResult> => {
        throw new Error('no window to show it in');
      },
      'the MCP client could not ask (no window to show it in)',
    ],
  ] as const)(
    '%s in the client is a denial with that reason, never executed',
    async (_what, answer, reason) => {
      const w = await wrap({ approvals: '{channels: [elicitation]}', answer });
      const err = await w.client.callTool({ name: 'shell_exec', arguments: { cmd: 'halt' } }).then(
        () => null,
        (e: unknown) => e as { code: number; message: string },
      );
      expect(err?.code).toBe(-32003);
      expect(err?.message).toContain(`Denied by approver: ${reason}`);
      expect(executed(w.execLog)).toEqual([]);
    },
  );

  it('a question that cannot show the whole call offers only deny; an approve answer to it is a denial, never executed', async () => {
    const w = await wrap({
      approvals: '{channels: [elicitation]}',
      answer: async () => ({ action: 'accept', content: { decision: 'approve_once' } }),
    });
    // The dangerous part is past what the question can show (a summary, cut to 2,000 characters).
    const cmd = 'echo nightly report ' + 'pad '.repeat(1200) + '; rm -rf /';
    const err = await w.client.callTool({ name: 'shell_exec', arguments: { cmd } }).then(
      () => null,
      (e: unknown) => e as { code: number; message: string },
    );
    expect(w.asked).toHaveLength(1);
    const q = w.asked[0]!;
    expect(q.message).not.toContain('rm -rf /');
    expect(q.message).toMatch(/too long to show here/);
    expect(JSON.stringify(q.schema)).not.toMatch(/approve_once|approve_run/);
    expect(err?.code).toBe(-32003);
    expect(err?.message).toMatch(/Denied by approver: .*could not show the whole call/);
    expect(executed(w.execLog)).toEqual([]);
  });

  it('approve_run: the next identical call passes without asking', async () => {
    const w = await wrap({
      approvals: '{channels: [elicitation]}',
      answer: async () => ({ action: 'accept', content: { decision: 'approve_run' } }),
    });
    await w.client.callTool({ name: 'shell_exec', arguments: { cmd: 'date' } });
    await w.client.callTool({ name: 'shell_exec', arguments: { cmd: 'date' } });
    expect(w.asked).toHaveLength(1);
    expect(executed(w.execLog)).toEqual(['date', 'date']);
  });

  it('a client without the capability falls back: `gov approve` settles the call', async () => {
    const w = await wrap({ approvals: '{channels: [tui, cli, elicitation]}' });
    const call = w.client.callTool({ name: 'shell_exec', arguments: { cmd: 'uptime' } });
    const [held] = await eventually('the held call', async () => {
      const p = await pendingCalls(w.home);
      return p.length ? p : undefined;
    });
    const ok = await runGov(['approve', String(held!['id'])], { env: { GOV_HOME: w.home } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.stringify(await call)).toContain('ran: uptime');
    expect(approvals(auditRecords(w.home))[0]).toMatchObject({ approver: 'cli' });
  });

  it('elicitation is opt-in: a capable client is not asked unless channels lists it', async () => {
    const w = await wrap({
      approvals: '{channels: [tui, cli]}',
      answer: async () => ({ action: 'accept', content: { decision: 'approve_once' } }),
    });
    const call = w.client.callTool({ name: 'shell_exec', arguments: { cmd: 'whoami' } }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    const [held] = await eventually('the held call', async () => {
      const p = await pendingCalls(w.home);
      return p.length ? p : undefined;
    });
    await runGov(['deny', String(held!['id']), '--reason', 'not now'], { env: { GOV_HOME: w.home } });
    expect((await call)?.message).toMatch(/Denied by approver: not now/);
    expect(w.asked).toEqual([]);
  });

  it('racing the client against `gov approve`: exactly one verdict wins and is audited once', async () => {
    let release: (r: ElicitResult) => void = () => {};
    let cancelled = false;
    const w = await wrap({
      approvals: '{channels: [cli, elicitation]}',
      answer: (_req, signal) =>
        new Promise<ElicitResult>((res) => {
          release = res;
          signal.addEventListener('abort', () => (cancelled = true));
        }),
    });
    const call = w.client.callTool({ name: 'shell_exec', arguments: { cmd: 'hostname' } });
    await eventually('the question', () => (w.asked.length ? true : undefined));
    const [held] = await pendingCalls(w.home);
    const ok = await runGov(['approve', String(held!['id'])], { env: { GOV_HOME: w.home } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.stringify(await call)).toContain('ran: hostname');
    // The client's question was withdrawn; its late answer changes nothing.
    await eventually('the withdrawal', () => (cancelled ? true : undefined));
    release({ action: 'decline' });
    await w.client.callTool({ name: 'echo', arguments: { text: 'after' } });
    expect(executed(w.execLog)).toEqual(['hostname']);
    const recs = approvals(auditRecords(w.home));
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ approver: 'cli', status: 'approved' });
  });

  it('both answer at once (client denies, `gov approve` approves): one verdict, audited once, obeyed', async () => {
    let home = '';
    let cli: Promise<unknown> = Promise.resolve();
    const w = await wrap({
      approvals: '{channels: [cli, elicitation]}',
      answer: async () => {
        const [held] = await pendingCalls(home);
        // Fired together: neither waits for the other.
        cli = runGov(['approve', String(held!['id'])], { env: { GOV_HOME: home } });
        return { action: 'decline' };
      },
    });
    home = w.home;
    const outcome = await w.client.callTool({ name: 'shell_exec', arguments: { cmd: 'race' } }).then(
      () => 'ran',
      () => 'denied',
    );
    await cli;
    const recs = approvals(auditRecords(w.home));
    expect(recs).toHaveLength(1);
    const winner = recs[0]!;
    expect(['cli', 'elicitation:ide-client']).toContain(winner['approver']);
    expect(outcome).toBe(winner['status'] === 'approved' ? 'ran' : 'denied');
    expect(executed(w.execLog)).toEqual(outcome === 'ran' ? ['race'] : []);
  });

  it('when_unattended: deny with no live channel denies at once', async () => {
    const w = await wrap({ approvals: '{channels: [tui, cli], when_unattended: deny}' });
    const err = await w.client.callTool({ name: 'shell_exec', arguments: { cmd: 'reboot' } }).then(
      () => null,
      (e: unknown) => e as { code: number; message: string },
    );
    expect(err?.code).toBe(-32003);
    expect(err?.message).toMatch(/no one can give it.*when_unattended: deny/);
    expect(executed(w.execLog)).toEqual([]);
    expect(approvals(auditRecords(w.home))[0]).toMatchObject({ approver: 'unattended', status: 'denied' });
  });
});
