/**
 * `tools_list: hide_denied` in gov serve, per principal: a rule whose `when` reads only who
 * calls (`principal == 'token:alice'`) is known before any call, so a tool allowed to one
 * principal alone is hidden from the others' tools/list, and a tool denied to one principal
 * is hidden from that one only. Conditions on arguments still keep a tool listed.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki } from '../helpers/test-ca.js';
import { initializeResult, startJsonRpcServer } from '../helpers/https-server.js';
import { tempHome } from '../helpers/gov-process.js';
import { startServe, addServeToken, postToServe } from '../helpers/gov-serve.js';
import type { Json } from '../helpers/audit-records.js';

const TOOLS = ['refund', 'report', 'audit_export'].map((name) => ({
  name,
  description: `The ${name} tool.`,
  inputSchema: { type: 'object' },
}));

const POLICY = `version: 1
default: allow
tools_list: hide_denied
rules:
  - id: admin-refund
    tool: refund
    when: principal == "token:alice"
    decision: allow
  - id: refund
    tool: refund
    decision: deny
  - id: no-export-for-bob
    tool: audit_export
    when: principal == "token:bob"
    decision: deny
  - id: big-report
    tool: report
    when: args.size > 10
    decision: deny
`;

describe('gov serve: tools/list shows each principal the tools it may call', () => {
  it('hides a tool from the principals a `principal ==` rule keeps from it, and only from them', async () => {
    const pki = makeTestPki();
    const executed: string[] = [];
    const server = await startJsonRpcServer(pki, (msg) => {
      if (msg['method'] === 'initialize') return initializeResult('pay');
      if (msg['method'] === 'tools/list') return { tools: TOOLS };
      if (msg['method'] === 'tools/call') {
        executed.push(String((msg['params'] as Json)['name']));
        return { content: [{ type: 'text', text: 'done' }] };
      }
      return {};
    });
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(policy, POLICY);
    const token = (name: string) => addServeToken(home, name);
    const [alice, bob, carol] = [await token('alice'), await token('bob'), await token('carol')];
    const gov = await startServe(
      ['--target', `${server.url}/mcp`, '--policy', policy, '--upstream-ca', pki.caPath, '--auth', 'bearer'],
      { ...process.env, GOV_HOME: home },
    );
    const post = async (bearer: string, id: number, method: string, params: Json) =>
      (await (await postToServe(gov.url, bearer, { id, method, params })).json()) as Json;
    const listed = async (bearer: string, id: number) =>
      ((((await post(bearer, id, 'tools/list', {}))['result'] ?? {}) as Json)['tools'] as Json[]).map(
        (t) => t['name'],
      );
    const call = (bearer: string, id: number, name: string) =>
      post(bearer, id, 'tools/call', { name, arguments: { size: 1 } });
    try {
      expect(await listed(alice, 1)).toEqual(['refund', 'report', 'audit_export']);
      expect(await listed(bob, 2)).toEqual(['report']);
      expect(await listed(carol, 3)).toEqual(['report', 'audit_export']);

      // What each list promises is what the policy does with the call.
      expect((await call(bob, 4, 'refund'))['error']).toBeDefined();
      expect((await call(bob, 5, 'audit_export'))['error']).toBeDefined();
      expect((await call(carol, 6, 'refund'))['error']).toBeDefined();
      expect((await call(alice, 7, 'refund'))['result']).toBeDefined();
      expect((await call(carol, 8, 'audit_export'))['result']).toBeDefined();
      expect(executed).toEqual(['refund', 'audit_export']);
    } finally {
      await gov.stop();
      await server.close();
    }
  }, 60_000);
});
