/**
 * A rule's `constraints` under gov serve count per principal: gov serve is one run for every
 * client, so a shared `max_calls` would let one client spend the others' calls for the whole
 * life of the server. Proved by what the server executed, and `gov policy replay` reproduces it.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki } from '../helpers/test-ca.js';
import { initializeResult, startJsonRpcServer } from '../helpers/https-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { startServe, addServeToken, postToServe } from '../helpers/gov-serve.js';
import type { Json } from '../helpers/audit-records.js';

const POLICY = `version: 1
default: deny
rules:
  - id: reports
    tool: report
    decision: allow
    constraints: { max_calls: 2 }
`;

describe('gov serve: max_calls per principal', () => {
  it("one client's calls do not use up another's", async () => {
    const pki = makeTestPki();
    const executed: string[] = [];
    const server = await startJsonRpcServer(pki, (msg) => {
      if (msg['method'] === 'initialize') return initializeResult('reports');
      if (msg['method'] === 'tools/call') {
        executed.push(String(((msg['params'] as Json)['arguments'] as Json)['who']));
        return { content: [{ type: 'text', text: 'done' }] };
      }
      return {};
    });
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(policy, POLICY);
    const [alice, bob] = [await addServeToken(home, 'alice'), await addServeToken(home, 'bob')];
    const gov = await startServe(
      ['--target', `${server.url}/mcp`, '--policy', policy, '--upstream-ca', pki.caPath, '--auth', 'bearer'],
      { ...process.env, GOV_HOME: home },
    );
    const call = async (bearer: string, who: string, id: number) =>
      (await (
        await postToServe(gov.url, bearer, {
          id,
          method: 'tools/call',
          params: { name: 'report', arguments: { who } },
        })
      ).json()) as Json;
    try {
      expect((await call(alice, 'alice', 1))['result']).toBeDefined();
      expect((await call(alice, 'alice', 2))['result']).toBeDefined();
      const third = (await call(alice, 'alice', 3))['error'] as Json;
      expect(third['message']).toMatch(/rule 'reports' allows at most 2 calls per run for each principal/);
      expect((await call(bob, 'bob', 4))['result']).toBeDefined();
      expect((await call(bob, 'bob', 5))['result']).toBeDefined();
      expect((await call(bob, 'bob', 6))['error']).toBeDefined();
      expect(executed).toEqual(['alice', 'alice', 'bob', 'bob']);
    } finally {
      await gov.stop();
      await server.close();
    }
    // Replay counts per principal too: the same policy decides every recorded call the same
    // (counted together, bob's two calls would turn into denials), and max_calls: 1 takes one
    // call from each of them.
    const same = await runGov(['policy', 'replay', '--policy', policy, '--json'], {
      env: { GOV_HOME: home },
    });
    expect(same.code, same.stderr).toBe(0);
    expect(JSON.parse(same.stdout)).toEqual({ transitions: [], changed: [], not_replayable: [] });
    const tight = join(home, 'tight.yaml');
    writeFileSync(tight, POLICY.replace('max_calls: 2', 'max_calls: 1'));
    const r = await runGov(['policy', 'replay', '--policy', tight], { env: { GOV_HOME: home } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^replayed 6 calls under .*tight\.yaml: 2 would change\n {2}allow → deny\t2\n/);
  }, 60_000);
});
