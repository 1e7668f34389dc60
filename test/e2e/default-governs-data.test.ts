import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { ROOT, runGov, tempHome } from '../helpers/gov-process.js';

const RAW_POST = join(ROOT, 'test', 'fixtures', 'clients', 'raw_post.py');
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

describe('default: deny governs data access, not only tools/call', () => {
  let pki: TestPki;
  let home: string;
  let server: McpTestServer;
  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    server = await startMcpServer(pki, 'stateless');
  });
  afterAll(async () => {
    await server.close();
  });

  const readShadow = {
    jsonrpc: '2.0',
    id: 1,
    method: 'resources/read',
    params: { uri: 'file:///etc/shadow' },
  };
  const listResources = { jsonrpc: '2.0', id: 2, method: 'resources/list', params: {} };

  async function post(policy: string) {
    const policyPath = join(home, `gov-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(policyPath, policy);
    const cases = join(home, `cases-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(
      cases,
      JSON.stringify([
        { name: 'read', body_b64: b64(readShadow) },
        { name: 'list', body_b64: b64(listResources) },
      ]),
    );
    const r = await runGov(
      [
        'run',
        '--no-tui',
        '--policy',
        policyPath,
        '--upstream-ca',
        pki.caPath,
        '--',
        'python3',
        RAW_POST,
        server.mcpUrl,
        cases,
      ],
      { env: { GOV_HOME: home }, timeoutMs: 60_000 },
    );
    const out = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { name: string; status: number; body: string })
        .map((c) => [c.name, c]),
    );
    return { r, out };
  }

  it('resources/read of file:///etc/shadow is denied by default: deny; listing stays allowed', async () => {
    const before = server.executed.length;
    const { r, out } = await post('version: 1\ndefault: deny\n');
    expect(out['read']!.body, r.stderr).toContain('the policy default is deny');
    expect(out['read']!.body).not.toContain('root:x');
    expect(out['list']!.body).toContain('file:///etc/shadow');
    // The server never read the resource.
    expect(server.executed.slice(before)).toEqual([]);
    expect(r.stderr).toContain('gov: deny resources/read file:///etc/shadow (rule default)');
  });

  it('a rule can still allow the read', async () => {
    const before = server.executed.length;
    const { out } = await post(
      'version: 1\ndefault: deny\nrules:\n  - id: shadow-ok\n    method: resources/read\n    uri: "file:///etc/*"\n    decision: allow\n',
    );
    expect(out['read']!.body).toContain('root:x');
    expect(server.executed.slice(before).map((e) => e.tool)).toEqual(['resources/read']);
  });
});
