/**
 * A bound server echoes the credential gov injected where the relay does not look: in a
 * response header's NAME (`x-seen-<token>: 1`, as header-dump / debug middleware and some
 * CORS reflectors do). What the agent receives must not hold the secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { readUntilClose, startLiveRun, tlsThroughProxy, type LiveRun } from '../helpers/raw-proxy-client.js';

// Mixed case: Node lower-cases header names, so it comes back lower-cased, which is still the
// secret to anyone who retries the case.
const SECRET = 'Key-3f9c2A7e41b8d05c6e7f9a1b2c3d4e5f';

describe('gov run: an echoed credential in a response header name', () => {
  let pki: TestPki;
  let home: string;
  let server: TestServer;
  let run: LiveRun;
  let govCa: string;
  const received: string[] = [];

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const auth = String(req.headers.authorization ?? 'none');
      received.push(auth);
      const token = auth.replace(/^Bearer /, '');
      if (req.url === '/echo-name') {
        res.writeHead(200, { 'content-type': 'text/plain', [`x-seen-${token}`]: '1' });
        return res.end('ok\n');
      }
      if (req.url === '/echo-mcp-name') {
        res.writeHead(200, { 'content-type': 'application/json', [`x-seen-${token}`]: '1' });
        return res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [] } }));
      }
      res.writeHead(404);
      res.end();
    });
  };

  const exchange = async (head: string, body = ''): Promise<string> => {
    const t = await tlsThroughProxy(run.proxy, '127.0.0.1', server.port, govCa);
    t.write(head.replace(/\n/g, '\r\n') + '\r\n' + body);
    return readUntilClose(t);
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
      `version: 1\ndefault: allow\ncredentials:\n  - secret: api-token\n    hosts: ["127.0.0.1:${server.port}"]\n    env: API_TOKEN\n`,
    );
    run = await startLiveRun(['--policy', policy, '--upstream-ca', pki.caPath], env);
    govCa = readFileSync(run.env['NODE_EXTRA_CA_CERTS']!, 'utf8');
  }, 60_000);

  afterAll(async () => {
    await run?.stop();
    await server?.close();
  });

  it('a non-MCP response', async () => {
    const r = await exchange(`GET /echo-name HTTP/1.1\n${host()}`);
    expect(received).toContain(`Bearer ${SECRET}`);
    expect(r).toMatch(/^HTTP\/1\.1 200/);
    expect(r.toLowerCase()).not.toContain(SECRET.toLowerCase());
  });

  it('the answer to an MCP call', async () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'x', arguments: {} },
    });
    const r = await exchange(
      `POST /echo-mcp-name HTTP/1.1\n${host()}Content-Type: application/json\nAccept: application/json, text/event-stream\nContent-Length: ${body.length}\n`,
      body,
    );
    expect(r).toMatch(/^HTTP\/1\.1 200/);
    expect(r.toLowerCase()).not.toContain(SECRET.toLowerCase());
  });
});
