import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { once } from 'node:events';
import type { TLSSocket } from 'node:tls';
import { Upstream, type Target } from '../../../src/transport/http/upstream.js';
import {
  PreconnectedSockets,
  type ConnectCallback,
  type ConnectOptions,
} from '../../../src/transport/http/upstream-preconnect.js';
import { makeTestPki, type TestPki } from '../../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../../helpers/https-server.js';

/**
 * Upstream.preconnect against a real HTTPS server: what the server sees (its TLS connections,
 * the requests on each), not what gov says.
 */
describe('Upstream.preconnect: the connection is made while the agent handshakes with gov', () => {
  let pki: TestPki;
  let server: TestServer;
  /** Per TLS connection the server accepted: the requests that came on it. */
  const connections: string[][] = [];
  const closed: Promise<unknown>[] = [];

  beforeAll(async () => {
    pki = makeTestPki();
    server = await startHttpsServer(pki, (req, res) => {
      const socket = req.socket as TLSSocket & { requests?: string[] };
      socket.requests?.push(`${req.method} ${req.url}`);
      res.end('ok');
    });
    server.server.on('secureConnection', (s: TLSSocket & { requests?: string[] }) => {
      s.requests = [];
      connections.push(s.requests);
      closed.push(once(s, 'close'));
    });
  });
  afterAll(async () => {
    await server.close();
  });

  const target = (): Target => ({ scheme: 'https', host: '127.0.0.1', port: server.port });

  it('the first request goes on the connection opened ahead; no second connection is made', async () => {
    connections.length = 0;
    const up = new Upstream({ extraCaFiles: [pki.caPath] });
    try {
      up.preconnect(target());
      await once(server.server, 'secureConnection');
      expect(connections).toEqual([[]]);
      const res = await up.request({ target: target(), method: 'GET', path: '/first', headers: {} });
      expect(res.status).toBe(200);
      await res.body.resume();
      await once(res.body, 'end');
      expect(connections).toEqual([['GET /first']]);
    } finally {
      await up.close();
    }
  });

  it('a connection nobody asks for is closed once it has waited its time', async () => {
    connections.length = 0;
    closed.length = 0;
    // Long enough for the handshake to finish on a loaded machine (a shorter wait destroys the
    // connection while it is still connecting, and the server never sees it), short for a test.
    const up = new Upstream({ extraCaFiles: [pki.caPath], preconnectIdleMs: 500 });
    try {
      up.preconnect(target());
      await once(server.server, 'secureConnection');
      await closed[0];
      expect(connections).toEqual([[]]);
      // undici then connects afresh, as without it.
      const res = await up.request({ target: target(), method: 'GET', path: '/later', headers: {} });
      await res.body.resume();
      await once(res.body, 'end');
      expect(connections).toEqual([[], ['GET /later']]);
    } finally {
      await up.close();
    }
  });

  it('an upstream gov does not trust fails the request as it would have without it', async () => {
    const untrusted = new Upstream({});
    try {
      untrusted.preconnect(target());
      await expect(
        untrusted.request({ target: target(), method: 'GET', path: '/x', headers: {} }),
      ).rejects.toThrow(/certificate/i);
    } finally {
      await untrusted.close();
    }
  });
});

describe('PreconnectedSockets: when a connection is opened ahead', () => {
  const opts: ConnectOptions = {
    host: 'example.test',
    hostname: 'example.test',
    protocol: 'https:',
    port: '',
    servername: null,
    localAddress: null,
  };
  /** A connector that records its calls and never completes them. */
  function counting(): {
    calls: ConnectOptions[];
    connector: (o: ConnectOptions, cb: ConnectCallback) => void;
  } {
    const calls: ConnectOptions[] = [];
    return { calls, connector: (o) => void calls.push(o) };
  }

  it('once per origin while one waits, and not where undici connected lately (its pool serves)', () => {
    const c = counting();
    const ahead = new PreconnectedSockets(c.connector);
    ahead.open(opts);
    ahead.open(opts);
    expect(c.calls).toHaveLength(1);
    ahead.open({ ...opts, port: '8443' });
    expect(c.calls).toHaveLength(2);
    ahead.connect({ ...opts, hostname: 'other.test', host: 'other.test' }, () => {});
    expect(c.calls).toHaveLength(3);
    ahead.open({ ...opts, hostname: 'other.test', host: 'other.test' });
    expect(c.calls).toHaveLength(3);
    ahead.close();
  });

  it('at most 256 wait at once, and one still connecting when its wait is over is destroyed', () => {
    vi.useFakeTimers();
    try {
      const destroyed: string[] = [];
      const ahead = new PreconnectedSockets(
        (o) => ({ destroy: () => void destroyed.push(o.hostname) }),
        2_000,
      );
      for (let i = 0; i < 300; i++) ahead.open({ ...opts, hostname: `h${i}.test`, host: `h${i}.test` });
      vi.advanceTimersByTime(2_000);
      expect(destroyed).toHaveLength(256);
      expect(destroyed[0]).toBe('h0.test');
    } finally {
      vi.useRealTimers();
    }
  });

  it('a connection that failed is replaced by a new one, made the same way', async () => {
    const tried: ConnectOptions[] = [];
    const ahead = new PreconnectedSockets((o, cb) => {
      tried.push(o);
      cb(tried.length === 1 ? new Error('ECONNREFUSED') : null, null);
    });
    ahead.open(opts);
    const err = await new Promise<Error | null>((resolve) => ahead.connect(opts, (e) => resolve(e)));
    expect(err).toBeNull();
    expect(tried).toEqual([opts, opts]);
  });
});
