import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { GOV_BIN, ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import {
  auditRecords,
  childEnv,
  executed,
  shellApprovalPolicy,
  type Json,
} from '../helpers/approval-peers.js';
import { eventually } from '../helpers/until.js';

const SERVER = join(ROOT, 'test', 'fixtures', 'servers', 'stdio-server.mjs');
const TOKEN = 'hook-secret-3f9a1c77e2';
const URL_SECRET = 'T000-B000-urlsecret8842';

interface Hit {
  headers: IncomingMessage['headers'];
  body: string;
  res: ServerResponse;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A local webhook receiver: answers 200, or (dead) accepts the request and never answers. */
async function receiver(dead: boolean): Promise<{ url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hits.push({ headers: req.headers, body, res });
      if (!dead) res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/hooks/${URL_SECRET}`, hits };
}

async function wrapWithHook(url: string) {
  const home = tempHome();
  await sealWithFastKdf(home, 'correct horse battery');
  const env = {
    GOV_HOME: home,
    GOV_VAULT_BACKEND: 'passphrase',
    GOV_VAULT_PASSPHRASE: 'correct horse battery',
  };
  const set = await runGov(['vault', 'set', 'hook-token'], { env, input: TOKEN + '\n' });
  expect(set.code, set.stderr).toBe(0);
  const execLog = join(home, 'exec.log');
  const policy = join(home, 'gov.yaml');
  writeFileSync(
    policy,
    shellApprovalPolicy(
      `{notify: [{url: "${url}", headers: {Authorization: {secret: hook-token}, X-Team: ops}}]}`,
    ),
  );
  let stderr = '';
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [GOV_BIN, 'mcp', 'wrap', '--policy', policy, '--name', 'files', '--', process.execPath, SERVER],
    env: childEnv({ ...env, EXEC_LOG: execLog }),
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'plain', version: '1.0.0' });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return { home, execLog, client, stderr: () => stderr };
}

function govWrote(home: string): string {
  const dir = join(home, 'audit');
  return readdirSync(dir)
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}

describe('approvals.notify: a held call is announced to a webhook', () => {
  it('POSTs the `gov pending --json` entry plus approve/deny commands; no secret in the body or the audit', async () => {
    const hook = await receiver(false);
    const w = await wrapWithHook(hook.url);
    const call = w.client.callTool({ name: 'shell_exec', arguments: { cmd: 'deploy' } });
    const hit = await eventually('the webhook', () => hook.hits[0]);
    const body = JSON.parse(hit.body) as Json;
    expect(Object.keys(body)).toEqual([
      'id',
      'run',
      'server',
      'tool',
      'method',
      'args',
      'rule',
      'reason',
      'held_since',
      'expires_at',
      'approve_command',
      'deny_command',
    ]);
    expect(body).toMatchObject({
      server: 'files',
      tool: 'shell_exec',
      method: 'tools/call',
      args: { cmd: 'deploy' },
      rule: 'shell-needs-human',
      approve_command: `gov approve ${String(body['id'])}`,
      deny_command: `gov deny ${String(body['id'])}`,
    });
    expect(hit.headers['authorization']).toBe(TOKEN);
    expect(hit.headers['x-team']).toBe('ops');
    expect(hit.headers['content-type']).toBe('application/json');
    expect(hit.body).not.toContain(TOKEN);

    const ok = await runGov(['approve', String(body['id'])], { env: { GOV_HOME: w.home } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.stringify(await call)).toContain('ran: deploy');
    const sent = await eventually('the notify record', () =>
      auditRecords(w.home).find((r) => r['kind'] === 'notify'),
    );
    expect(sent).toMatchObject({
      status: 'sent',
      detail: { held_id: body['id'], hook: 1, origin: new URL(hook.url).origin, ok: true, attempts: 1 },
    });
    const written = govWrote(w.home) + w.stderr();
    expect(written).not.toContain(TOKEN);
    expect(written).not.toContain(URL_SECRET);
  });

  it('a dead webhook does not hold up the call: it completes while the hook still has not answered', async () => {
    const hook = await receiver(true);
    const w = await wrapWithHook(hook.url);
    const call = w.client.callTool({ name: 'shell_exec', arguments: { cmd: 'ship' } });
    const hit = await eventually('the webhook', () => hook.hits[0]);
    const id = String((JSON.parse(hit.body) as Json)['id']);
    const ok = await runGov(['approve', id], { env: { GOV_HOME: w.home } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.stringify(await call)).toContain('ran: ship');
    // The hook's request is still open: the call never waited for it.
    expect(hit.res.writableEnded).toBe(false);
    expect(executed(w.execLog)).toEqual(['ship']);
    // Nor does a dead hook stop later calls.
    const r = await w.client.callTool({ name: 'echo', arguments: { text: 'next' } });
    expect(JSON.stringify(r)).toContain('next');
  });
});

describe('invisible characters in a held call reach no approver hidden', () => {
  it('the webhook body and `gov pending --json/--full` show them escaped; nothing ran', async () => {
    const hook = await receiver(false);
    const w = await wrapWithHook(hook.url);
    // A soft hyphen, an invisible operator, a variation selector and a tag: `rm -rf /` must
    // not read as anything else, nor look the same as a plain value.
    const cmd = 'rm -r\u00adf /\u2061\u{e0100}\u{e0001}';
    const call = w.client.callTool({ name: 'shell_exec', arguments: { cmd } });
    call.catch(() => undefined);
    const hit = await eventually('the webhook', () => hook.hits[0]);
    const body = JSON.parse(hit.body) as Json;
    expect(body['args']).toEqual({ cmd: 'rm -r<U+00AD>f /<U+2061><U+E0100><U+E0001>' });
    const id = String(body['id']);

    const listed = await runGov(['pending', '--json'], { env: { GOV_HOME: w.home } });
    const full = await runGov(['pending', '--full', id], { env: { GOV_HOME: w.home } });
    for (const out of [listed.stdout, full.stdout]) {
      expect(out).toContain('"cmd": "rm -r\\u00adf /\\u2061\\udb40\\udd00\\udb40\\udc01"');
      expect(out).not.toMatch(/[\u00ad\u2061]|\udb40/);
    }
    // The JSON still says exactly what the call is.
    expect((JSON.parse(full.stdout) as Json)['args']).toEqual({ cmd });

    const no = await runGov(['deny', id], { env: { GOV_HOME: w.home } });
    expect(no.code, no.stderr).toBe(0);
    await call.catch(() => undefined);
    expect(executed(w.execLog)).toEqual([]);
  });
});
