/**
 * gov's own refusals must not quote what a server wrote: a server that echoes the request's
 * Authorization into its Content-Encoding or its Content-Type charset had gov hand the
 * injected credential to the agent inside the 502 / -32603 that refused the answer (on a
 * non-MCP body, an event stream and an MCP answer alike). Through the real `gov run` with raw
 * TLS clients; proven by grepping what the agent received and everything gov wrote.
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

const SECRET = 'sk-quoted-refusal-credential-4Kd9Wq';
const MCP_ANSWER = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  result: { content: [{ type: 'text', text: 'hi' }] },
});
const CALL = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'echo', arguments: {} },
});

/** Every spelling of the secret a refusal could carry (gov lower-cases a coding token). */
const spellings = [SECRET, SECRET.toLowerCase()];

describe('gov run: a refusal never quotes the credential a server echoed into its headers', () => {
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
      const answers: Record<string, [Record<string, string>, string]> = {
        '/coding': [{ 'content-type': 'text/plain', 'content-encoding': auth }, 'x'],
        '/coding-sse': [{ 'content-type': 'text/event-stream', 'content-encoding': auth }, 'data: x\n\n'],
        '/coding-mcp': [
          { 'content-type': 'application/json', 'content-encoding': `gzip, ${auth}` },
          MCP_ANSWER,
        ],
        '/charset-mcp': [{ 'content-type': `application/json; charset="${auth}"` }, MCP_ANSWER],
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
      for (const s of spellings) expect(readFileSync(f, 'latin1').includes(s), f).toBe(false);
    for (const s of spellings) expect(agentSaw.join('\n').includes(s)).toBe(false);
  });

  it('refuses a body or an event stream in an unknown coding without naming the coding', async () => {
    const body = await exchange(`GET /coding HTTP/1.1\n${host()}`);
    expect(body).toMatch(/^HTTP\/1\.1 502/);
    expect(body).toContain('unsupported Content-Encoding (not a registered coding)');
    const sse = await exchange(`GET /coding-sse HTTP/1.1\n${host()}Accept: text/event-stream\n`);
    expect(sse).toMatch(/^HTTP\/1\.1 502/);
    expect(sse).toContain('the upstream event stream could not be scanned');
    for (const s of spellings) expect(body + sse).not.toContain(s);
  });

  it('refuses an MCP answer in an unknown coding or charset without naming either', async () => {
    const post = (path: string) =>
      exchange(
        `POST ${path} HTTP/1.1\n${host()}Content-Type: application/json\nAccept: application/json, text/event-stream\nContent-Length: ${CALL.length}\n`,
        CALL,
      );
    const coding = await post('/coding-mcp');
    expect(coding).toContain('-32603');
    expect(coding).toContain('could not be decoded');
    const charset = await post('/charset-mcp');
    expect(charset).toContain('-32603');
    expect(charset).toContain('is in a charset gov cannot decode');
    for (const s of spellings) expect(coding + charset).not.toContain(s);
  });
});
