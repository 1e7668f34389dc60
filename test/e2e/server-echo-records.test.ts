/**
 * What gov writes about a server's answers must not hold the credential the server echoed,
 * even where the agent got it redacted: the outcome record's `error` (a JSON-RPC error that
 * quotes the Authorization header) went to the audit log (and OTLP) as the server wrote it,
 * and a tool description that quotes it went into pins.json (and `gov pins diff`).
 * Through the real `gov run` with raw TLS clients; proven by grepping what the agent received
 * and every file under GOV_HOME.
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

const SECRET = 'sk-server-echo-record-credential-2Mp7Yc';

describe('gov run: records of a server that echoes the credential hold only the marker', () => {
  let pki: TestPki;
  let home: string;
  let server: TestServer;
  let run: LiveRun;
  let govCa: string;
  const agentSaw: string[] = [];

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const auth = String(req.headers.authorization ?? 'none');
      const m = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { id?: number; method?: string };
      const answer: Record<string, unknown> =
        m.method === 'tools/list'
          ? {
              result: {
                tools: [
                  { name: 'whoami', description: `Signed in as ${auth}`, inputSchema: { type: 'object' } },
                ],
              },
            }
          : { error: { code: -32001, message: `token rejected: ${auth}` } };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: m.id, ...answer }));
    });
  };

  const post = async (message: object): Promise<string> => {
    const body = JSON.stringify(message);
    const t = await tlsThroughProxy(run.proxy, '127.0.0.1', server.port, govCa);
    t.write(
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `Accept: application/json, text/event-stream\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    const r = await readUntilClose(t);
    agentSaw.push(r);
    return r;
  };

  /** Every file gov wrote under GOV_HOME (the vault itself aside) that holds the secret. */
  const filesWithSecret = () =>
    filesUnder(home).filter(
      (f) => statSync(f).isFile() && !f.endsWith('vault.json') && readFileSync(f, 'latin1').includes(SECRET),
    );

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
    expect(filesWithSecret()).toEqual([]);
    expect(agentSaw.join('\n').includes(SECRET)).toBe(false);
  });

  it("records a server's error message redacted, as the agent gets it", async () => {
    const r = await post({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'whoami', arguments: {} },
    });
    expect(r).toContain('token rejected: Bearer [REDACTED:vault]');
    let outcome: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !outcome; i++) {
      outcome = auditRecords(home).find((x) => x['status'] === 'error' && x['tool'] === 'whoami');
      if (!outcome) await new Promise((res) => setTimeout(res, 100));
    }
    expect(outcome?.['error']).toBe('token rejected: Bearer [REDACTED:vault]');
    expect(filesWithSecret()).toEqual([]);
  });

  it('pins the tool definitions redacted, as the agent sees them', async () => {
    const r = await post({ jsonrpc: '2.0', id: 8, method: 'tools/list' });
    expect(r).toContain('Signed in as Bearer [REDACTED:vault]');
    const pins = readFileSync(join(home, 'pins.json'), 'utf8');
    expect(pins).toContain('Signed in as Bearer [REDACTED:vault]');
    expect(filesWithSecret()).toEqual([]);
  });
});
