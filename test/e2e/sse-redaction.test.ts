import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';

const TOKEN = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

describe('output safety on SSE: a secret split across chunks is still redacted', () => {
  let pki: TestPki;
  let server: TestServer;
  let home: string;

  beforeAll(async () => {
    pki = makeTestPki();
    server = await startHttpsServer(pki, (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const event = `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: `key ${TOKEN} end` }] } })}\n\n`;
        const cut = event.indexOf(TOKEN) + 10;
        res.write(event.slice(0, cut));
        setTimeout(() => res.end(event.slice(cut)), 300);
      });
    });
    home = tempHome();
    writeFileSync(join(home, 'gov.yaml'), 'version: 1\ndefault: allow\n');
  });
  afterAll(async () => {
    await server.close();
  });

  it('redacts the token and counts it in the audit', async () => {
    const code = `
import json, urllib.request
msg = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "read", "arguments": {}}}
req = urllib.request.Request("${server.url}/mcp", data=json.dumps(msg).encode(), headers={"content-type": "application/json", "accept": "application/json, text/event-stream"})
print(urllib.request.urlopen(req, timeout=10).read().decode())`;
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
        '-c',
        code,
      ],
      {
        env: { GOV_HOME: home },
      },
    );
    expect(r.stdout, r.stderr).toContain('[REDACTED:github-token]');
    expect(r.stdout).not.toContain('ghp_');
    const audit = await runGov(['audit', 'tail', '--json', '-n', '50'], { env: { GOV_HOME: home } });
    const outcome = audit.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; status?: string; redactions?: Record<string, number> })
      .find((x) => x.kind === 'call' && x.status === 'ok');
    expect(outcome?.redactions).toEqual({ 'github-token': 1 });
    expect(audit.stdout).not.toContain('ghp_');
  });
});
