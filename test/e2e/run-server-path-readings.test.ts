/**
 * Under gov run, a server's identity for policy is its URL, path included (`servers:`). One
 * host may serve several MCP servers under different paths, each with its own rules. A path
 * that gov reads as one server's but the host normalises to another's (Tomcat, Jetty and
 * Spring drop `;params` before resolving dot segments: `/github/..;/admin/mcp` is
 * `/admin/mcp`) would be governed by the wrong server's rules. The host here logs the raw
 * request paths; what it received is the evidence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { connect } from 'node:net';
import { tempHome } from '../helpers/gov-process.js';
import { proxyAuth, readUntilClose, startLiveRun, type LiveRun } from '../helpers/raw-proxy-client.js';
import { startLoggingServer, type LoggingServer } from '../helpers/logging-server.js';

/** Where a Tomcat-like server routes `raw`: `;params` off, decoded, dot segments resolved. */
const tomcatPath = (raw: string): string =>
  posix.normalize(decodeURIComponent(raw.split('?')[0]!.replace(/;[^/]*/g, '')));

describe('gov run: a path spelled under one server never reaches another on the same host', () => {
  let host: LoggingServer;
  let run: LiveRun;

  beforeAll(async () => {
    host = await startLoggingServer(null);
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
  - id: github-tools
    server: github
    tool: "*"
    decision: allow
`,
    );
    run = await startLiveRun(['--policy', policy], { ...process.env, GOV_HOME: home });
  }, 60_000);
  afterAll(async () => {
    await run?.stop();
    await host?.close();
  });

  /** A tools/call sent through gov run's proxy as a plain-HTTP absolute-form request. */
  const call = async (path: string, extraHeaders = ''): Promise<string> => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'drop_all_users', arguments: {} },
    });
    const s = connect(Number(run.proxy.port), run.proxy.hostname);
    s.setTimeout(15_000, () => s.destroy());
    s.write(
      `POST http://127.0.0.1:${host.port}${path} HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\n` +
        `Proxy-Authorization: ${proxyAuth(run.proxy)}\r\nContent-Type: application/json\r\n` +
        `Accept: application/json, text/event-stream\r\nContent-Length: ${body.length}\r\n` +
        `Connection: close\r\n${extraHeaders}\r\n${body}`,
    );
    return (await readUntilClose(s)).split('\r\n')[0]!;
  };

  it("a call the admin server's rules deny does not reach it through github's path", async () => {
    const tries = ['/github/..;/admin/mcp', '/github/%2e%2e;/admin/mcp', '/github/..;x/admin/mcp'];
    const answers: Record<string, string> = {};
    for (const t of tries) answers[t] = await call(t);
    const reachedAdmin = host.log.filter((r) => tomcatPath(r.url).startsWith('/admin/')).map((r) => r.url);
    expect(reachedAdmin, JSON.stringify(answers, null, 1)).toEqual([]);
    for (const t of tries) expect(answers[t], t).toMatch(/^HTTP\/1\.1 400 /);
    // github's own path still works.
    expect(await call('/github/mcp')).not.toMatch(/^HTTP\/1\.1 400 /);
    expect(host.log.map((r) => r.url)).toEqual(['/github/mcp']);
  }, 60_000);

  it('a header that overrides the path (X-Original-URL and kin) does not reach the host', async () => {
    host.log.length = 0;
    await call('/github/mcp', 'X-Original-URL: /admin/mcp\r\nX-Rewrite-URL: /admin/mcp\r\n');
    expect(host.log.map((r) => r.url)).toEqual(['/github/mcp']);
    const names = host.log[0]!.rawHeaders.filter((_v, i) => i % 2 === 0).map((h) => h.toLowerCase());
    expect(names).not.toContain('x-original-url');
    expect(names).not.toContain('x-rewrite-url');
  }, 60_000);
});
