/**
 * The proxy core against a hostile agent, through a real `gov run`: odd proxy authentication,
 * nested CONNECT, a CONNECT to gov's own port, non-TLS bytes and h2-only ALPN inside a
 * tunnel, placeholders in trailers, split chunks and gzip bodies. Every claim is checked
 * against what the upstream servers received.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import {
  connectProxy,
  openTunnel,
  proxyAuth,
  readUntilClose,
  startLiveRun,
  tlsThroughProxy,
  type LiveRun,
} from '../helpers/raw-proxy-client.js';

const SECRET = 'sk-adversarial-proxy-core-Hq2Wm8Zp';

interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  rawTrailers: string[];
  body: string;
}

/** An HTTPS server that records everything, trailers included. */
async function recordingServer(
  pki: TestPki,
): Promise<{ port: number; seen: Seen[]; text(): string; close(): void }> {
  const seen: Seen[] = [];
  const server = createHttpsServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        rawHeaders: req.rawHeaders,
        rawTrailers: req.rawTrailers,
        body: Buffer.concat(chunks).toString('latin1'),
      });
      res.end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    text: () => JSON.stringify(seen),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

function statusOf(text: string): number {
  return Number(text.split('\r\n')[0]!.split(' ')[1] ?? 0);
}

describe('proxy core under hostile clients', () => {
  let pki: TestPki;
  let bound: Awaited<ReturnType<typeof recordingServer>>;
  let other: Awaited<ReturnType<typeof recordingServer>>;
  let run: LiveRun;
  let ca: string;
  let ph: string;

  beforeAll(async () => {
    pki = makeTestPki();
    bound = await recordingServer(pki);
    other = await recordingServer(pki);
    const home = tempHome();
    await sealWithFastKdf(home, 'correct horse battery');
    const env = {
      GOV_HOME: home,
      GOV_VAULT_BACKEND: 'passphrase',
      GOV_VAULT_PASSPHRASE: 'correct horse battery',
    };
    const set = await runGov(['vault', 'set', 'api-token'], { env, input: SECRET + '\n' });
    expect(set.code, set.stderr).toBe(0);
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: allow
credentials:
  - secret: api-token
    hosts: ["127.0.0.1:${bound.port}"]
    inject: [header, body]
    env: API_TOKEN
`,
    );
    run = await startLiveRun(['--policy', policy, '--upstream-ca', pki.caPath], env);
    ca = readFileSync(run.env['NODE_EXTRA_CA_CERTS']!, 'utf8');
    ph = run.env['API_TOKEN']!;
    expect(ph).toMatch(/^gov-ph-api-token-/);
  }, 60_000);

  afterAll(async () => {
    await run?.stop();
    bound?.close();
    other?.close();
  });

  const connectWith = async (auth: string | null): Promise<string> => {
    const s = await connectProxy(run.proxy);
    s.write(
      `CONNECT 127.0.0.1:${bound.port} HTTP/1.1\r\nHost: 127.0.0.1:${bound.port}\r\n` +
        (auth === null ? '' : `Proxy-Authorization: ${auth}\r\n`) +
        '\r\n',
    );
    return readUntilClose(s);
  };

  it('refuses CONNECT without, with a wrong, or with a misplaced token', async () => {
    const token = decodeURIComponent(run.proxy.password);
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    for (const auth of [
      null,
      `Basic ${b64('gov:wrong')}`,
      `Basic ${b64(`${token}:`)}`, // token as the user name
      `Basic ${b64(token)}`, // no colon
      `Bearer ${token}`,
      `Basic ${b64(`gov:${token}x`)}`,
      `Basic ${b64(`gov:${token.slice(0, -1)}`)}`,
    ]) {
      const text = await connectWith(auth);
      expect(statusOf(text), String(auth)).toBe(407);
    }
    // Token in the CONNECT target's userinfo is a bad target, not an authentication.
    const s = await connectProxy(run.proxy);
    s.write(`CONNECT gov:${token}@127.0.0.1:${bound.port} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    expect(statusOf(await readUntilClose(s))).toBe(407);
    // Absolute-form plain HTTP without the token.
    const p = await connectProxy(run.proxy);
    p.write(
      `GET http://127.0.0.1:${other.port}/x HTTP/1.1\r\nHost: 127.0.0.1:${other.port}\r\nConnection: close\r\n\r\n`,
    );
    expect(statusOf(await readUntilClose(p))).toBe(407);
    expect(bound.seen).toHaveLength(0);
    expect(other.seen).toHaveLength(0);
  });

  it('closes a nested CONNECT inside a decrypted tunnel without reaching its target', async () => {
    const t = await tlsThroughProxy(run.proxy, '127.0.0.1', bound.port, ca);
    t.write(
      `CONNECT 127.0.0.1:${other.port} HTTP/1.1\r\nHost: 127.0.0.1:${other.port}\r\nProxy-Authorization: ${proxyAuth(run.proxy)}\r\n\r\n`,
    );
    const text = await readUntilClose(t);
    expect(text).not.toMatch(/^HTTP\/1\.1 200/);
    expect(other.seen).toHaveLength(0);
    expect(bound.seen.filter((r) => r.method === 'CONNECT')).toHaveLength(0);
  });

  it("a CONNECT to gov's own port cannot replay the proxy token or reach another host", async () => {
    const port = Number(run.proxy.port);
    const { socket, status } = await openTunnel(run.proxy, '127.0.0.1', port);
    expect(status).toContain(' 200 ');
    socket.write(
      `GET http://127.0.0.1:${other.port}/loop?t=${ph} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        `Proxy-Authorization: ${proxyAuth(run.proxy)}\r\nConnection: close\r\n\r\n`,
    );
    const text = await readUntilClose(socket);
    expect(statusOf(text)).toBeGreaterThanOrEqual(400);
    expect(other.seen).toHaveLength(0);
  });

  it('survives non-TLS garbage and an h2-only ClientHello inside CONNECT', async () => {
    const { socket } = await openTunnel(run.proxy, '127.0.0.1', bound.port);
    socket.write(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a]));
    await readUntilClose(socket);
    const { socket: raw } = await openTunnel(run.proxy, '127.0.0.1', bound.port);
    const h2 = tlsConnect({ socket: raw, host: '127.0.0.1', ca, ALPNProtocols: ['h2'] });
    const err = await new Promise<Error | null>((resolve) => {
      h2.once('secureConnect', () => resolve(null));
      h2.once('error', resolve);
    });
    expect(err?.message).toMatch(/no application protocol/i);
    h2.destroy();
    // Prior-knowledge h2 inside a plain tunnel is not forwarded either.
    const { socket: pri } = await openTunnel(run.proxy, '127.0.0.1', other.port);
    pri.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    await readUntilClose(pri);
    expect(other.seen).toHaveLength(0);
    // Still serving, and still injecting on the bound host.
    const t = await tlsThroughProxy(run.proxy, '127.0.0.1', bound.port, ca);
    t.write(`GET /alive HTTP/1.1\r\nHost: 127.0.0.1:${bound.port}\r\nConnection: close\r\n\r\n`);
    expect(statusOf(await readUntilClose(t))).toBe(200);
  });

  it('never forwards trailers, and finds placeholders split across chunks or gzip-compressed', async () => {
    const send = async (port: number, head: string, body: Buffer | string): Promise<number> => {
      const t = await tlsThroughProxy(run.proxy, '127.0.0.1', port, ca);
      t.write(`POST /p HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${head}Connection: close\r\n\r\n`);
      t.write(body);
      return statusOf(await readUntilClose(t));
    };
    // Trailer carrying the placeholder, to the bound host and to another.
    const trailer = `4\r\nbody\r\n0\r\nX-Tok: ${ph}\r\n\r\n`;
    const te = 'Transfer-Encoding: chunked\r\nTrailer: X-Tok\r\ncontent-type: text/plain\r\n';
    await send(bound.port, te, trailer);
    await send(other.port, te, trailer);
    // A placeholder split over chunks to another host.
    const a = ph.slice(0, 20);
    const b = ph.slice(20);
    const split = `${a.length.toString(16)}\r\n${a}\r\n${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`;
    expect(await send(other.port, 'Transfer-Encoding: chunked\r\ncontent-type: text/plain\r\n', split)).toBe(
      403,
    );
    // gzip, and gzip inside gzip, to another host.
    const gz = gzipSync(Buffer.from(`{"t":"${ph}"}`));
    const gzgz = gzipSync(gz);
    expect(
      await send(
        other.port,
        `Content-Encoding: gzip\r\nContent-Length: ${gz.length}\r\ncontent-type: application/json\r\n`,
        gz,
      ),
    ).toBe(403);
    expect(
      await send(
        other.port,
        `Content-Encoding: gzip, gzip\r\nContent-Length: ${gzgz.length}\r\ncontent-type: application/json\r\n`,
        gzgz,
      ),
    ).toBe(403);
    // Content-Encoding split over two header lines (gzip, then gzip).
    expect(
      await send(
        other.port,
        `Content-Encoding: gzip\r\nContent-Encoding: gzip\r\nContent-Length: ${gzgz.length}\r\ncontent-type: application/json\r\n`,
        gzgz,
      ),
    ).toBe(403);
    const all = bound.text() + other.text();
    expect(all).not.toContain(ph.slice(-24));
    expect(other.text()).not.toContain(SECRET);
    for (const r of [...bound.seen, ...other.seen]) expect(r.rawTrailers).toEqual([]);
  });
});
