/**
 * `gov serve --protocol-version-mode strict` (accepting 2025-06-18 and 2025-11-25) in front of
 * real SDK 1.32 servers, against a hostile raw client: it cannot have the target run a call in
 * another protocol version by leaving MCP-Protocol-Version out (in a session or outside any),
 * by naming another accepted version than its session negotiated, by naming an accepted version
 * on an `initialize` that asks for another, or over the 2024-11-05 HTTP+SSE transport, whose
 * `initialize` result travels on the GET stream. Refusals are proven by what the servers ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { tempHome } from '../helpers/gov-process.js';
import { startServe, type ServeProcess } from '../helpers/gov-serve.js';
import { makeTestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { auditRecords } from '../helpers/audit-records.js';
import { until } from '../helpers/until.js';

type Json = Record<string, unknown>;

const init = (id: number, version: string): Json => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const initialized: Json = { jsonrpc: '2.0', method: 'notifications/initialized' };
const echo = (id: number, text: string): Json => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'echo', arguments: { text } },
});

/** The texts a server's `echo` ran with: what the client got the target to execute. */
const ran = (server: McpTestServer) => server.executed.map((e) => (e.args as { text: string }).text);

/** An SSE stream through gov: what arrived so far, and whether gov ended it. */
interface Stream {
  text(): string;
  ended(): boolean;
  close(): void;
}

function openStream(url: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(30_000) },
      (res) => {
        let text = '';
        let ended = false;
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => (ended = true));
        res.on('error', () => undefined);
        resolve({ text: () => text, ended: () => ended, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The JSON-RPC messages a stream carried. */
const messagesOn = (s: Stream): Json[] =>
  [...s.text().matchAll(/^data: (\{.*\})$/gm)].map((m) => JSON.parse(m[1]!) as Json);

describe('gov serve strict protocol versions: no way around them', () => {
  let home: string;
  let gov: ServeProcess;
  let streamable: McpTestServer;
  let stateless: McpTestServer;
  let legacy: McpTestServer;

  beforeAll(async () => {
    const pki = makeTestPki();
    [streamable, stateless, legacy] = await Promise.all([
      startMcpServer(pki, 'sse'),
      startMcpServer(pki, 'stateless'),
      startMcpServer(pki, 'legacy'),
    ]);
    home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(policy, 'version: 1\ndefault: allow\n');
    gov = await startServe(
      [
        '--route',
        `/mcp=${streamable.url}/mcp`,
        '--route',
        `/stateless=${stateless.url}/mcp`,
        // The 2024-11-05 server: GET /sse, POST /messages?sessionId=… (its announced endpoint).
        '--route',
        `/=${legacy.url}/`,
        '--policy',
        policy,
        '--upstream-ca',
        pki.caPath,
        '--protocol-version-mode',
        'strict',
        '--protocol-version',
        '2025-06-18',
        '--protocol-version',
        '2025-11-25',
      ],
      { GOV_HOME: home },
    );
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    await Promise.all([streamable?.close(), stateless?.close(), legacy?.close()]);
  });

  const post = async (path: string, msg: Json, headers: Record<string, string> = {}) => {
    const r = await fetch(`${gov.url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body: JSON.stringify(msg),
      signal: AbortSignal.timeout(15_000),
    });
    return { status: r.status, session: r.headers.get('mcp-session-id'), text: await r.text() };
  };

  /** A Streamable HTTP session on the SDK server that negotiated `version`. */
  const openSession = async (version: string) => {
    const r = await post('/mcp', init(1, version));
    expect(r.status, r.text).toBe(200);
    expect(r.text).toContain(`"protocolVersion":"${version}"`);
    const named = { 'mcp-session-id': r.session!, 'mcp-protocol-version': version };
    expect((await post('/mcp', initialized, named)).status).toBe(202);
    return { id: r.session!, named };
  };

  /** The refusal was audited as an alert. */
  const alerted = (what: string) =>
    until(
      () => auditRecords(home).some((r) => r['kind'] === 'alert' && String(r['reason']).includes(what)),
      `an alert saying ${what}`,
      10_000,
    );

  it('a request in a session that names no version speaks 2025-03-26, which is refused', async () => {
    const session = await openSession('2025-06-18');
    const bare = await post('/mcp', echo(2, 'in-session-bare'), { 'mcp-session-id': session.id });
    const named = await post('/mcp', echo(3, 'in-session-named'), session.named);
    expect(ran(streamable)).not.toContain('in-session-bare');
    expect(bare.status, bare.text).toBe(400);
    expect(bare.text).toContain("MCP protocol version '2025-03-26'");
    expect(named.status).toBe(200);
    expect(ran(streamable)).toContain('in-session-named');
    await alerted("MCP protocol version '2025-03-26' (assumed");
  }, 30_000);

  it('a request naming another accepted version than its session negotiated is refused', async () => {
    const session = await openSession('2025-06-18');
    const other = await post('/mcp', echo(2, 'other-version'), {
      ...session.named,
      'mcp-protocol-version': '2025-11-25',
    });
    expect(ran(streamable)).not.toContain('other-version');
    expect(other.status, other.text).toBe(400);
    expect(other.text).toContain(
      "this session negotiated MCP protocol version '2025-06-18', not '2025-11-25'",
    );
    await alerted("negotiated MCP protocol version '2025-06-18', not '2025-11-25'");
  }, 30_000);

  it('an initialize naming an accepted version in its header is still judged by the answer', async () => {
    const r = await post('/mcp', init(1, '2024-11-05'), { 'mcp-protocol-version': '2025-06-18' });
    // Had gov handed out the session, the client would go on in it as below.
    if (r.session !== null) {
      const named = { 'mcp-session-id': r.session, 'mcp-protocol-version': '2025-06-18' };
      await post('/mcp', initialized, named);
      await post('/mcp', echo(2, 'header-says-accepted'), named);
    }
    expect(ran(streamable)).not.toContain('header-says-accepted');
    expect(r.status, r.text).toBe(502);
    expect(r.session).toBeNull();
    expect(r.text).toContain("MCP protocol version '2024-11-05'");
  }, 30_000);

  it('outside any session, a request naming no version (no initialize) speaks 2025-03-26', async () => {
    const bare = await post('/stateless', echo(1, 'stateless-bare'));
    const named = await post('/stateless', echo(2, 'stateless-named'), {
      'mcp-protocol-version': '2025-06-18',
    });
    expect(ran(stateless)).not.toContain('stateless-bare');
    expect(bare.status, bare.text).toBe(400);
    expect(bare.text).toContain("taken as '2025-03-26'");
    expect(named.status, named.text).toBe(200);
    expect(ran(stateless)).toContain('stateless-named');
    await alerted("taken as '2025-03-26'");
  }, 30_000);

  /** A 2024-11-05 session through gov: its stream and the endpoint it announced. */
  const openLegacy = async () => {
    const stream = await openStream(`${gov.url}/sse`);
    await until(() => /data: \/messages/.test(stream.text()), 'the endpoint event', 10_000);
    return { stream, endpoint: /data: (\/messages\S+)/.exec(stream.text())![1]! };
  };

  it('2024-11-05: an initialize result in a version not accepted is replaced by an error, and the session ends', async () => {
    const { stream, endpoint } = await openLegacy();
    try {
      const i = await post(endpoint, init(7, '2024-11-05'));
      expect(i.status).toBe(202);
      await until(
        () => messagesOn(stream).some((m) => m['id'] === 7),
        'the answer to initialize on the stream',
        10_000,
      );
      const answer = messagesOn(stream).find((m) => m['id'] === 7)!;
      expect(answer['result'], 'the client got the result in a refused version').toBeUndefined();
      expect(answer['error']).toMatchObject({ code: -32603 });
      const message = (answer['error'] as { message: string }).message;
      expect(message).toContain("MCP protocol version '2024-11-05'");
      expect(message).toContain('2025-06-18, 2025-11-25');
      // The session is over: its stream ends and its endpoint takes nothing more.
      await until(() => stream.ended(), 'the session stream ended', 10_000);
      const after = await post(endpoint, echo(8, 'legacy-after-refusal'));
      expect(ran(legacy)).not.toContain('legacy-after-refusal');
      expect(after.status, after.text).toBe(404);
      await alerted("the server answered with MCP protocol version '2024-11-05'");
    } finally {
      stream.close();
    }
  }, 30_000);

  it('2024-11-05: nothing but initialize reaches the server until the stream shows an accepted version', async () => {
    // A client need not wait for the answer on the stream: it calls at once, before any
    // initialize, and right after one the server answers in a version not accepted.
    const hasty = await openLegacy();
    try {
      const before = await post(hasty.endpoint, echo(1, 'legacy-before-initialize'));
      expect((await post(hasty.endpoint, init(2, '2024-11-05'))).status).toBe(202);
      const racing = await post(hasty.endpoint, echo(3, 'legacy-racing-initialize'));
      expect(ran(legacy)).not.toContain('legacy-before-initialize');
      expect(ran(legacy)).not.toContain('legacy-racing-initialize');
      expect(before.status, before.text).toBe(400);
      expect(before.text).toContain('no accepted MCP protocol version yet');
      // 400 while the answer is awaited, 404 once it ended the session: refused either way.
      expect([400, 404], racing.text).toContain(racing.status);
      await alerted('no accepted MCP protocol version yet');
    } finally {
      hasty.stream.close();
    }

    // A session in an accepted version works, and a later initialize gates it again.
    const { stream, endpoint } = await openLegacy();
    try {
      expect((await post(endpoint, init(1, '2025-06-18'))).status).toBe(202);
      await until(() => stream.text().includes('"protocolVersion":"2025-06-18"'), 'the result', 10_000);
      expect((await post(endpoint, initialized)).status).toBe(202);
      expect((await post(endpoint, echo(2, 'legacy-accepted'))).status).toBe(202);
      await until(() => stream.text().includes('echo: legacy-accepted'), 'the call answered', 10_000);
      expect((await post(endpoint, init(3, '2024-11-05'))).status).toBe(202);
      const during = await post(endpoint, echo(4, 'legacy-during-reinitialize'));
      await until(() => stream.ended(), 'the session stream ended', 10_000);
      expect(ran(legacy)).not.toContain('legacy-during-reinitialize');
      expect([400, 404], during.text).toContain(during.status);
      expect(ran(legacy)).toContain('legacy-accepted');
    } finally {
      stream.close();
    }
  }, 60_000);
});
