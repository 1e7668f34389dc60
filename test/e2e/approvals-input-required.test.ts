import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ROOT, spawnGov, tempHome } from '../helpers/gov-process.js';
import {
  auditRecords,
  childEnv,
  executed,
  shellApprovalPolicy,
  type Json,
} from '../helpers/approval-peers.js';
import { eventually } from '../helpers/until.js';

const SERVER = join(ROOT, 'test', 'fixtures', 'servers', 'stdio-server.mjs');
const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'mrtr-client', version: '3.0.0' },
  'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
};

const running: ChildProcess[] = [];
afterEach(() => {
  for (const c of running.splice(0)) c.kill('SIGKILL');
});

/** `gov mcp wrap` driven line by line, the way a 2026-07-28 client sends its requests. */
async function wrap() {
  const home = tempHome();
  const execLog = join(home, 'exec.log');
  const policy = join(home, 'gov.yaml');
  writeFileSync(policy, shellApprovalPolicy('{channels: [elicitation]}'));
  const gov = spawnGov(
    ['mcp', 'wrap', '--policy', policy, '--name', 'files', '--', process.execPath, SERVER],
    {
      env: childEnv({ GOV_HOME: home, EXEC_LOG: execLog }),
    },
  );
  running.push(gov);
  const replies = new Map<number, Json>();
  let buf = '';
  gov.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const msg = JSON.parse(buf.slice(0, i)) as Json;
      buf = buf.slice(i + 1);
      if (typeof msg['id'] === 'number') replies.set(msg['id'], msg);
    }
  });
  let next = 1;
  const request = async (method: string, params: Json): Promise<Json> => {
    const id = next++;
    gov.stdin!.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
    return eventually(`the answer to ${method} #${id}`, () => replies.get(id));
  };
  await request('initialize', {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'mrtr-client', version: '3.0.0' },
  });
  gov.stdin!.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
  const call = (args: Json, extra: Json = {}) =>
    request('tools/call', { name: 'shell_exec', arguments: args, _meta: META, ...extra });
  return { home, execLog, call };
}

const approve = { [`gov-approval`]: { action: 'accept', content: { decision: 'approve_once' } } };

describe('approval in band on 2026-07-28 (input_required + requestState)', () => {
  it('a held call is answered with input_required; the retry with the answer executes it once', async () => {
    const w = await wrap();
    const first = (await w.call({ cmd: 'make' }))['result'] as Json;
    expect(first['resultType']).toBe('input_required');
    const ask = (first['inputRequests'] as Json)['gov-approval'] as Json;
    expect(ask['method']).toBe('elicitation/create');
    expect(String((ask['params'] as Json)['message'])).toContain('Tool: shell_exec');
    expect(String(first['requestState'])).toMatch(/^gov1\./);
    expect(executed(w.execLog)).toEqual([]);

    const retry = await w.call(
      { cmd: 'make' },
      { inputResponses: approve, requestState: first['requestState'] },
    );
    expect(JSON.stringify(retry['result'])).toContain('ran: make');
    expect(executed(w.execLog)).toEqual(['make']);
    const recs = auditRecords(w.home).filter((r) => r['kind'] === 'approval');
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({
      approver: 'elicitation:mrtr-client',
      detail: expect.objectContaining({ client_info: { name: 'mrtr-client', version: '3.0.0' } }),
    });
  });

  it('a declined answer is a denial; nothing runs', async () => {
    const w = await wrap();
    const first = (await w.call({ cmd: 'rm' }))['result'] as Json;
    const retry = await w.call(
      { cmd: 'rm' },
      { inputResponses: { 'gov-approval': { action: 'decline' } }, requestState: first['requestState'] },
    );
    expect(retry['error']).toMatchObject({
      code: -32003,
      message: 'Denied by approver: declined in the MCP client',
    });
    expect(executed(w.execLog)).toEqual([]);
  });

  it('an approving answer to a question that could not show the whole call is a denial; nothing runs', async () => {
    const w = await wrap();
    const cmd = 'echo report ' + 'pad '.repeat(1200) + '; rm -rf /';
    const first = (await w.call({ cmd }))['result'] as Json;
    const ask = (first['inputRequests'] as Json)['gov-approval'] as Json;
    expect(String((ask['params'] as Json)['message'])).not.toContain('rm -rf /');
    expect(JSON.stringify(ask)).not.toMatch(/approve_once/);
    const retry = await w.call({ cmd }, { inputResponses: approve, requestState: first['requestState'] });
    expect(retry['error']).toMatchObject({ code: -32003 });
    expect(String((retry['error'] as Json)['message'])).toMatch(/could not show the whole call/);
    expect(executed(w.execLog)).toEqual([]);
  });

  it('a forged, replayed or re-targeted requestState is denied and recorded as an alert', async () => {
    const w = await wrap();
    const first = (await w.call({ cmd: 'ls' }))['result'] as Json;
    const state = String(first['requestState']);

    // Onto other arguments.
    const moved = await w.call({ cmd: 'cat /etc/shadow' }, { inputResponses: approve, requestState: state });
    expect(String((moved['error'] as Json)['message'])).toMatch(
      /requestState was refused: .*other arguments/,
    );

    // Forged: a payload of gov's shape with a made-up signature.
    const [body] = state.slice('gov1.'.length).split('.');
    const forged = await w.call(
      { cmd: 'ls' },
      { inputResponses: approve, requestState: `gov1.${body}.AAAA` },
    );
    expect(String((forged['error'] as Json)['message'])).toMatch(/requestState was refused: .*signature/);

    // Used once (approved), then replayed.
    const ok = await w.call({ cmd: 'ls' }, { inputResponses: approve, requestState: state });
    expect(JSON.stringify(ok['result'])).toContain('ran: ls');
    const replayed = await w.call({ cmd: 'ls' }, { inputResponses: approve, requestState: state });
    expect(String((replayed['error'] as Json)['message'])).toMatch(
      /requestState was refused: .*already used/,
    );

    expect(executed(w.execLog)).toEqual(['ls']);
    const alerts = await eventually('three alerts', () => {
      const a = auditRecords(w.home).filter(
        (r) => r['kind'] === 'alert' && String(r['reason']).includes('requestState was refused'),
      );
      return a.length === 3 ? a : undefined;
    });
    expect(alerts).toHaveLength(3);
  });
});
