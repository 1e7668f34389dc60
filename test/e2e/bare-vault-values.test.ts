/**
 * Redaction edits JSON strings; a numeric credential a server echoes as a JSON number
 * (`"key": 8675309123456`, an error `code`) was out of its reach and reached the agent in
 * JSON answers and SSE events alike. Such a message is now withheld (an error under its id,
 * and an alert). Through the real `gov run` with raw TLS clients; proven by grepping what the
 * agent received and everything gov wrote.
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

const ACCOUNT_KEY = '8675309123456';
const CALL = JSON.stringify({
  jsonrpc: '2.0',
  id: 5,
  method: 'tools/call',
  params: { name: 'echo', arguments: {} },
});

describe('gov run: a vault value outside any JSON string never reaches the agent', () => {
  let pki: TestPki;
  let home: string;
  let server: TestServer;
  let run: LiveRun;
  let govCa: string;
  const agentSaw: string[] = [];

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const key = String(req.headers['x-account-key'] ?? '0');
      const result = `{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"ok"}],"_meta":{"account":${key}}}}`;
      const answers: Record<string, [string, string]> = {
        '/json': ['application/json', result],
        '/sse': ['text/event-stream', `data: ${result}\n\n`],
        '/error': ['application/json', `{"jsonrpc":"2.0","id":5,"error":{"code":${key},"message":"no"}}`],
        '/plain': ['application/json', result.replace(`:${key}`, ':42')],
      };
      const a = answers[req.url ?? ''];
      if (!a) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': a[0] });
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

  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    await sealWithFastKdf(home, 'correct horse battery');
    server = await startHttpsServer(pki, onRequest);
    const env = { GOV_HOME: home, GOV_VAULT_PASSPHRASE: 'correct horse battery' };
    const set = await runGov(['vault', 'set', 'account-key'], { env, input: ACCOUNT_KEY + '\n' });
    expect(set.code, set.stderr).toBe(0);
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: allow
credentials:
  - secret: account-key
    hosts: ["127.0.0.1:${server.port}"]
    header: X-Account-Key
    format: "{secret}"
    env: ACCOUNT_KEY
`,
    );
    run = await startLiveRun(['--policy', policy, '--upstream-ca', pki.caPath], env);
    govCa = readFileSync(run.env['NODE_EXTRA_CA_CERTS']!, 'utf8');
  }, 60_000);

  afterAll(async () => {
    await run?.stop();
    await server?.close();
    for (const f of filesUnder(home).filter((f) => statSync(f).isFile() && !f.endsWith('vault.json')))
      expect(readFileSync(f, 'latin1').includes(ACCOUNT_KEY), f).toBe(false);
    expect(agentSaw.join('\n').includes(ACCOUNT_KEY)).toBe(false);
  });

  it('withholds a JSON answer, an SSE event and an error that echo it as a number', async () => {
    for (const path of ['/json', '/sse', '/error']) {
      const r = await post(path);
      expect(r, path).toContain('"id":5,"error":{"code":-32603');
      expect(r, path).toContain('it holds a secret outside any JSON string');
      expect(r.includes(ACCOUNT_KEY), path).toBe(false);
    }
    let alerts = 0;
    for (let i = 0; i < 50 && alerts < 3; i++) {
      alerts = auditRecords(home).filter(
        (x) => x['kind'] === 'alert' && String(x['reason']).includes('outside any JSON string'),
      ).length;
      if (alerts < 3) await new Promise((res) => setTimeout(res, 100));
    }
    expect(alerts).toBe(3);
  });

  it('passes an answer without it as it came', async () => {
    const r = await post('/plain');
    expect(r).toContain('"_meta":{"account":42}');
  });
});
