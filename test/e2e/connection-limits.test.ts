import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { tempHome } from '../helpers/gov-process.js';
import {
  connectProxy,
  openTunnel,
  proxyAuth,
  readUntilClose,
  startLiveRun,
  tlsThroughProxy,
  type LiveRun,
} from '../helpers/raw-proxy-client.js';
import { startServe, type ServeProcess } from '../helpers/gov-serve.js';

/** Resolve when the socket's received text matches, or reject if it closes first. */
function waitFor(s: TLSSocket, pattern: RegExp): Promise<string> {
  let text = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      text += d.toString();
      if (pattern.test(text)) {
        s.off('data', onData);
        resolve(text);
      }
    };
    s.on('data', onData);
    s.once('close', () => reject(new Error(`closed before ${pattern}: ${text}`)));
  });
}

describe('gov run: idle connections are closed, long-lived exchanges are not, and the cap refuses clearly', () => {
  let pki: TestPki;
  let upstream: TestServer;
  const streams: ServerResponse[] = [];

  beforeAll(async () => {
    pki = makeTestPki();
    upstream = await startHttpsServer(pki, (req, res) => {
      if (req.url === '/sse') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.flushHeaders();
        streams.push(res);
        return;
      }
      if (req.url === '/fire') for (const s of streams.splice(0)) s.end('data: later\n\n');
      res.end('ok');
    });
  });
  afterAll(async () => {
    for (const s of streams) s.destroy();
    await upstream.close();
  });

  const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${upstream.port}\r\n\r\n`;

  describe('--idle-timeout 1s', () => {
    let run: LiveRun;
    let ca: string;
    beforeAll(async () => {
      run = await startLiveRun(['--idle-timeout', '1s', '--upstream-ca', pki.caPath], {
        GOV_HOME: tempHome(),
      });
      ca = readFileSync(run.env['NODE_EXTRA_CA_CERTS']!, 'utf8');
    }, 30_000);
    afterAll(() => run.stop());

    it('closes a CONNECT tunnel that never starts TLS', async () => {
      const { socket, status } = await openTunnel(run.proxy, '127.0.0.1', upstream.port);
      expect(status).toContain(' 200 ');
      await readUntilClose(socket);
    });

    it('closes a TLS tunnel that never sends a request, and a keep-alive connection after its response', async () => {
      await readUntilClose(await tlsThroughProxy(run.proxy, '127.0.0.1', upstream.port, ca));
      const t = await tlsThroughProxy(run.proxy, '127.0.0.1', upstream.port, ca);
      t.write(get('/once'));
      expect(await readUntilClose(t)).toMatch(/^HTTP\/1\.1 200 [\s\S]*ok$/);
    });

    it('keeps an SSE stream with no events open past the idle timeout', async () => {
      const sse = await tlsThroughProxy(run.proxy, '127.0.0.1', upstream.port, ca);
      sse.write(get('/sse'));
      await waitFor(sse, /text\/event-stream[\s\S]*\r\n\r\n/);
      // An idle tunnel opened after the stream started has timed out: so has the stream's idle time.
      await readUntilClose((await openTunnel(run.proxy, '127.0.0.1', upstream.port)).socket);
      const event = waitFor(sse, /data: later/);
      const fire = await tlsThroughProxy(run.proxy, '127.0.0.1', upstream.port, ca);
      fire.write(get('/fire'));
      expect(await event).toContain('data: later');
      sse.destroy();
      fire.destroy();
    });
  });

  describe('--max-connections 2', () => {
    let run: LiveRun;
    let ca: string;
    beforeAll(async () => {
      run = await startLiveRun(['--max-connections', '2', '--upstream-ca', pki.caPath], {
        GOV_HOME: tempHome(),
      });
      ca = readFileSync(run.env['NODE_EXTRA_CA_CERTS']!, 'utf8');
    }, 30_000);
    afterAll(() => run.stop());

    it('answers connections beyond the cap with 503 naming the flag, and serves again once one closes', async () => {
      const held: TLSSocket[] = [];
      for (let i = 0; i < 2; i++) {
        const s = await tlsThroughProxy(run.proxy, '127.0.0.1', upstream.port, ca);
        s.write(get('/sse'));
        await waitFor(s, /\r\n\r\n/);
        held.push(s);
      }
      const { socket, status, received } = await openTunnel(run.proxy, '127.0.0.1', upstream.port);
      expect(status).toMatch(/ 503 /);
      expect(received + (await readUntilClose(socket))).toContain('--max-connections');

      const plain = await connectProxy(run.proxy);
      plain.write(
        `GET http://127.0.0.1:9/x HTTP/1.1\r\nHost: 127.0.0.1:9\r\nProxy-Authorization: ${proxyAuth(run.proxy)}\r\n\r\n`,
      );
      expect(await readUntilClose(plain)).toMatch(/^HTTP\/1\.1 503 [\s\S]*--max-connections/);

      held[0]!.destroy();
      await once(held[0]!, 'close');
      // The proxy sees the close asynchronously: retry until the slot is free (bounded).
      let status2 = '';
      for (let i = 0; i < 50 && !status2.includes(' 200 '); i++) {
        const t = await openTunnel(run.proxy, '127.0.0.1', upstream.port);
        status2 = t.status;
        t.socket.destroy();
      }
      expect(status2).toContain(' 200 ');
      held[1]!.destroy();
    });
  });
});

describe('gov serve: idle client connections are closed and their number is capped', () => {
  let pki: TestPki;
  let upstream: TestServer;
  let serve: ServeProcess;
  let port: number;

  beforeAll(async () => {
    pki = makeTestPki();
    upstream = await startHttpsServer(pki, (_req, res) => res.end('ok'));
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(policy, 'version: 1\ndefault: allow\n');
    serve = await startServe(
      [
        '--target',
        `${upstream.url}/mcp`,
        '--policy',
        policy,
        '--upstream-ca',
        pki.caPath,
        '--auth',
        'none',
        '--idle-timeout',
        '1s',
        '--max-connections',
        '2',
      ],
      { GOV_HOME: home },
    );
    port = Number(new URL(serve.url).port);
  }, 30_000);
  afterAll(async () => {
    await serve?.stop();
    await upstream?.close();
  });

  const connect = async (): Promise<Socket> => {
    const s = netConnect({ host: '127.0.0.1', port });
    await once(s, 'connect');
    return s;
  };
  const health = () => `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`;

  it('answers a connection beyond the cap with 503 naming the flag, and closes idle ones', async () => {
    // Two authenticated keep-alive connections (--auth none: any request to a route); an
    // unauthenticated one would give way to the newcomer (test/e2e/connection-flood.test.ts).
    const held = [await connect(), await connect()];
    for (const s of held) {
      s.write(`GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      await new Promise<void>((resolve) => {
        let text = '';
        const onData = (d: Buffer) => {
          text += d.toString();
          if (!/\r\n\r\n[\s\S]*ok/.test(text)) return;
          s.off('data', onData);
          resolve();
        };
        s.on('data', onData);
      });
    }
    const third = await connect();
    third.write(health());
    expect(await readUntilClose(third)).toMatch(/^HTTP\/1\.1 503 [\s\S]*--max-connections/);
    // The two keep-alive connections are closed once idle, and then a slot is free again.
    await Promise.all(held.map((s) => readUntilClose(s)));
    let answer = '';
    for (let i = 0; i < 50 && !answer.startsWith('HTTP/1.1 200'); i++) {
      const s = await connect();
      s.write(health());
      answer = await readUntilClose(s);
    }
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
  });
});
