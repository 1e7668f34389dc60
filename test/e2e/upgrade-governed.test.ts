import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { ProxyAgent, WebSocket } from 'undici';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { until } from '../helpers/until.js';
import {
  connectProxy,
  proxyAuth,
  readUntilClose,
  startLiveRun,
  tlsThroughProxy,
  type LiveRun,
} from '../helpers/raw-proxy-client.js';

const SHELL_CALL = JSON.stringify({
  jsonrpc: '2.0',
  id: 7,
  method: 'tools/call',
  params: { name: 'shell_exec', arguments: { cmd: 'id' } },
});
const SECRET = 'upgrade-test-real-secret-9f3c1d';

interface Seen {
  kind: 'request' | 'upgrade';
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

describe('gov run: Upgrade requests never carry bytes past the pipeline', () => {
  let pki: TestPki;
  let home: string;
  let https: TestServer;
  let plain: Server;
  let plainPort: number;
  let run: LiveRun;
  let govCa: string;
  const seen: Seen[] = [];

  // The upstream logs every request and every upgrade; a WebSocket handshake is answered 101
  // and followed by one text frame.
  const upgraded = new Set<Duplex>();
  const onUpgrade = (req: IncomingMessage, socket: Duplex) => {
    upgraded.add(socket);
    seen.push({ kind: 'upgrade', method: req.method!, url: req.url!, headers: req.headers, body: '' });
    const key = String(req.headers['sec-websocket-key'] ?? '');
    const accept = createHash('sha1')
      .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
      .digest('base64');
    const text = Buffer.from('hello from upstream');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.write(Buffer.concat([Buffer.from([0x81, text.length]), text]));
    // A server that knows a vault value and sends it down the tunnel.
    if (req.url === '/leaky') {
      const leak = Buffer.from(`your key is ${SECRET}`);
      socket.write(Buffer.concat([Buffer.from([0x81, leak.length]), leak]));
    }
    socket.on('error', () => undefined);
    // Every client frame's payload, unmasked (small frames only: the tests send nothing larger).
    let pending = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 6 && pending.length >= 6 + (pending[1]! & 0x7f)) {
        const len = pending[1]! & 0x7f;
        const payload = Buffer.from(pending.subarray(6, 6 + len)).map((b, i) => b ^ pending[2 + (i & 3)]!);
        wsFrames.push(Buffer.from(payload).toString('latin1'));
        pending = pending.subarray(6 + len);
      }
    });
  };
  const wsFrames: string[] = [];
  const onRequest = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ kind: 'request', method: req.method!, url: req.url!, headers: req.headers, body });
      res.end('upstream answered');
    });
  };
  const executedShell = () => seen.filter((s) => s.body.includes('shell_exec') || s.url.includes('second'));

  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    await sealWithFastKdf(home, 'correct horse battery');
    https = await startHttpsServer(pki, onRequest);
    https.server.on('upgrade', onUpgrade);
    plain = createHttpServer(onRequest);
    plain.on('upgrade', onUpgrade);
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    plainPort = (plain.address() as AddressInfo).port;
    const env = { GOV_HOME: home, GOV_VAULT_PASSPHRASE: 'correct horse battery' };
    const set = await runGov(['vault', 'set', 'api-token'], { env, input: SECRET + '\n' });
    expect(set.code, set.stderr).toBe(0);
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: allow
rules:
  - id: no-shell
    tool: "shell*"
    decision: deny
websocket: ["localhost"]
credentials:
  - secret: api-token
    hosts: ["localhost:${https.port}"]
    header: Authorization
    format: "Bearer {secret}"
    env: API_TOKEN
`,
    );
    run = await startLiveRun(['--policy', policy, '--upstream-ca', pki.caPath], env);
    govCa = readFileSync(run.env['NODE_EXTRA_CA_CERTS']!, 'utf8');
  }, 60_000);
  afterAll(async () => {
    await run?.stop();
    for (const s of upgraded) s.destroy();
    await https?.close();
    plain?.closeAllConnections();
    plain?.close();
  });

  it('curl POSTing a denied tools/call with Connection: Upgrade: the upstream never sees it', async () => {
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
        'Connection: Upgrade',
        '-H',
        'Upgrade: websocket',
        '-H',
        'Content-Type: application/json',
        '-d',
        SHELL_CALL,
        `${https.url}/mcp`,
      ],
      { env: { GOV_HOME: home, GOV_VAULT_PASSPHRASE: 'correct horse battery' } },
    );
    expect(executedShell()).toEqual([]);
    expect(seen.filter((s) => s.kind === 'upgrade')).toEqual([]);
    expect(r.stdout).toContain('refused');
  });

  it('raw TLS: an upgrade GET followed by pipelined requests reaches nothing, and the connection closes', async () => {
    for (const upgrade of ['websocket', 'h2c', 'nonsense/1']) {
      const t = await tlsThroughProxy(run.proxy, '127.0.0.1', https.port, govCa);
      t.write(
        `GET /sse HTTP/1.1\r\nHost: 127.0.0.1:${https.port}\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n` +
          `POST /second HTTP/1.1\r\nHost: 127.0.0.1:${https.port}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${SHELL_CALL.length}\r\n\r\n${SHELL_CALL}`,
      );
      const answer = await readUntilClose(t);
      expect(answer).toMatch(/^HTTP\/1\.1 40[03] /);
      expect(answer).toContain(
        upgrade === 'websocket' ? 'add the host to websocket:' : 'without Connection: upgrade',
      );
    }
    expect(executedShell()).toEqual([]);
    expect(seen).toEqual([]);
  });

  it('plain-HTTP absolute-form upgrade POST and CONNECT inside a tunnel reach nothing', async () => {
    const s = await connectProxy(run.proxy);
    s.write(
      `POST http://127.0.0.1:${plainPort}/mcp HTTP/1.1\r\nHost: 127.0.0.1:${plainPort}\r\n` +
        `Proxy-Authorization: ${proxyAuth(run.proxy)}\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${SHELL_CALL.length}\r\n\r\n${SHELL_CALL}`,
    );
    expect(await readUntilClose(s)).toMatch(/^HTTP\/1\.1 400 /);

    const t = await tlsThroughProxy(run.proxy, '127.0.0.1', https.port, govCa);
    t.write(`CONNECT 127.0.0.1:${plainPort} HTTP/1.1\r\nHost: 127.0.0.1:${plainPort}\r\n\r\n`);
    t.write(
      `POST /second HTTP/1.1\r\nHost: 127.0.0.1:${plainPort}\r\nContent-Length: ${SHELL_CALL.length}\r\n\r\n${SHELL_CALL}`,
    );
    await readUntilClose(t);
    expect(seen).toEqual([]);
  });

  it('undici WebSocket: refused to a host not under websocket:, tunnelled (audited, no credential) to one that is', async () => {
    const dispatcher = new ProxyAgent({ uri: run.proxy.href, requestTls: { ca: govCa } });
    const refused = new WebSocket(`wss://127.0.0.1:${https.port}/ws`, { dispatcher });
    await new Promise((r) => refused.addEventListener('close', r));
    expect(seen).toEqual([]);

    const ws = new WebSocket(`wss://localhost:${https.port}/ws?x=1`, {
      dispatcher,
      headers: { authorization: `Bearer ${run.env['API_TOKEN']}` },
    } as ConstructorParameters<typeof WebSocket>[1]);
    const message = await new Promise<string>((resolve, reject) => {
      ws.addEventListener('message', (e) => resolve(String(e.data)));
      ws.addEventListener('error', () => reject(new Error('WebSocket failed')));
    });
    ws.close();
    await dispatcher.close();
    expect(message).toBe('hello from upstream');
    const upgrades = seen.filter((s) => s.kind === 'upgrade');
    expect(upgrades).toHaveLength(1);
    expect(upgrades[0]!.url).toBe('/ws?x=1');
    expect(upgrades[0]!.headers['authorization']).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(SECRET);
  });

  it('a placeholder in an allowed WebSocket handshake is refused', async () => {
    const before = seen.length;
    const t = await tlsThroughProxy(run.proxy, 'localhost', https.port, govCa);
    t.write(
      `GET /ws HTTP/1.1\r\nHost: localhost:${https.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Token: ${run.env['API_TOKEN']}\r\n\r\n`,
    );
    expect(await readUntilClose(t)).toMatch(/^HTTP\/1\.1 403 /);
    expect(seen.length).toBe(before);
  });

  it('a JSON-RPC body in a PUT, PATCH, DELETE or GET is governed like a POST', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE', 'GET']) {
      const t = await tlsThroughProxy(run.proxy, '127.0.0.1', https.port, govCa);
      t.write(
        `${method} /mcp HTTP/1.1\r\nHost: 127.0.0.1:${https.port}\r\nContent-Type: text/plain\r\n` +
          `Connection: close\r\nContent-Length: ${SHELL_CALL.length}\r\n\r\n${SHELL_CALL}`,
      );
      const answer = await readUntilClose(t);
      expect(answer).toContain('-32003');
      expect(answer).toContain("Denied by gov policy rule 'no-shell'");
    }
    expect(executedShell()).toEqual([]);
    // An allowed call in a PUT still reaches the server.
    const allowed = SHELL_CALL.replace('shell_exec', 'get_time');
    const t = await tlsThroughProxy(run.proxy, '127.0.0.1', https.port, govCa);
    t.write(
      `PUT /mcp HTTP/1.1\r\nHost: 127.0.0.1:${https.port}\r\nConnection: close\r\n` +
        `Content-Length: ${allowed.length}\r\n\r\n${allowed}`,
    );
    expect(await readUntilClose(t)).toContain('upstream answered');
    expect(seen.some((x) => x.method === 'PUT' && x.body.includes('get_time'))).toBe(true);
  });

  it('a placeholder in a frame on an allowed tunnel closes it (1008) before the frame reaches the upstream', async () => {
    const dispatcher = new ProxyAgent({ uri: run.proxy.href, requestTls: { ca: govCa } });
    const ws = new WebSocket(`wss://localhost:${https.port}/frames`, { dispatcher });
    await new Promise((resolve, reject) => {
      ws.addEventListener('message', resolve);
      ws.addEventListener('error', () => reject(new Error('WebSocket failed')));
    });
    const placeholder = run.env['API_TOKEN']!;
    ws.send('plain words');
    // Split over two frames, and base64-encoded: found all the same.
    ws.send(`token part ${placeholder.slice(0, 20)}`);
    ws.send(`${placeholder.slice(20)} and ${Buffer.from(placeholder).toString('base64')}`);
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason })),
    );
    await dispatcher.close();
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain('WebSocket frame');
    const handshake = seen.filter((s) => s.url === '/frames');
    expect(handshake).toHaveLength(1);
    // No extension was offered upstream: a compressed frame could not be looked into.
    expect(handshake[0]!.headers['sec-websocket-extensions']).toBeUndefined();
    // The frames before the refused one went on; the refused one never did.
    await until(() => wsFrames.includes(`token part ${placeholder.slice(0, 20)}`), 'frames before the leak');
    expect(wsFrames).toContain('plain words');
    expect(wsFrames.join('')).not.toContain(placeholder.slice(20));
  });

  it('a vault value in a frame from the server closes the tunnel (1008) before it reaches the client', async () => {
    const dispatcher = new ProxyAgent({ uri: run.proxy.href, requestTls: { ca: govCa } });
    const ws = new WebSocket(`wss://localhost:${https.port}/leaky`, { dispatcher });
    const messages: string[] = [];
    ws.addEventListener('message', (e) => messages.push(String(e.data)));
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason })),
    );
    await dispatcher.close();
    expect(messages).toEqual(['hello from upstream']);
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain('vault value');
    expect(closed.reason).not.toContain(SECRET);
  });

  it('the audit records the tunnel as a websocket call and every refusal as an alert', async () => {
    await run.stop();
    const dir = join(home, 'audit');
    const records = readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const tunnels = records.filter((r) => r['method'] === 'websocket');
    expect(tunnels).toHaveLength(3);
    expect(tunnels[0]).toMatchObject({ kind: 'call', decision: 'allow', rule: 'websocket' });
    expect((tunnels[0]!['detail'] as Record<string, unknown>)['stripped_headers']).toEqual(['authorization']);
    const alerts = records.filter((r) => r['kind'] === 'alert').map((r) => String(r['reason']));
    expect(alerts.some((a) => a.includes('WebSocket upgrade to 127.0.0.1 refused'))).toBe(true);
    expect(alerts.some((a) => a.includes("'h2c' upgrades"))).toBe(true);
    expect(alerts.some((a) => a.includes('credential placeholder'))).toBe(true);
    expect(alerts.some((a) => a.includes('WebSocket tunnel to localhost closed'))).toBe(true);
    expect(JSON.stringify(records)).not.toContain(SECRET);
  });
});
