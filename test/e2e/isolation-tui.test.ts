import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { GOV_BIN, ROOT, tempHome } from '../helpers/gov-process.js';
import { isolationSupport } from '../../src/isolation/availability.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'held_client.py');

describe.skipIf(!hasTmux || !isolationSupport().ok)('gov run --isolate in a real terminal (tmux)', () => {
  let pki: TestPki;
  let server: McpTestServer;
  let home: string;
  const sock = `gov-iso-tui-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', sock, ...args], { encoding: 'utf8' });

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
    spawnSync('tmux', ['-L', sock, 'kill-server']);
    await server.close();
  });

  async function waitFor(text: string, ms = 20_000): Promise<string> {
    const end = Date.now() + ms;
    let screen = '';
    while (Date.now() < end) {
      screen = tmux('capture-pane', '-p', '-t', 'iso');
      if (screen.includes(text)) return screen;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`timed out waiting for ${text}; screen:\n${screen}`);
  }

  it('the panel shows the isolated agent’s held call; `a` approves it', async () => {
    const cmd =
      `env CI=true GOV_HOME=${home} ${process.execPath} ${GOV_BIN} run --isolate --policy ${join(home, 'gov.yaml')} ` +
      `--upstream-ca ${pki.caPath} -- python3 ${CLIENT} ${server.url}/mcp plain; echo "GOV-EXIT=$?"; sleep 60`;
    tmux('new-session', '-d', '-s', 'iso', '-x', '140', '-y', '40', cmd);
    // The call list names the tool first; the held call's arguments follow once it is drawn.
    await waitFor('amount');
    await waitFor('a approve once');
    // The key hints appear once keys count.
    tmux('send-keys', '-t', 'iso', 'a');
    const done = await waitFor('GOV-EXIT=');
    expect(done).toContain('refunded 5000');
    expect(done).toContain('GOV-EXIT=0');
    expect(server.executed.map((e) => e.tool)).toEqual(['refund']);
  }, 60_000);
});
