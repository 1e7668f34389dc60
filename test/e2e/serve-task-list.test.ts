/**
 * gov serve keeps each task to the principal that created it (see serve-task-owner.test.ts):
 * `tasks/list` shows a principal only its own tasks, and a `tasks/*` request naming a task gov
 * never saw created (for this principal) is denied and never reaches the server.
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

describe('gov serve, 2026-07-28 tasks: a principal sees and names only its own tasks', () => {
  it('tasks/list is filtered to the caller’s tasks; an unknown task id is never forwarded', async () => {
    const pki = makeTestPki();
    const tasks: string[] = [];
    const task = (taskId: string) => ({ taskId, status: 'working', ttlMs: 60000, ...TIMES });
    const server = await startJsonRpcServer(pki, (msg) => {
      const params = (msg['params'] ?? {}) as Json;
      if (msg['method'] === 'tools/call') {
        const id = `task-${tasks.length + 1}`;
        tasks.push(id);
        return { resultType: 'task', ...task(id) };
      }
      if (msg['method'] === 'tasks/list') return { tasks: tasks.map(task) };
      if (msg['method'] === 'tasks/get' || msg['method'] === 'tasks/cancel')
        return { resultType: 'complete', ...task(String(params['taskId'])) };
      return {};
    });
    const received = server.received;
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      'version: 1\ndefault: deny\nrules:\n  - id: reports\n    tool: report\n    decision: allow\n  - id: tasks\n    method: "tasks/*"\n    decision: allow\n',
    );
    const token = (name: string) => addServeToken(home, name);
    const [alice, bob] = [await token('alice'), await token('bob')];
    const gov = await startServe(
      ['--target', `${server.url}/mcp`, '--policy', policy, '--upstream-ca', pki.caPath, '--auth', 'bearer'],
      { ...process.env, GOV_HOME: home },
    );
    const post = async (bearer: string, id: number, method: string, params: Json, name = '') => {
      const message = { id, method, params: { ...params, _meta: META } };
      return (await (
        await postToServe(gov.url, bearer, message, {
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': method,
          ...(name ? { 'mcp-name': name } : {}),
        })
      ).json()) as Json;
    };
    const report = (bearer: string, id: number) =>
      post(bearer, id, 'tools/call', { name: 'report', arguments: {} }, 'report');
    const listed = (answer: Json) =>
      (((answer['result'] ?? {}) as Json)['tasks'] as Json[] | undefined)?.map((t) => t['taskId']);
    try {
      await report(alice, 1);
      await report(bob, 2);
      await report(alice, 3);
      expect(listed(await post(alice, 4, 'tasks/list', {}))).toEqual(['task-1', 'task-3']);
      expect(listed(await post(bob, 5, 'tasks/list', {}))).toEqual(['task-2']);

      // Ids gov never saw created: denied here, whoever asks and whatever the server knows.
      for (const [n, method] of [
        [6, 'tasks/get'],
        [7, 'tasks/result'],
        [8, 'tasks/cancel'],
      ] as const) {
        const name = method === 'tasks/get' ? 'task-99' : '';
        const answer = await post(bob, n, method, { taskId: 'task-99' }, name);
        expect(JSON.stringify(answer['error'] ?? null), method).toContain('"task-99\\" is not one');
      }
      expect(received.filter((m) => [6, 7, 8].includes(m['id'] as number))).toEqual([]);
      const own = await post(bob, 9, 'tasks/get', { taskId: 'task-2' }, 'task-2');
      expect(((own['result'] ?? {}) as Json)['taskId']).toBe('task-2');
    } finally {
      await gov.stop();
      await server.close();
    }
  }, 60_000);
});
