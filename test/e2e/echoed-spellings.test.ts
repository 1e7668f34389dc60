/**
 * A server that echoes the credential gov injected writes it its own way: an HTML error page
 * escapes `&`, `<`, `>` and quotes; Go and Rails JSON write `<>&` as `\u003c`…, .NET writes
 * `+` and `'` as `\u002B`…, Python and PHP escape non-ASCII; some upper-case what they echo;
 * a redirect carries it percent-encoded as Python's quote (keeping `/`) or .NET (lower-case
 * hex) writes it.
 * Each of those reached the agent unredacted (non-MCP bodies and headers, and MCP answers).
 * Through the real `gov run` with raw TLS clients; proven by grepping what the agent received
 * and everything gov wrote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { readUntilClose, startLiveRun, tlsThroughProxy, type LiveRun } from '../helpers/raw-proxy-client.js';
import { filesUnder } from '../helpers/home-files.js';

const TOKEN = 'sk-echoed-spelling-credential-8Rt3Xv';
const PASSWORD = "Tr0ub4dor&3<horse>+'battery'";
/** Base64-like, as AWS secret keys are: `/`, `+` and `=` are what URL encoders disagree on. */
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLE=';
const CALL = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'echo', arguments: {} },
});

const html = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&#39;');
const goJson = (s: string) =>
  JSON.stringify(s).replace(/&/g, '\\u0026').replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
const dotnetJson = (s: string) =>
  JSON.stringify(s).replace(
    /[&<>+']/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase(),
  );
/** Python's urllib.parse.quote: `/` kept. */
const pyQuote = (s: string) => encodeURIComponent(s).replace(/%2F/g, '/');
/** .NET's HttpUtility.UrlEncode: lower-case hex. */
const dotnetUrl = (s: string) => encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
const textResult = (text: string) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text }] } });

/** Everything an agent could read the secrets from. */
const spellings = [
  TOKEN,
  TOKEN.toUpperCase(),
  TOKEN.toLowerCase(),
  PASSWORD,
  html(PASSWORD),
  goJson(PASSWORD).slice(1, -1),
  dotnetJson(PASSWORD).slice(1, -1),
  AWS_SECRET,
  pyQuote(AWS_SECRET),
  dotnetUrl(AWS_SECRET),
];

describe('gov run: an echoed credential is redacted however the server spells it', () => {
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
      const pw = String(req.headers['x-password'] ?? 'none');
      const aws = String(req.headers['x-aws-secret'] ?? 'none');
      const answers: Record<string, [Record<string, string>, string]> = {
        '/html': [{ 'content-type': 'text/html' }, `<p>bad password ${html(pw)}</p>`],
        '/go': [{ 'content-type': 'application/json' }, `{"headers":{"X-Password":${goJson(pw)}}}`],
        '/dotnet': [{ 'content-type': 'application/json' }, `{"password":${dotnetJson(pw)}}`],
        '/redirect': [
          { 'content-type': 'text/plain', location: `/callback/${pyQuote(aws)}?s=${dotnetUrl(aws)}` },
          `see /callback/${pyQuote(aws)}`,
        ],
        '/upper': [{ 'content-type': 'text/plain', 'x-seen': auth.toUpperCase() }, auth.toUpperCase()],
        '/mcp-html': [{ 'content-type': 'application/json' }, textResult(html(pw))],
        '/mcp-upper': [{ 'content-type': 'application/json' }, textResult(auth.toUpperCase())],
      };
      const a = answers[req.url ?? ''];
      if (!a) return res.writeHead(404).end();
      res.writeHead(200, a[0]);
      res.end(a[1]);
    });
  };

  const exchange = async (head: string, body = ''): Promise<string> => {
    const t = await tlsThroughProxy(run.proxy, '127.0.0.1', server.port, govCa);
    t.write(head.replace(/\n/g, '\r\n') + '\r\n' + body);
    const r = await readUntilClose(t);
    agentSaw.push(r);
    return r;
  };
  const host = () => `Host: 127.0.0.1:${server.port}\nConnection: close\n`;
  const leaked = (r: string) => spellings.filter((s) => r.includes(s)).length;

  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    await sealWithFastKdf(home, 'correct horse battery');
    server = await startHttpsServer(pki, onRequest);
    const env = { GOV_HOME: home, GOV_VAULT_PASSPHRASE: 'correct horse battery' };
    for (const [name, value] of [
      ['api-token', TOKEN],
      ['db-password', PASSWORD],
      ['aws-secret', AWS_SECRET],
    ]) {
      const set = await runGov(['vault', 'set', name!], { env, input: value + '\n' });
      expect(set.code, set.stderr).toBe(0);
    }
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: allow
credentials:
  - secret: api-token
    hosts: ["127.0.0.1:${server.port}"]
    env: API_TOKEN
  - secret: db-password
    hosts: ["127.0.0.1:${server.port}"]
    header: X-Password
    format: "{secret}"
    env: DB_PASSWORD
  - secret: aws-secret
    hosts: ["127.0.0.1:${server.port}"]
    header: X-Aws-Secret
    format: "{secret}"
    env: AWS_SECRET
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

  it('redacts HTML-escaped, \\u-escaped, percent-encoded and upper-cased echoes in non-MCP answers', async () => {
    for (const path of ['/html', '/go', '/dotnet', '/redirect', '/upper']) {
      const r = await exchange(`GET ${path} HTTP/1.1\n${host()}`);
      expect(r, path).toMatch(/^HTTP\/1\.1 200/);
      expect(r, path).toContain('[REDACTED:vault]');
      expect(leaked(r), path).toBe(0);
    }
  });

  it('redacts them in an MCP answer too', async () => {
    for (const path of ['/mcp-html', '/mcp-upper']) {
      const r = await exchange(
        `POST ${path} HTTP/1.1\n${host()}Content-Type: application/json\nAccept: application/json, text/event-stream\nContent-Length: ${CALL.length}\n`,
        CALL,
      );
      expect(r, path).toContain('[REDACTED:vault]');
      expect(leaked(r), path).toBe(0);
    }
  });
});
