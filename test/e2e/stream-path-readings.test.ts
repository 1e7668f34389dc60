/**
 * A server's identity (policy, pins) is its URL path. MCP traffic is not only POSTed calls:
 * a GET opens the server's event stream (its requests to the client, notifications, answers)
 * and a DELETE ends a session. One spelled under github's path that the host normalises into
 * admin's (Tomcat, Jetty and Spring drop `;params` before resolving dot segments:
 * `/github/..;/admin/mcp` is `/admin/mcp`) would carry admin's stream under github's rules.
 * The host logs every raw request; what it received is the evidence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { connect, type AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { tempHome } from '../helpers/gov-process.js';
import { proxyAuth, readUntilClose, startLiveRun, type LiveRun } from '../helpers/raw-proxy-client.js';
import { startServe, type ServeProcess } from '../helpers/gov-serve.js';

/** Where a Tomcat-like server routes `raw`: `;params` off, decoded, dot segments resolved. */
const tomcatPath = (raw: string): string =>
  posix.normalize(decodeURIComponent(raw.split('?')[0]!.replace(/;[^/]*/g, '')));

const SAMPLING = JSON.stringify({
  jsonrpc: '2.0',
  id: 'from-admin',
  method: 'sampling/createMessage',
  params: { messages: [{ role: 'user', content: { type: 'text', text: 'admin asks' } }], maxTokens: 9 },
});

/** A host with MCP servers under /github and /admin: its event streams carry a sampling request. */
async function startHost(): Promise<{
  server: Server;
  port: number;
  log: { method: string; url: string }[];
}> {
  const log: { method: string; url: string }[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      log.push({ method: req.method ?? '', url: req.url ?? '' });
      if (req.method === 'GET' && tomcatPath(req.url ?? '').endsWith('/mcp')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`data: ${SAMPLING}\n\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, log };
}

const ESCAPES = ['/github/..;/admin/mcp', '/github/%2e%2e;/admin/mcp', '/github//admin/mcp'];

describe('gov run: a GET stream or DELETE spelled under one server never reaches another', () => {
  let host: Awaited<ReturnType<typeof startHost>>;
  let run: LiveRun;

  beforeAll(async () => {
    host = await startHost();
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
servers:
  github: "http://127.0.0.1:${host.port}/github/*"
  admin: "http://127.0.0.1:${host.port}/admin/*"
unknown_servers: deny
default: deny
rules:
  - id: github-all
    server: github
    method: "*"
    decision: allow
`,
    );
    run = await startLiveRun(['--policy', policy], { ...process.env, GOV_HOME: home });
  }, 60_000);
  afterAll(async () => {
    await run?.stop();
    host?.server.closeAllConnections();
    host?.server.close();
  });

  /** A body-less request through gov run's proxy; resolves with all it answered. */
  const send = async (method: string, path: string, headers: string): Promise<string> => {
    const s = connect(Number(run.proxy.port), run.proxy.hostname);
    s.setTimeout(15_000, () => s.destroy());
    s.write(
      `${method} http://127.0.0.1:${host.port}${path} HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\n` +
        `Proxy-Authorization: ${proxyAuth(run.proxy)}\r\nConnection: close\r\n${headers}\r\n`,
    );
    return readUntilClose(s);
  };
  const reachedAdmin = () => host.log.filter((r) => tomcatPath(r.url).startsWith('/admin/'));

  it('a GET for an event stream, or one in a session, is refused before the host', async () => {
    host.log.length = 0;
    const answers: Record<string, string> = {};
    for (const p of ESCAPES) {
      answers[`sse ${p}`] = await send('GET', p, 'Accept: text/event-stream\r\n');
      answers[`session ${p}`] = await send('GET', p, 'Mcp-Session-Id: 1\r\nAccept: */*\r\n');
    }
    const statuses = Object.fromEntries(Object.entries(answers).map(([k, v]) => [k, v.split('\r\n')[0]]));
    expect(reachedAdmin(), JSON.stringify(statuses, null, 1)).toEqual([]);
    for (const [k, v] of Object.entries(statuses)) expect(v, k).toMatch(/^HTTP\/1\.1 400 /);
    // github's own stream still opens.
    expect(await send('GET', '/github/mcp', 'Accept: text/event-stream\r\n')).toContain(
      'sampling/createMessage',
    );
  }, 60_000);

  it('a DELETE ending a session is refused before the host', async () => {
    host.log.length = 0;
    for (const p of ESCAPES)
      expect((await send('DELETE', p, 'Mcp-Session-Id: 1\r\n')).split('\r\n')[0], p).toMatch(/ 400 /);
    expect(reachedAdmin()).toEqual([]);
  }, 60_000);

  it('an event stream that answers a GET on such a path is not relayed', async () => {
    host.log.length = 0;
    const answer = await send('GET', '/github/..;/admin/mcp', 'Accept: */*\r\n');
    expect(answer).not.toContain('sampling/createMessage');
    expect(answer.split('\r\n')[0]).toMatch(/^HTTP\/1\.1 502 /);
  }, 60_000);

  it('REST traffic (no MCP stream or session) passes as it is', async () => {
    host.log.length = 0;
    const answer = await send('GET', '/github/files/a%2Fb', 'Accept: */*\r\n');
    expect(answer.split('\r\n')[0]).toMatch(/^HTTP\/1\.1 200 /);
    expect(host.log).toEqual([{ method: 'GET', url: '/github/files/a%2Fb' }]);
  }, 60_000);
});

describe('gov serve: a GET stream or DELETE never leaves its route', () => {
  let host: Awaited<ReturnType<typeof startHost>>;
  let gov: ServeProcess;

  beforeAll(async () => {
    host = await startHost();
    gov = await startServe(['--route', `/github=http://127.0.0.1:${host.port}/github/mcp`], {
      ...process.env,
      GOV_HOME: tempHome(),
    });
  }, 60_000);
  afterAll(async () => {
    await gov?.stop();
    host?.server.closeAllConnections();
    host?.server.close();
  });

  const send = async (method: string, path: string, headers: string): Promise<string> => {
    const port = Number(new URL(gov.url).port);
    const s = connect(port, '127.0.0.1');
    s.setTimeout(15_000, () => s.destroy());
    s.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n${headers}\r\n`);
    return readUntilClose(s);
  };

  it('GET (stream) and DELETE (session end) on an escaping path are refused', async () => {
    const tries = ['/github/..;/..;/admin/mcp', '/github/%2e%2e;/%2e%2e;/admin/mcp', '/github//x'];
    for (const p of tries) {
      expect((await send('GET', p, 'Accept: text/event-stream\r\n')).split('\r\n')[0], p).toMatch(/ 400 /);
      expect((await send('DELETE', p, 'Mcp-Session-Id: 1\r\n')).split('\r\n')[0], p).toMatch(/ 400 /);
    }
    expect(host.log).toEqual([]);
  }, 60_000);
});
