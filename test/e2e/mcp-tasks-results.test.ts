import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { auditRecords, type Json } from '../helpers/audit-records.js';

const SECRET = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
const RAW_POST = join(ROOT, 'test', 'fixtures', 'clients', 'raw_post.py');

const POLICY = `version: 1
servers:
  tasks: "https://127.0.0.1:*"
unknown_servers: deny
default: deny
rules:
  - id: reports
    tool: [report, report26]
    decision: allow
  - id: task-polls
    method: "tasks/*"
    decision: allow
  - id: no-sampling
    method: sampling/createMessage
    decision: deny
    reason: Servers may not use the agent's model
`;

const b64 = (s: string) => Buffer.from(s).toString('base64');
const TIMES = { createdAt: '2026-07-28T10:00:00Z', lastUpdatedAt: '2026-07-28T10:00:01Z' };
const DEFERRED = { content: [{ type: 'text', text: `deploy key: ${SECRET}` }] };

/**
 * A hand-written task server: `report` answers with a 2025-11-25 `CreateTaskResult`
 * (`{ task: { taskId } }`) and its deferred result comes from `tasks/result`; `report26` answers
 * with the 2026 tasks extension's `{ resultType: "task", taskId }`, its first `tasks/get` asks for
 * sampling (`status: "input_required"`) and the next one carries the result. Both results hold a
 * token, as do its resources (text and base64 blob), prompt messages and completion values.
 * It records every method it receives.
 */
async function startTaskServer(pki: TestPki): Promise<TestServer & { received: Json[] }> {
  const received: Json[] = [];
  let polls26 = 0;
  const answer = (msg: Json): Json => {
    const params = (msg['params'] ?? {}) as Json;
    switch (msg['method']) {
      case 'tools/call':
        return params['name'] === 'report'
          ? { task: { taskId: 'task-25', status: 'working', ttl: 60000, ...TIMES } }
          : { resultType: 'task', taskId: 'task-26', status: 'working', ttlMs: 60000, ...TIMES };
      case 'tasks/get':
        if (params['taskId'] === 'task-25') return { taskId: 'task-25', status: 'completed', ...TIMES };
        polls26 += 1;
        return polls26 === 1
          ? {
              resultType: 'complete',
              taskId: 'task-26',
              status: 'input_required',
              ...TIMES,
              inputRequests: {
                summary: {
                  method: 'sampling/createMessage',
                  params: {
                    messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }],
                    maxTokens: 9,
                  },
                },
              },
            }
          : { resultType: 'complete', taskId: 'task-26', status: 'completed', ...TIMES, result: DEFERRED };
      case 'resources/read':
        return {
          contents: [
            { uri: 'file:///app/.env', mimeType: 'text/plain', text: `TOKEN=${SECRET}` },
            { uri: 'file:///app/.env.bak', mimeType: 'text/plain', blob: b64(`TOKEN=${SECRET}\n`) },
          ],
        };
      case 'prompts/get':
        return {
          messages: [
            { role: 'user', content: { type: 'text', text: `use ${SECRET}` } },
            { role: 'user', content: { type: 'resource', resource: { uri: 'file:///k', text: SECRET } } },
          ],
        };
      case 'completion/complete':
        return { completion: { values: [`${SECRET}`, 'main'], total: 2, hasMore: false } };
      case 'tasks/result':
        return {
          ...DEFERRED,
          _meta: { 'io.modelcontextprotocol/related-task': { taskId: params['taskId'] } },
        };
      default:
        return {};
    }
  };
  const server = await startHttpsServer(pki, (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const msg = JSON.parse(body) as Json;
      received.push(msg);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: msg['id'], result: answer(msg) }));
    });
  });
  return Object.assign(server, { received });
}

const CLIENT_INFO = { name: 'raw-task-client', version: '1', description: `built with ${SECRET}` };

/** A JSON-RPC request as a raw_post.py case; 2026 requests carry their `_meta` and headers. */
function request(id: number, method: string, params: Json, era: '2025' | '2026') {
  const p =
    era === '2026'
      ? {
          ...params,
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientCapabilities': {},
            'io.modelcontextprotocol/clientInfo': CLIENT_INFO,
          },
        }
      : params;
  const headers: Record<string, string> =
    era === '2026'
      ? { 'mcp-protocol-version': '2026-07-28', 'mcp-method': method }
      : { 'mcp-protocol-version': '2025-11-25' };
  return { name: `${id}`, body_b64: b64(JSON.stringify({ jsonrpc: '2.0', id, method, params: p })), headers };
}

describe('a hand-written server through gov run: tasks linked in the audit, task input governed, every kind of result scanned', () => {
  let pki: TestPki;
  let home: string;
  let server: TestServer & { received: Json[] };
  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    writeFileSync(join(home, 'gov.yaml'), POLICY);
    server = await startTaskServer(pki);
  });
  afterAll(async () => {
    await server.close();
  });

  it('links tasks/get and tasks/result to the call that created the task; redacts the deferred result', async () => {
    const cases = [
      request(1, 'tools/call', { name: 'report', arguments: {}, task: { ttl: 60000 } }, '2025'),
      request(2, 'tasks/get', { taskId: 'task-25' }, '2025'),
      request(3, 'tasks/result', { taskId: 'task-25' }, '2025'),
      request(4, 'tools/call', { name: 'report26', arguments: {} }, '2026'),
      request(5, 'tasks/get', { taskId: 'task-26' }, '2026'),
      request(6, 'tasks/get', { taskId: 'task-26' }, '2026'),
    ];
    cases[3]!.headers['mcp-name'] = 'report26';
    for (const c of cases.slice(4)) c.headers['mcp-name'] = 'task-26';
    const casesFile = join(home, 'cases.json');
    writeFileSync(casesFile, JSON.stringify(cases));
    const r = await runGov(
      [
        'run',
        '--no-tui',
        '--policy',
        join(home, 'gov.yaml'),
        '--upstream-ca',
        pki.caPath,
        '--',
        'python3',
        RAW_POST,
        `${server.url}/mcp`,
        casesFile,
      ],
      { env: { GOV_HOME: home }, timeoutMs: 60_000 },
    );
    const got = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { name: string; status: number; body: string })
        .map((o) => [o.name, { status: o.status, msg: JSON.parse(o.body) as Json }]),
    );
    expect(Object.keys(got), r.stderr).toHaveLength(6);

    // What the agent got: both deferred results, with the token redacted.
    expect(got['3']!.msg['result'], r.stdout).toMatchObject({
      content: [{ text: expect.stringMatching(/^deploy key: \[REDACTED:/) }],
    });
    expect(got['6']!.msg['result']).toMatchObject({
      status: 'completed',
      result: { content: [{ text: expect.stringMatching(/REDACTED/) }] },
    });
    expect(r.stdout).not.toContain(SECRET);
    // The task's sampling request was denied by policy and never reached the client.
    expect(got['5']!.msg['error'], r.stdout).toMatchObject({ data: { rule: 'no-sampling' } });
    expect(got['5']!.msg['result']).toBeUndefined();
    expect(r.stdout).not.toContain('inputRequests');
    expect(server.received.map((m) => m['method'])).toEqual([
      'tools/call',
      'tasks/get',
      'tasks/result',
      'tools/call',
      'tasks/get',
      'tasks/get',
    ]);

    const records = auditRecords(home);
    expect(JSON.stringify(records)).not.toContain(SECRET);
    const decision = (id: number) =>
      records.find(
        (x) => (x['detail'] as Json | undefined)?.['request_id'] === id && x['status'] === 'forwarded',
      )!;
    const outcome = (id: number) =>
      records.find(
        (x) => (x['detail'] as Json | undefined)?.['request_id'] === id && x['status'] !== 'forwarded',
      )!;
    for (const [created, taskId, polls] of [
      [1, 'task-25', [2, 3]],
      [4, 'task-26', [5, 6]],
    ] as const) {
      const callId = decision(created)['id'];
      expect(outcome(created)['detail']).toMatchObject({ call_id: callId, task_id: taskId });
      for (const poll of polls) {
        expect(decision(poll)['detail']).toMatchObject({ task_id: taskId, task_call_id: callId });
        expect(outcome(poll)['detail']).toMatchObject({ task_id: taskId, task_call_id: callId });
      }
    }
    // 2026 is stateless: each request's clientInfo is in its decision record, redacted.
    expect((decision(4)['detail'] as Json)['client_info']).toMatchObject({
      name: 'raw-task-client',
      description: expect.stringMatching(/^built with \[REDACTED:/),
    });
    expect((decision(1)['detail'] as Json)['client_info']).toBeUndefined();
    const sampling = records.find((x) => x['method'] === 'sampling/createMessage')!;
    expect(sampling).toMatchObject({
      decision: 'deny',
      rule: 'no-sampling',
      detail: { input_key: 'summary' },
    });
  });

  it('scans the whole result: resource text and base64 blobs, prompt messages, completion values', async () => {
    writeFileSync(join(home, 'allow.yaml'), 'version: 1\ndefault: allow\n');
    const cases = [
      request(11, 'resources/read', { uri: 'file:///app/.env' }, '2025'),
      request(12, 'prompts/get', { name: 'deploy' }, '2025'),
      request(
        13,
        'completion/complete',
        { ref: { type: 'ref/prompt', name: 'deploy' }, argument: { name: 'branch', value: '' } },
        '2025',
      ),
    ];
    const casesFile = join(home, 'results.json');
    writeFileSync(casesFile, JSON.stringify(cases));
    const r = await runGov(
      [
        'run',
        '--no-tui',
        '--policy',
        join(home, 'allow.yaml'),
        '--upstream-ca',
        pki.caPath,
        '--',
        'python3',
        RAW_POST,
        `${server.url}/mcp`,
        casesFile,
      ],
      { env: { GOV_HOME: home }, timeoutMs: 60_000 },
    );
    const got = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse((JSON.parse(l) as { body: string }).body) as { result: Json });
    expect(got, r.stderr).toHaveLength(3);
    const [read, prompt, completion] = got.map((g) => g.result) as [Json, Json, Json];
    const contents = read['contents'] as Array<{ text?: string; blob?: string }>;
    expect(contents[0]!.text).toMatch(/^TOKEN=\[REDACTED:/);
    expect(Buffer.from(contents[1]!.blob!, 'base64').toString()).toMatch(
      /^TOKEN=\[REDACTED:github-token\]\n$/,
    );
    expect(JSON.stringify(prompt)).toMatch(/use \[REDACTED:/);
    expect((completion['completion'] as { values: string[] }).values).toEqual([
      expect.stringMatching(/^\[REDACTED:/),
      'main',
    ]);
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stdout).not.toContain(b64(`TOKEN=${SECRET}\n`));
    const records = auditRecords(home);
    expect(JSON.stringify(records)).not.toContain(SECRET);
    const outcome = records.find((x) => x['method'] === 'resources/read' && x['status'] === 'ok');
    expect(outcome).toMatchObject({ redactions: { 'github-token': 2 } });
  });
});
