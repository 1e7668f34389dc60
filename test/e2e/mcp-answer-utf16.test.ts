/**
 * The answer to an MCP call is scanned as UTF-8; one in UTF-16 that is not JSON (a text/plain
 * or HTML error page echoing the Authorization header, declared `charset=utf-16le/be` or
 * detected from its NUL bytes, as Python's and aiohttp's decoders do) holds the credential as
 * bytes that scan never finds, and reached the agent whole. It is refused now, like a UTF-16
 * answer that reads as JSON. Through the real `gov run` with raw TLS clients; proven by
 * grepping what the agent received (in UTF-16 of either byte order) and everything gov wrote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { auditRecords } from '../helpers/audit-records.js';
import { readUntilClose, startLiveRun, tlsThroughProxy, type LiveRun } from '../helpers/raw-proxy-client.js';
import { filesUnder } from '../helpers/home-files.js';

const SECRET = 'sk-utf16-mcp-answer-credential-5Nw8Jr';
const CALL = JSON.stringify({
  jsonrpc: '2.0',
  id: 3,
  method: 'tools/call',
  params: { name: 'echo', arguments: {} },
});
const le = (s: string) => Buffer.from(s, 'utf16le');
const be = (s: string) => Buffer.from(s, 'utf16le').swap16();
/** The secret in every spelling a client could decode from what it received. */
const spellings = [SECRET, le(SECRET).toString('latin1'), be(SECRET).toString('latin1')];

describe('gov run: an MCP answer in UTF-16 never hands the agent the credential', () => {
  let pki: TestPki;
  let home: string;
  let server: TestServer;
  let run: LiveRun;
  let govCa: string;
  const agentSaw: string[] = [];

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const auth = String(req.headers.authorization ?? 'none');
      const answers: Record<string, [string, Buffer]> = {
        '/plain-le': ['text/plain; charset=utf-16le', le(`token=${auth}`)],
        '/html-be': ['text/html; charset=utf-16be', be(`<p>${auth} is revoked</p>`)],
        '/unlabelled': ['text/plain', le(`bad token: ${auth}`)],
        '/string': ['application/json', le(`"${auth}"`)],
        '/utf8': ['text/plain; charset=utf-8', Buffer.from(`token=${auth}`)],
      };
      const a = answers[req.url ?? ''];
      if (!a) return res.writeHead(404).end();
      res.writeHead(401, { 'content-type': a[0] });
      res.end(a[1]);
    });
  };

  const post = async (path: string): Promise<string> => {
    const t = await tlsThroughProxy(run.proxy, '127.0.0.1', server.port, govCa);
    t.write(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `Accept: application/json, text/event-stream\r\nContent-Length: ${CALL.length}\r\n\r\n${CALL}`,
    );
    const r = await readUntilClose(t);
    agentSaw.push(r);
    return r;
  };
  const leaked = (r: string) => spellings.filter((s) => r.includes(s)).length;

  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    await sealWithFastKdf(home, 'correct horse battery');
    server = await startHttpsServer(pki, onRequest);
    const env = { GOV_HOME: home, GOV_VAULT_PASSPHRASE: 'correct horse battery' };
    const set = await runGov(['vault', 'set', 'api-token'], { env, input: SECRET + '\n' });
    expect(set.code, set.stderr).toBe(0);
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: allow
credentials:
  - secret: api-token
    hosts: ["127.0.0.1:${server.port}"]
    env: API_TOKEN
`,
    );
    run = await startLiveRun(['--policy', policy, '--upstream-ca', pki.caPath], env);
    govCa = readFileSync(run.env['NODE_EXTRA_CA_CERTS']!, 'utf8');
  }, 60_000);

  afterAll(async () => {
    await run?.stop();
    await server?.close();
    for (const f of filesUnder(home).filter((f) => statSync(f).isFile() && !f.endsWith('vault.json')))
      expect(leaked(readFileSync(f, 'latin1')), f).toBe(0);
    expect(leaked(agentSaw.join('\n'))).toBe(0);
  });

  it('refuses a UTF-16 answer that is not JSON, declared or detected, and records why', async () => {
    for (const path of ['/plain-le', '/html-be', '/unlabelled', '/string']) {
      const r = await post(path);
      expect(r, path).toMatch(/^HTTP\/1\.1 502/);
      expect(r, path).toContain('MCP answers are UTF-8');
      expect(leaked(r), path).toBe(0);
    }
    let refused = 0;
    for (let i = 0; i < 50 && refused < 4; i++) {
      refused = auditRecords(home).filter((x) => x['status'] === 'response-not-utf8').length;
      if (refused < 4) await new Promise((res) => setTimeout(res, 100));
    }
    expect(refused).toBe(4);
  });

  it('still redacts a UTF-8 text answer as before', async () => {
    const r = await post('/utf8');
    expect(r).toContain('token=Bearer [REDACTED:vault]');
  });
});
