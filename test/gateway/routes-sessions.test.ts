import { describe, expect, it } from 'vitest';
import {
  clientPathFor,
  parseRouteFlag,
  resolveRoute,
  targetRoute,
  type Route,
} from '../../src/gateway/routes.js';
import { requestPathRefusal } from '../../src/transport/http/request-path.js';
import { SessionTable } from '../../src/gateway/sessions.js';
import { originAllowed, hostAllowed } from '../../src/gateway/request-checks.js';

const r = (x: Route | string): Route => {
  if (typeof x === 'string') throw new Error(x);
  return x;
};

describe('gateway routes', () => {
  it('serves a --target at its own path and maps --route prefixes onto the server path', () => {
    const routes = [
      r(targetRoute('https://h.example/mcp')),
      r(parseRouteFlag('/pay=https://p.example:8443/v1/mcp')),
    ];
    expect(resolveRoute(routes, '/mcp?x=1')).toMatchObject({
      path: '/mcp?x=1',
      route: { target: { host: 'h.example', port: 443 } },
    });
    expect(resolveRoute(routes, '/pay')).toMatchObject({
      path: '/v1/mcp',
      route: { target: { port: 8443 } },
    });
    expect(resolveRoute(routes, '/pay/sub')?.path).toBe('/v1/mcp/sub');
    expect(resolveRoute(routes, '/payments')).toBeNull();
    expect(resolveRoute(routes, '/other')).toBeNull();
  });
  it('rejects URLs with credentials or queries', () => {
    expect(typeof parseRouteFlag('/a=https://u:p@h/mcp')).toBe('string');
    expect(typeof parseRouteFlag('/a=https://h/mcp?x')).toBe('string');
    expect(typeof parseRouteFlag('nope')).toBe('string');
  });
});

describe('gateway sessions', () => {
  it('expires by idle time and ttl, and binds a session to its principal', () => {
    let now = 0;
    const t = new SessionTable({ ttlMs: 100, idleMs: 30, max: 10 }, () => now);
    t.open('s1', 'token:a');
    expect(t.check('s1', 'token:b')).toBe('unknown');
    now = 20;
    expect(t.check('s1', 'token:a')).toBe('ok');
    now = 60;
    expect(t.check('s1', 'token:a')).toBe('expired');
    t.open('s2', 'token:a'); // opened at 60: kept alive by requests, but at most 100 ms old
    for (now = 80; now <= 160; now += 20) expect(t.check('s2', 'token:a')).toBe('ok');
    now = 180;
    expect(t.check('s2', 'token:a')).toBe('expired');
    expect(t.check('missing', undefined)).toBe('unknown');
  });
});

describe('gateway request checks', () => {
  it('allows loopback and listed origins and hosts only', () => {
    expect(originAllowed(undefined, [])).toBe(true);
    expect(originAllowed('http://localhost:5173', [])).toBe(true);
    expect(originAllowed('https://app.example', ['https://app.example'])).toBe(true);
    expect(originAllowed('https://evil.example', ['https://app.example'])).toBe(false);
    expect(hostAllowed('127.0.0.1:8787', { hosts: [] }, 8787)).toBe(true);
    expect(hostAllowed('gw.example', { hosts: ['gw.example'] }, 443)).toBe(true);
    expect(hostAllowed('rebind.example', { hosts: ['gw.example'] }, 443)).toBe(false);
    expect(hostAllowed(undefined, { hosts: [] }, 443)).toBe(false);
  });
});

describe('a URL of the target as its route names it (a 2024-11-05 endpoint)', () => {
  it('the prefix replaces the base path; other origins and paths outside the base have none', () => {
    const gh = r(parseRouteFlag('/github=http://up.example:8080/mcp'));
    expect(clientPathFor(gh, 'http://up.example:8080/mcp/messages?sessionId=a')).toBe(
      '/github/messages?sessionId=a',
    );
    expect(clientPathFor(gh, 'http://UP.example:8080/mcp')).toBe('/github');
    expect(clientPathFor(gh, 'http://up.example:8080/mcpx/messages')).toBeNull();
    expect(clientPathFor(gh, 'http://up.example:8080/admin/messages')).toBeNull();
    expect(clientPathFor(gh, 'http://up.example:8081/mcp/messages')).toBeNull();
    expect(clientPathFor(gh, 'https://up.example:8080/mcp/messages')).toBeNull();
    const root = r(parseRouteFlag('/=http://up.example/'));
    expect(clientPathFor(root, 'http://up.example/messages?s=1')).toBe('/messages?s=1');
    const under = r(parseRouteFlag('/x=http://up.example/'));
    expect(clientPathFor(under, 'http://up.example/')).toBe('/x/');
  });
});

describe('paths that leave their route are refused, not forwarded', () => {
  it('dot segments however spelled, encoded separators, double and non-UTF-8 encodings', () => {
    for (const p of [
      '/mcp/../admin',
      '/mcp/%2e%2e/admin',
      '/mcp/.%2E/x',
      '/mcp/./x',
      '/mcp/...',
      '/mcp/..%2fadmin',
      '/mcp\\..\\x',
      '/mcp%5c..',
      '/mcp/..;/admin',
      '/mcp/.;x/..;/x',
      '/mcp/%2e%2e;/x',
      '/mcp/..%3b/x',
      '/mcp/..%20/x',
      '/mcp/%252e%252e/x',
      '/mcp/%c0%ae%c0%ae/x',
      '/mcp/%EF%BC%8E%EF%BC%8E/x',
      '/mcp/%EF%BC%8Fx',
      '/mcp/%u002e%u002e/x',
      '/mcp/x%00',
      '/mcp/x%3f/y',
      '/mcp/x%23',
      '/mcp/..#/x',
      '/mcp/x#frag',
      '/mcp//x',
      '//mcp',
      'http://other/mcp',
      '*',
    ])
      expect(requestPathRefusal(p), p).not.toBeNull();
    for (const p of [
      '/mcp',
      '/mcp/',
      '/',
      '/mcp/tools/..x',
      '/mcp/a.b',
      '/mcp/a;jsessionid=1/b',
      '/mcp/;x/b',
      '/mcp/%7Euser/caf%C3%A9',
      '/mcp/100%25',
      '/mcp?p=../..%2f%252e',
    ])
      expect(requestPathRefusal(p), p).toBeNull();
  });
});
