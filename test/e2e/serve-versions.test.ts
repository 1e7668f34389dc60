import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempHome } from '../helpers/gov-process.js';
import { startServe, type ServeProcess } from '../helpers/gov-serve.js';

/**
 * A lenient upstream: it answers `initialize` with whatever version the client asked for, as
 * JSON under /json and as SSE under /sse; under /sse-notify a notification comes first, and
 * /json-padded pads the result past a megabyte.
 */
async function startEchoingUpstream() {
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push(`${req.url} ${body}`);
      const m = JSON.parse(body) as { id: number; params: { protocolVersion: string } };
      const answer = JSON.stringify({
        jsonrpc: '2.0',
        id: m.id,
        result: {
          protocolVersion: m.params.protocolVersion,
          capabilities: { tools: {} },
          serverInfo: { name: 'echoing', version: '1' },
          ...(req.url === '/json-padded' ? { instructions: 'x'.repeat(1_100_000) } : {}),
        },
      });
      if (req.url === '/sse' || req.url === '/sse-notify') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': 'up-session' });
        if (req.url === '/sse-notify') {
          const note = {
            jsonrpc: '2.0',
            method: 'notifications/message',
            params: { level: 'info', data: 'hi' },
          };
          res.write(`data: ${JSON.stringify(note)}\n\n`);
        }
        res.end(`data: ${answer}\n\n`);
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'up-session' });
        res.end(answer);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const init = (version: string) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });

describe('gov serve --protocol-version-mode strict: the upstream side', () => {
  let upstream: Awaited<ReturnType<typeof startEchoingUpstream>>;
  let gov: ServeProcess;

  beforeAll(async () => {
    upstream = await startEchoingUpstream();
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(policy, 'version: 1\ndefault: allow\n');
    gov = await startServe(
      [
        '--route',
        `/json=${upstream.base}/json`,
        '--route',
        `/sse=${upstream.base}/sse`,
        '--route',
        `/sse-notify=${upstream.base}/sse-notify`,
        '--route',
        `/json-padded=${upstream.base}/json-padded`,
        '--policy',
        policy,
        '--protocol-version-mode',
        'strict',
        '--protocol-version',
        '2025-06-18',
      ],
      { GOV_HOME: home },
    );
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    await upstream?.close();
  });

  const post = async (path: string, version: string) => {
    const r = await fetch(`${gov.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: init(version),
      signal: AbortSignal.timeout(15_000),
    });
    return { status: r.status, session: r.headers.get('mcp-session-id'), body: await r.text() };
  };

  it('answers 502 when the server negotiates a version not accepted here (JSON and SSE answers)', async () => {
    for (const path of ['/json', '/sse']) {
      const r = await post(path, '2024-11-05');
      expect(r.status, path).toBe(502);
      expect(r.body).toContain("MCP protocol version '2024-11-05'");
      expect(r.body).toContain('2025-06-18');
      // No session is handed out for a refused version.
      expect(r.session).toBeNull();
    }
    expect(upstream.received).toHaveLength(2);
  }, 30_000);

  it('judges the response, not whatever the server sends before it or pads it with', async () => {
    // A notification first: the result after it still names the version that decides.
    const notified = await post('/sse-notify', '2024-11-05');
    expect(notified.status).toBe(502);
    expect(notified.body).toContain("MCP protocol version '2024-11-05'");
    expect(notified.session).toBeNull();
    // Past a megabyte gov cannot judge the answer: refused, whatever version it names.
    const padded = await post('/json-padded', '2024-11-05');
    expect(padded.status).toBe(502);
    expect(padded.body).toContain('holds no response within');
    expect(padded.session).toBeNull();
    // An accepted version after a notification goes through, notification and all.
    const ok = await post('/sse-notify', '2025-06-18');
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('notifications/message');
    expect(ok.body).toContain('"protocolVersion":"2025-06-18"');
    expect(ok.session).toBe('up-session');
  }, 30_000);

  it('passes an answer in an accepted version unchanged', async () => {
    const json = await post('/json', '2025-06-18');
    expect(json.status).toBe(200);
    expect(JSON.parse(json.body)).toMatchObject({ id: 1, result: { protocolVersion: '2025-06-18' } });
    expect(json.session).toBe('up-session');
    const sse = await post('/sse', '2025-06-18');
    expect(sse.status).toBe(200);
    expect(sse.body).toContain('"protocolVersion":"2025-06-18"');
    expect(sse.session).toBe('up-session');
  }, 30_000);
});
