import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const CALL = JSON.stringify({
  jsonrpc: '2.0',
  id: 3,
  method: 'tools/call',
  params: { name: 'get_time', arguments: {} },
});

describe('W3C trace context from HTTP request headers', () => {
  let pki: TestPki;
  let home: string;
  let server: TestServer;

  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    server = await startHttpsServer(pki, (req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ jsonrpc: '2.0', id: 3, result: { content: [] } }));
      });
    });
    writeFileSync(join(home, 'gov.yaml'), 'version: 1\ndefault: allow\n');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a call sent with traceparent/tracestate headers carries them in its audit records', async () => {
    const r = await runGov(
      [
        'run',
        '--no-tui',
        '--policy',
        join(home, 'gov.yaml'),
        '--upstream-ca',
        pki.caPath,
        '--',
        'curl',
        '-sS',
        '--max-time',
        '10',
        '-H',
        'Content-Type: application/json',
        '-H',
        `traceparent: ${TRACEPARENT}`,
        '-H',
        'tracestate: vendor=1',
        '-d',
        CALL,
        `${server.url}/mcp`,
      ],
      { env: { GOV_HOME: home } },
    );
    expect(r.code, r.stderr).toBe(0);
    const dir = join(home, 'audit');
    const records = readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const call = records.filter((x) => x['tool'] === 'get_time');
    expect(call.length).toBeGreaterThan(0);
    for (const c of call) expect(c['trace']).toEqual({ traceparent: TRACEPARENT, tracestate: 'vendor=1' });
  });
});
