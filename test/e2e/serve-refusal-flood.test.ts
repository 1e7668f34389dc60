import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { makeTestPki } from '../helpers/test-ca.js';
import { startLoggingServer, type LoggingServer } from '../helpers/logging-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { startServe, type ServeProcess } from '../helpers/gov-serve.js';
import { auditRecords, type Json } from '../helpers/approval-peers.js';
import { eventually } from '../helpers/until.js';

const FLOOD = 300;
const AUTHENTICATED = 30;

describe('gov serve: refusals of unauthenticated requests are recorded within a budget, and summarised', () => {
  let upstream: LoggingServer;
  let serve: ServeProcess;
  let home: string;
  let token = '';
  let port = 0;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    const pki = makeTestPki();
    upstream = await startLoggingServer(pki);
    home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(policy, 'version: 1\ndefault: allow\n');
    const add = await runGov(['serve', 'token', 'add', 'alice'], { env: { GOV_HOME: home } });
    expect(add.code, add.stderr).toBe(0);
    token = add.stdout.trim();
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
    port = Number(new URL(serve.url).port);
  }, 60_000);
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await serve?.stop();
    await upstream?.close();
  });

  /** Send `requests` pipelined on one connection; resolves once `answers` status lines arrived. */
  async function pipelined(requests: string[], status: string): Promise<void> {
    const s = netConnect({ host: '127.0.0.1', port });
    sockets.push(s);
    await once(s, 'connect');
    let text = '';
    const done = new Promise<void>((resolve, reject) => {
      s.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (text.split(`HTTP/1.1 ${status} `).length - 1 >= requests.length) resolve();
      });
      s.once('close', () => reject(new Error(`closed after: ${text.slice(-300)}`)));
    });
    s.write(requests.join(''));
    await done;
    s.destroy();
  }
  const request = (path: string, bearer?: string) =>
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${bearer ? `Authorization: Bearer ${bearer}\r\n` : ''}\r\n`;

  const alerts = () => auditRecords(home).filter((r: Json) => r['kind'] === 'alert');
  const detail = (r: Json) => (r['detail'] ?? {}) as Json;
  const unauthenticated = () => alerts().filter((r) => detail(r)['status'] === 401);
  const summaries = () => alerts().filter((r) => typeof detail(r)['suppressed'] === 'number');

  it('records a few of a flood of token-less requests, every authenticated refusal, and the count of the rest', async () => {
    await pipelined(
      Array.from({ length: FLOOD }, (_, i) => request(`/mcp?flood-${i}`)),
      '401',
    );
    await pipelined(
      Array.from({ length: AUTHENTICATED }, (_, i) => request(`/mcp/../x-${i}`, token)),
      '400',
    );
    // Records are written as the refusals are answered: wait for the authenticated ones.
    const ofAlice = () => alerts().filter((r) => r['principal'] === 'token:alice').length;
    await eventually('every authenticated refusal recorded', () =>
      ofAlice() >= AUTHENTICATED ? true : undefined,
    );
    expect(ofAlice()).toBe(AUTHENTICATED);
    expect(unauthenticated().length).toBeLessThan(FLOOD / 10);

    // Once the address's budget refills, the next refusal brings the summary of those left out.
    let sent = FLOOD;
    await eventually(
      'a summary record',
      async () => {
        await pipelined([request('/mcp?later')], '401');
        sent++;
        return summaries().length > 0 ? true : undefined;
      },
      20_000,
    );
    const [summary] = summaries();
    expect(summary!['reason']).toMatch(/^\d+ further unauthenticated refusals from 127\.0\.0\.1 suppressed/);
    expect(detail(summary!)['source']).toBe('127.0.0.1');

    // Refusals still left out at shutdown are summarised then.
    await pipelined(
      Array.from({ length: 50 }, (_, i) => request(`/mcp?late-${i}`)),
      '401',
    );
    sent += 50;
    expect(await serve.stop()).toBe(0);
    // Recorded plus summarised is every refusal sent, at shutdown at the latest.
    const suppressed = summaries().reduce((n, r) => n + (detail(r)['suppressed'] as number), 0);
    expect(unauthenticated().length + suppressed).toBe(sent);
    expect(upstream.log).toHaveLength(0);
    const verify = await runGov(['audit', 'verify'], { env: { GOV_HOME: home } });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 60_000);
});
