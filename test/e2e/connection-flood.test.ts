import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startLoggingServer, type LoggingServer } from '../helpers/logging-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import {
  connectProxy,
  proxyAuth,
  readUntilClose,
  startLiveRun,
  type LiveRun,
} from '../helpers/raw-proxy-client.js';
import { startServe, type ServeProcess } from '../helpers/gov-serve.js';

/** Read from a keep-alive socket until `pattern` matches what arrived (rejects if it closes first). */
function answer(s: Socket | TLSSocket, pattern: RegExp): Promise<string> {
  let text = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      if (!pattern.test(text)) return;
      s.off('data', onData);
      s.off('close', onClose);
      resolve(text);
    };
    const onClose = () => reject(new Error(`closed before ${pattern}: ${text}`));
    s.on('data', onData);
    s.once('close', onClose);
  });
}

/** The logging upstream's `ok`, as gov relays it (with a length, or chunked). */
const OK = /\r\n\r\n(?:ok|2\r\nok\r\n0\r\n\r\n)$/;

const closed = (s: Socket | TLSSocket): Promise<unknown> =>
  s.destroyed ? Promise.resolve() : once(s, 'close');

describe('gov serve (TLS, bearer) at --max-connections: unauthenticated connections give way', () => {
  let pki: TestPki;
  let upstream: LoggingServer;
  let serve: ServeProcess;
  let full: ServeProcess;
  let token = '';
  const open: Socket[] = [];

  beforeAll(async () => {
    pki = makeTestPki();
    upstream = await startLoggingServer(pki);
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(policy, 'version: 1\ndefault: allow\n');
    const add = await runGov(['serve', 'token', 'add', 'alice'], { env: { GOV_HOME: home } });
    expect(add.code, add.stderr).toBe(0);
    token = add.stdout.trim();
    const args = [
      '--target',
      `${upstream.url}/mcp`,
      '--policy',
      policy,
      '--upstream-ca',
      pki.caPath,
      '--tls-cert',
      join(pki.dir, 'cert.pem'),
      '--tls-key',
      join(pki.dir, 'key.pem'),
      '--auth',
      'bearer',
      '--idle-timeout',
      '60s',
      '--max-connections',
      '3',
    ];
    writeFileSync(join(pki.dir, 'cert.pem'), pki.certPem);
    writeFileSync(join(pki.dir, 'key.pem'), pki.keyPem);
    [serve, full] = await Promise.all([
      startServe(args, { GOV_HOME: home }),
      startServe(args, { GOV_HOME: home }),
    ]);
  }, 60_000);
  afterAll(async () => {
    for (const s of open) s.destroy();
    await Promise.all([serve?.stop(), full?.stop()]);
    await upstream?.close();
  });

  const portOf = (p: ServeProcess) => Number(new URL(p.url).port);
  const tcp = async (p: ServeProcess): Promise<Socket> => {
    const s = netConnect({ host: '127.0.0.1', port: portOf(p) });
    s.on('error', () => undefined);
    open.push(s);
    await once(s, 'connect');
    return s;
  };
  const tls = async (p: ServeProcess): Promise<TLSSocket> => {
    const t = tlsConnect({ host: '127.0.0.1', port: portOf(p), ca: readFileSync(pki.caPath, 'utf8') });
    t.on('error', () => undefined);
    open.push(t);
    await once(t, 'secureConnect');
    return t;
  };
  const get = (p: ServeProcess, path: string, bearer?: string) =>
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${portOf(p)}\r\n${bearer ? `Authorization: Bearer ${bearer}\r\n` : ''}\r\n`;
  const reached = (path: string) => upstream.log.some((r) => r.url === path);

  it('a token holder gets in past idle, token-less, keep-alive and dribbling connections, which are closed oldest first', async () => {
    const idleTcp = await tcp(serve); // never starts TLS
    const idleTls = await tls(serve); // never sends a request
    const noToken = await tls(serve);
    noToken.write(get(serve, '/mcp?no-token'));
    expect(await answer(noToken, /\r\n\r\n[\s\S]*\}/)).toMatch(/^HTTP\/1\.1 401 /);
    const dribbler = await tls(serve);
    dribbler.write('GET /mcp?dribble HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a');

    const alice = await tls(serve);
    alice.write(get(serve, '/mcp?alice-1', token));
    expect(await answer(alice, OK)).toMatch(/^HTTP\/1\.1 200 /);
    expect(reached('/mcp?alice-1')).toBe(true);
    // Room was made by closing the oldest connections that had authenticated nothing.
    await Promise.all([closed(idleTcp), closed(idleTls)]);

    // More token-less connections push out each other, never the authenticated one.
    for (let i = 0; i < 4; i++) await tls(serve);
    await Promise.all([closed(noToken), closed(dribbler)]);
    alice.write(get(serve, '/mcp?alice-2', token));
    expect(await answer(alice, OK)).toMatch(/^HTTP\/1\.1 200 /);
    const bob = await tls(serve);
    bob.write(get(serve, '/mcp?alice-3', token));
    expect(await answer(bob, OK)).toMatch(/^HTTP\/1\.1 200 /);
    expect(reached('/mcp?alice-2') && reached('/mcp?alice-3')).toBe(true);
    expect(reached('/mcp?no-token') || reached('/mcp?dribble')).toBe(false);
  });

  it('when every slot is authenticated, a newcomer is refused with 503 and reaches nothing', async () => {
    for (let i = 0; i < 3; i++) {
      const s = await tls(full);
      s.write(get(full, `/mcp?held-${i}`, token));
      await answer(s, OK);
    }
    const late = await tls(full);
    late.write(get(full, '/mcp?late', token));
    expect(await readUntilClose(late)).toMatch(/^HTTP\/1\.1 503 [\s\S]*--max-connections/);
    expect(reached('/mcp?late')).toBe(false);
  });
});

describe('gov serve: a client dribbling its request headers is cut by the header timeout', () => {
  let upstream: LoggingServer;
  let serve: ServeProcess;

  beforeAll(async () => {
    upstream = await startLoggingServer(null);
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(policy, 'version: 1\ndefault: allow\n');
    serve = await startServe(
      ['--target', `${upstream.url}/mcp`, '--policy', policy, '--auth', 'none', '--idle-timeout', '1s'],
      { GOV_HOME: home },
    );
  }, 30_000);
  afterAll(async () => {
    await serve?.stop();
    await upstream?.close();
  });

  it('closes the connection although a byte arrives well within every idle timeout', async () => {
    const s = netConnect({ host: '127.0.0.1', port: Number(new URL(serve.url).port) });
    await once(s, 'connect');
    s.write(`GET /mcp?dribble HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `);
    const drip = setInterval(() => s.writable && s.write('a'), 100);
    try {
      expect(await readUntilClose(s)).not.toContain(' 200 ');
    } finally {
      clearInterval(drip);
    }
    expect(upstream.log.some((r) => r.url.includes('dribble'))).toBe(false);
  });
});

describe('gov run at --max-connections: connections that never authenticated give way', () => {
  let upstream: LoggingServer;
  let run: LiveRun;

  beforeAll(async () => {
    upstream = await startLoggingServer(null);
    run = await startLiveRun(['--max-connections', '2', '--idle-timeout', '60s'], { GOV_HOME: tempHome() });
  }, 30_000);
  afterAll(async () => {
    await run?.stop();
    await upstream?.close();
  });

  it('an authenticated request gets in past idle and token-less connections', async () => {
    const idle = [await connectProxy(run.proxy), await connectProxy(run.proxy)];
    const noToken = await connectProxy(run.proxy);
    noToken.write(`GET ${upstream.url}/no-token HTTP/1.1\r\nHost: 127.0.0.1:${upstream.port}\r\n\r\n`);
    expect(await answer(noToken, /\r\n\r\n[\s\S]+/)).toMatch(/^HTTP\/1\.1 407 /);

    const agent = await connectProxy(run.proxy);
    agent.write(
      `GET ${upstream.url}/agent HTTP/1.1\r\nHost: 127.0.0.1:${upstream.port}\r\nProxy-Authorization: ${proxyAuth(run.proxy)}\r\n\r\n`,
    );
    expect(await answer(agent, OK)).toMatch(/^HTTP\/1\.1 200 /);
    await Promise.all(idle.map(closed));
    expect(upstream.log.map((r) => r.url)).toEqual(['/agent']);
    for (const s of [...idle, noToken, agent]) s.destroy();
  });
});
