import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startLoggingServer, type LoggingServer } from '../helpers/logging-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { startServe, type ServeProcess } from '../helpers/gov-serve.js';
import { auditRecords, pendingCalls, type Json } from '../helpers/approval-peers.js';
import { eventually } from '../helpers/until.js';

/** Under the 4 MiB body limit; 16 of them fit in a client's 64 MiB of held calls, 17 do not. */
const CALL_BYTES = 4_000_000;

describe('gov serve: held calls are capped in bytes per client (64 MiB)', () => {
  let pki: TestPki;
  let upstream: LoggingServer;
  let serve: ServeProcess;
  let home: string;
  const tokens: Record<string, string> = {};
  const inFlight: ClientRequest[] = [];

  beforeAll(async () => {
    pki = makeTestPki();
    upstream = await startLoggingServer(pki);
    home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      'version: 1\ndefault: allow\napproval_timeout: 1h\nrules:\n  - id: big\n    tool: big\n    decision: approve\n    reason: Needs a person\n',
    );
    for (const name of ['alice', 'bob']) {
      const add = await runGov(['serve', 'token', 'add', name], { env: { GOV_HOME: home } });
      expect(add.code, add.stderr).toBe(0);
      tokens[name] = add.stdout.trim();
    }
    serve = await startServe(
      [
        '--target',
        `${upstream.url}/mcp`,
        '--policy',
        policy,
        '--upstream-ca',
        pki.caPath,
        '--auth',
        'bearer',
      ],
      { GOV_HOME: home },
    );
  }, 60_000);
  afterAll(async () => {
    for (const r of inFlight) r.destroy();
    await serve?.stop();
    await upstream?.close();
  });

  /** POST one tools/call, gzip-encoded (4 MB decoded, a few kB on the wire); resolves with the answer. */
  const call = (who: string, id: number, tool: string, size: number) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const message = { jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: {} } };
      const padding = size - JSON.stringify(message).length - '"text":"",'.length;
      const json = JSON.stringify({
        ...message,
        params: { name: tool, arguments: { text: 'x'.repeat(Math.max(0, padding)) } },
      });
      const body = gzipSync(json);
      const u = new URL(`${serve.url}/mcp`);
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          agent: false,
          headers: {
            authorization: `Bearer ${tokens[who]}`,
            'content-type': 'application/json',
            'content-encoding': 'gzip',
            accept: 'application/json, text/event-stream',
            'content-length': String(body.length),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      inFlight.push(req);
      req.end(body);
    });
  /** How many calls are held (-1 while gov is too busy to answer `gov pending` in time). */
  const held = async () =>
    pendingCalls(home).then(
      (l) => l.length,
      () => -1,
    );

  it('denies at once the call that would take a client over the cap, with an audit record; others go on', async () => {
    for (let id = 1; id <= 16; id++) void call('alice', id, 'big', CALL_BYTES).catch(() => undefined);
    await eventually(
      '16 of alice’s calls held',
      async () => ((await held()) === 16 ? true : undefined),
      60_000,
    );

    // Answered without waiting for anyone (a generous bound, not a timing claim).
    const over = await Promise.race([
      call('alice', 17, 'big', CALL_BYTES),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the 17th call was held, not denied')), 20_000),
      ),
    ]);
    const error = (JSON.parse(over.body) as { error?: { code: number; message: string } }).error;
    expect(error?.code).toBe(-32003);
    expect(error?.message).toMatch(/over 64 MiB/);
    const record = auditRecords(home).find(
      (r: Json) => r['kind'] === 'approval' && (r['detail'] as Json)['request_id'] === 17,
    );
    expect(record?.['principal']).toBe('token:alice');
    expect(record?.['decision']).toBe('deny');
    expect(record?.['reason']).toMatch(/over 64 MiB/);

    // Another client still has its own budget, and alice's allowed calls still go through.
    void call('bob', 1, 'big', CALL_BYTES).catch(() => undefined);
    await eventually('bob’s call held', async () => ((await held()) === 17 ? true : undefined), 30_000);
    expect((await call('alice', 18, 'small', 100)).status).toBe(200);
    // The server received the allowed call only: no held call, and never the one over the cap.
    expect(upstream.log.map((r) => (JSON.parse(r.body) as { id: number }).id)).toEqual([18]);
  }, 120_000);
});
