import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';

// Tools that trust only the CA file their own variable names must still accept gov's
// certificate: gov points every such variable (known or detected by content) at its bundle.
describe('gov run: inherited CA-bundle variables do not make tools reject gov', () => {
  let pki: TestPki;
  let server: TestServer;
  let home: string;
  const seen: string[] = [];
  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    server = await startHttpsServer(pki, (req, res) => {
      seen.push(req.url ?? '');
      if (req.url === '/left-pad') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            name: 'left-pad',
            'dist-tags': { latest: '9.9.9' },
            versions: { '9.9.9': { name: 'left-pad', version: '9.9.9' } },
          }),
        );
        return;
      }
      res.end(`hello ${req.url}`);
    });
  });
  afterAll(async () => {
    await server.close();
  });

  const run = (cmd: string[], env: Record<string, string>) =>
    runGov(['run', '--no-tui', '--upstream-ca', pki.caPath, '--', ...cmd], {
      env: { GOV_HOME: home, ...env },
      timeoutMs: 60_000,
    });

  it('Python ssl trusting only the file an unknown variable names (detected as a CA bundle)', async () => {
    // The inherited file is a CA bundle that does not contain gov's CA.
    const corpCa = join(home, 'corp-ca.pem');
    writeFileSync(corpCa, makeTestPki('corp CA').caPem);
    const code = [
      'import os, ssl, urllib.request',
      'ctx = ssl.create_default_context(cafile=os.environ["ACME_CA_BUNDLE"])',
      `print(urllib.request.urlopen("${server.url}/py", context=ctx, timeout=10).read().decode())`,
    ].join('\n');
    const r = await run(['python3', '-c', code], { ACME_CA_BUNDLE: corpCa });
    expect(r.stdout.trim(), r.stderr).toBe('hello /py');
    expect(r.code).toBe(0);
  });

  it('npm with a configured cafile', async () => {
    const r = await run(
      [
        'npm',
        'view',
        'left-pad',
        'version',
        '--registry',
        `https://localhost:${server.port}/`,
        '--prefer-online',
        '--fetch-retries=0',
      ],
      {
        npm_config_cafile: pki.caPath,
        npm_config_cache: join(home, 'npm-cache'),
        npm_config_update_notifier: 'false',
      },
    );
    expect(r.stdout.trim(), r.stderr).toBe('9.9.9');
    expect(seen).toContain('/left-pad');
    expect(r.code).toBe(0);
  });
});
