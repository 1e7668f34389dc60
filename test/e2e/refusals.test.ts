import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';

// A request refused before policy leaves an audited alert, a stderr line, and a body saying why.
describe('refusals before policy are audited, printed and explained', () => {
  let pki: TestPki;
  let server: TestServer;
  const received: string[] = [];
  beforeAll(async () => {
    pki = makeTestPki();
    server = await startHttpsServer(pki, (req, res) => {
      received.push(req.url ?? '');
      res.end('ok');
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('a Host that disagrees with the CONNECT target, and a bad content encoding', async () => {
    const home = tempHome();
    const mcpHeaders = "-H 'accept: application/json, text/event-stream' -H 'content-type: application/json'";
    const script = [
      `curl -sS --max-time 10 ${mcpHeaders} -H 'Host: evil.example' ${server.url}/host; echo`,
      `curl -sS --max-time 10 ${mcpHeaders} -H 'content-encoding: bogus' --data '{}' ${server.url}/enc; echo`,
    ].join('; ');
    const r = await runGov(['run', '--no-tui', '--upstream-ca', pki.caPath, '--', 'sh', '-c', script], {
      env: { GOV_HOME: home },
      timeoutMs: 60_000,
    });
    const [host, enc] = r.stdout.trim().split('\n');
    expect(JSON.parse(host!)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    expect(JSON.parse(host!).error.message).toContain(
      "Host header 'evil.example' disagrees with the CONNECT target",
    );
    expect(JSON.parse(enc!).error.message).toMatch(/encoding.*refused by gov/i);
    expect(received).toEqual([]);
    expect(r.stderr).toMatch(/^gov: warning: Host header 'evil\.example' disagrees with the CONNECT target/m);
    expect(r.stderr).toMatch(
      /^gov: warning: request refused before policy: unsupported Content-Encoding \(not a registered coding\)/m,
    );
    // The agent's own header is not echoed: the same message serves a server's, which may hold anything.
    expect(r.stderr).not.toContain('bogus');
    const audit = readdirSync(join(home, 'audit'))
      .filter((f) => f.endsWith('.jsonl'))
      .map((f) => readFileSync(join(home, 'audit', f), 'utf8'))
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; reason?: string });
    const alerts = audit.filter((a) => a.kind === 'alert').map((a) => a.reason);
    expect(alerts).toHaveLength(2);
    expect(alerts[0]).toContain('disagrees with the CONNECT target');
    expect(alerts[1]).toContain('request refused before policy');
    expect((await runGov(['audit', 'verify'], { env: { GOV_HOME: home } })).code).toBe(0);
  });
});
