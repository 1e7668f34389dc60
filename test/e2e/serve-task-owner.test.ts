/**
 * gov serve is the edge: it strips the client's credential, so the upstream sees every
 * principal as one. A task one principal created must then not be readable, pollable or
 * cancellable by another principal that names its id (stateless 2026-07-28 traffic has no
 * session to tell them apart).
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki } from '../helpers/test-ca.js';
import { startJsonRpcServer } from '../helpers/https-server.js';
import { tempHome } from '../helpers/gov-process.js';
import { startServe, addServeToken, postToServe } from '../helpers/gov-serve.js';
import type { Json } from '../helpers/audit-records.js';

const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
};
const TIMES = { createdAt: '2026-07-28T10:00:00Z', lastUpdatedAt: '2026-07-28T10:00:01Z' };

describe('gov serve, 2026-07-28 tasks: a task belongs to the principal that created it', () => {
  it('principal bob cannot fetch the result of alice’s task', async () => {
    const pki = makeTestPki();
    const tasks = new Map<string, string>();
    const server = await startJsonRpcServer(pki, (msg) => {
      const params = (msg['params'] ?? {}) as Json;
      if (msg['method'] === 'tools/call') {
        const id = `task-${tasks.size + 1}`;
        tasks.set(id, JSON.stringify(params['arguments']));
        return { resultType: 'task', taskId: id, status: 'working', ttlMs: 60000, ...TIMES };
      }
      if (msg['method'] === 'tasks/get' || msg['method'] === 'tasks/result') {
        const id = String(params['taskId']);
        return {
          resultType: 'complete',
          taskId: id,
          status: 'completed',
          ...TIMES,
          result: { content: [{ type: 'text', text: `report of ${tasks.get(id)}` }] },
        };
      }
      return {};
    });
    const received = server.received;
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      'version: 1\ndefault: deny\nrules:\n  - id: reports\n    tool: report\n    decision: allow\n  - id: polls\n    method: "tasks/*"\n    decision: allow\n',
    );
    const token = (name: string) => addServeToken(home, name);
    const [alice, bob] = [await token('alice'), await token('bob')];
    const gov = await startServe(
      ['--target', `${server.url}/mcp`, '--policy', policy, '--upstream-ca', pki.caPath, '--auth', 'bearer'],
      { ...process.env, GOV_HOME: home },
    );
    const post = async (bearer: string, id: number, method: string, params: Json, name: string) => {
      const message = { id, method, params: { ...params, _meta: META } };
      const r = await postToServe(gov.url, bearer, message, {
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': method,
        ...(name ? { 'mcp-name': name } : {}),
      });
      return { status: r.status, text: await r.text() };
    };
    try {
      const created = await post(
        alice,
        1,
        'tools/call',
        { name: 'report', arguments: { of: 'alice-payroll' } },
        'report',
      );
      expect(created.text).toContain('task-1');
      const own = await post(alice, 2, 'tasks/result', { taskId: 'task-1' }, '');
      expect(own.text, own.text).toContain('alice-payroll');

      const stolen = await post(bob, 3, 'tasks/result', { taskId: 'task-1' }, '');
      const polled = await post(bob, 4, 'tasks/get', { taskId: 'task-1' }, 'task-1');
      expect(stolen.text, 'bob read alice’s task result').not.toContain('alice-payroll');
      expect(polled.text, 'bob polled alice’s task').not.toContain('alice-payroll');
      expect(received.filter((m) => (m['id'] as number) >= 3)).toEqual([]);
    } finally {
      await gov.stop();
      await server.close();
    }
  }, 60_000);
});
