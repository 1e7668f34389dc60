import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('upstream failures show on gov stderr, once per host', () => {
  let pki: TestPki;
  let server: TestServer;
  beforeAll(async () => {
    pki = makeTestPki();
    server = await startHttpsServer(pki, (_req, res) => res.end('ok'));
  });
  afterAll(async () => {
    await server.close();
  });

  it('an untrusted upstream certificate and a refused connection, each reported once', async () => {
    const refused = await closedPort();
    const curl = (url: string) => `curl -sS --max-time 10 -o /dev/null ${url} 2>/dev/null`;
    const script = [
      curl(`${server.url}/a`),
      curl(`${server.url}/b`),
      curl(`https://127.0.0.1:${refused}/c`),
      curl(`https://127.0.0.1:${refused}/d`),
      'true',
    ].join('; ');
    // No --upstream-ca: gov cannot verify the test server.
    const r = await runGov(['run', '--no-tui', '--quiet', '--', 'sh', '-c', script], {
      env: { GOV_HOME: tempHome() },
      timeoutMs: 60_000,
    });
    const lines = r.stderr.trim().split('\n');
    const tls = lines.filter((l) =>
      l.includes(`upstream TLS verification failed for 127.0.0.1:${server.port}`),
    );
    expect(tls, r.stderr).toHaveLength(1);
    expect(tls[0]).toMatch(/^gov: warning: .* — trust its CA with --upstream-ca FILE$/);
    expect(
      lines.filter((l) => l === `gov: warning: upstream 127.0.0.1:${refused} refused the connection`),
    ).toHaveLength(1);
    expect(r.code).toBe(0);
  });
});
