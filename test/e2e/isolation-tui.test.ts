import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { GOV_BIN, ROOT, tempHome } from '../helpers/gov-process.js';
import { hasTmux, tmuxServer } from '../helpers/tmux.js';
import { isolationSupport } from '../../src/isolation/availability.js';

const CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'held_client.py');

describe.skipIf(!hasTmux || !isolationSupport().ok)('gov run --isolate in a real terminal (tmux)', () => {
  let pki: TestPki;
  let server: McpTestServer;
  let home: string;
  const { tmux, waitFor, kill } = tmuxServer(`gov-iso-tui-${process.pid}`);

  beforeAll(async () => {
    pki = makeTestPki();
    server = await startMcpServer(pki, 'stateless');
    home = tempHome();
    writeFileSync(
      join(home, 'gov.yaml'),
      'version: 1\ndefault: deny\nrules:\n  - {id: refunds, tool: refund, decision: approve}\n',
    );
  });
  afterAll(async () => {
    kill();
    await server.close();
  });

  it('the panel shows the isolated agent’s held call; `a` approves it', async () => {
    const cmd =
      `env CI=true GOV_HOME=${home} ${process.execPath} ${GOV_BIN} run --isolate --policy ${join(home, 'gov.yaml')} ` +
      `--upstream-ca ${pki.caPath} -- python3 ${CLIENT} ${server.url}/mcp plain; echo "GOV-EXIT=$?"; sleep 60`;
    tmux('new-session', '-d', '-s', 'iso', '-x', '140', '-y', '40', cmd);
    // The call list names the tool first; the held call's arguments follow once it is drawn.
    await waitFor('iso', 'amount');
    await waitFor('iso', 'a approve once');
    // The key hints appear once keys count.
    tmux('send-keys', '-t', 'iso', 'a');
    const done = await waitFor('iso', 'GOV-EXIT=');
    expect(done).toContain('refunded 5000');
    expect(done).toContain('GOV-EXIT=0');
    expect(server.executed.map((e) => e.tool)).toEqual(['refund']);
  }, 60_000);
});
