import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { ROOT, spawnGov, tempHome } from '../helpers/gov-process.js';
import { auditRecords } from '../helpers/audit-records.js';
import { until } from '../helpers/until.js';

const SECRET = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
const CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'sse_lines.py');

const POLICY = `version: 1
servers:
  subs: "https://127.0.0.1:*"
unknown_servers: deny
default: deny
rules:
  - id: listen
    method: subscriptions/listen
    decision: allow
`;

const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'sse-lines', version: '1' },
};

/**
 * A hand-written 2026 server: `subscriptions/listen` opens an SSE stream, sends the
 * acknowledgment and an update carrying a token, then holds the stream open until the test
 * lets it finish (one more update and the graceful closing result).
 */
async function startSubscriptionServer(pki: TestPki) {
  let stream: ServerResponse | undefined;
  const server = await startHttpsServer(pki, (req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const msg = JSON.parse(body) as { id: number; method: string };
      if (msg.method !== 'subscriptions/listen') return res.writeHead(404).end();
      const sub = { 'io.modelcontextprotocol/subscriptionId': msg.id };
      const send = (m: unknown) => res.write(`event: message\ndata: ${JSON.stringify(m)}\n\n`);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      send({
        jsonrpc: '2.0',
        method: 'notifications/subscriptions/acknowledged',
        params: { _meta: sub, notifications: { resourceSubscriptions: ['file:///cfg'] } },
      });
      send({
        jsonrpc: '2.0',
        method: 'notifications/resources/updated',
        params: { _meta: { ...sub, note: `rotated to ${SECRET}` }, uri: 'file:///cfg' },
      });
      stream = res;
    });
  });
  return Object.assign(server, {
    open: () => stream !== undefined && !stream.writableEnded,
    finish: () => {
      const res = stream!;
      const sub = { 'io.modelcontextprotocol/subscriptionId': 1 };
      res.write(
        `data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { _meta: sub, uri: 'file:///cfg' } })}\n\n`,
      );
      res.end(
        `data: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { resultType: 'complete', _meta: sub } })}\n\n`,
      );
    },
  });
}

describe('subscriptions/listen (2026) through gov run', () => {
  let pki: TestPki;
  let home: string;
  let server: TestServer & { open: () => boolean; finish: () => void };
  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    writeFileSync(join(home, 'gov.yaml'), POLICY);
    server = await startSubscriptionServer(pki);
  });
  afterAll(async () => {
    await server.close();
  });

  it('relays each event as it comes (never buffered), redacted, and records the stream', async () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'subscriptions/listen',
      params: { _meta: META, notifications: { resourceSubscriptions: ['file:///cfg'] } },
    });
    const gov = spawnGov(
      [
        'run',
        '--no-tui',
        '--policy',
        join(home, 'gov.yaml'),
        '--upstream-ca',
        pki.caPath,
        '--',
        'python3',
        CLIENT,
        `${server.url}/mcp`,
        body,
        'mcp-protocol-version=2026-07-28',
        'mcp-method=subscriptions/listen',
      ],
      { env: { GOV_HOME: home } },
    );
    const kill = setTimeout(() => gov.kill('SIGKILL'), 60_000);
    let stdout = '';
    let stderr = '';
    gov.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    gov.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => gov.on('close', r));
    try {
      // Both events reach the client while the server still holds the stream open.
      await until(
        () => stdout.includes('notifications/resources/updated'),
        `first update (${stderr})`,
        30_000,
      );
      expect(server.open()).toBe(true);
      const early = stdout;
      expect(early).toContain('notifications/subscriptions/acknowledged');
      expect(early).toMatch(/rotated to \[REDACTED:/);
      server.finish();
      expect(await exited, stderr).toBe(0);
    } finally {
      clearTimeout(kill);
    }
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^status 200 text\/event-stream/);
    expect(lines.at(-1)).toBe('end');
    expect(lines.filter((l) => l.includes('notifications/resources/updated'))).toHaveLength(2);
    expect(lines.at(-2)).toContain('"resultType":"complete"');
    expect(stdout).not.toContain(SECRET);
    const records = auditRecords(home).filter((x) => x['method'] === 'subscriptions/listen');
    expect(JSON.stringify(auditRecords(home))).not.toContain(SECRET);
    expect(records.map((x) => x['status'])).toEqual(['forwarded', 'ok']);
    // The update's redaction counts in the subscription's outcome.
    expect(records[1]).toMatchObject({ redactions: { 'github-token': 1 } });
  });
});
