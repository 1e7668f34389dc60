import { describe, expect, it } from 'vitest';
import { hostGlob, nameGlob, normalizeServerUrl, serverUrlGlob, uriGlob } from '../../src/policy/glob.js';
import { policy } from './helpers.js';

describe('tool and method globs', () => {
  it('* matches any run, ? one character, case-sensitive, anchored', () => {
    const g = nameGlob('get_*');
    expect(g.test('get_')).toBe(true);
    expect(g.test('get_a/b.c')).toBe(true);
    expect(g.test('Get_a')).toBe(false);
    expect(g.test('xget_a')).toBe(false);
    expect(nameGlob('a?c').test('abc')).toBe(true);
    expect(nameGlob('a?c').test('ac')).toBe(false);
    expect(nameGlob('a?c').test('abbc')).toBe(false);
  });

  it('escapes regex metacharacters', () => {
    const g = nameGlob('a.b+(c)[d]{1}|$^\\*');
    expect(g.test('a.b+(c)[d]{1}|$^\\xyz')).toBe(true);
    expect(g.test('aXb+(c)[d]{1}|$^\\xyz')).toBe(false);
    expect(nameGlob('a.b').test('axb')).toBe(false);
  });

  it('literals compare exactly', () => {
    expect(nameGlob('refund').literal).toBe('refund');
    expect(nameGlob('refund').test('refund')).toBe(true);
    expect(nameGlob('refund').test('refunds')).toBe(false);
  });

  it('handles unicode names', () => {
    expect(nameGlob('résumé_*').test('résumé_ü')).toBe(true);
    expect(nameGlob('?').test('é')).toBe(true);
  });
});

describe('URI globs', () => {
  it('** crosses /, * stays within a segment', () => {
    expect(uriGlob('file:///**/.env').test('file:///a/b/c/.env')).toBe(true);
    expect(uriGlob('file:///**/.env').test('file:///.env')).toBe(true);
    expect(uriGlob('file:///**/.env').test('file:///a/.env.local')).toBe(false);
    expect(uriGlob('file:///tmp/*').test('file:///tmp/x')).toBe(true);
    expect(uriGlob('file:///tmp/*').test('file:///tmp/x/y')).toBe(false);
    expect(uriGlob('file:///tmp/**').test('file:///tmp/x/y')).toBe(true);
    expect(uriGlob('db://*/table?').test('db://main/table1')).toBe(true);
    expect(uriGlob('db://*/table?').test('db://main/table/')).toBe(false);
  });

  it('escapes metacharacters', () => {
    expect(uriGlob('https://x.test/a+b(1).txt').test('https://x.test/a+b(1).txt')).toBe(true);
    expect(uriGlob('https://x.test/*.txt').test('https://xAtest/a.txt')).toBe(false);
  });
});

describe('server URL globs', () => {
  it('normalises URLs: lower-case scheme and host, no default port, no query', () => {
    expect(normalizeServerUrl('HTTPS://Api.Example.com:443/MCP?x=1#f')).toBe('https://api.example.com/MCP');
    expect(normalizeServerUrl('http://u:p@127.0.0.1:8080/mcp')).toBe('http://127.0.0.1:8080/mcp');
    expect(normalizeServerUrl('http://[::1]:3000/')).toBe('http://[::1]:3000/');
    expect(normalizeServerUrl('nope')).toBeNull();
    // One spelling per host a connection reaches: no DNS-root dot, IPv4-mapped IPv6 as IPv4.
    expect(normalizeServerUrl('https://Pay.Example.com./mcp')).toBe('https://pay.example.com/mcp');
    expect(normalizeServerUrl('https://pay.example.com.:8443/mcp')).toBe('https://pay.example.com:8443/mcp');
    expect(normalizeServerUrl('http://[::ffff:127.0.0.1]:3000/mcp')).toBe('http://127.0.0.1:3000/mcp');
    expect(normalizeServerUrl('http://[::FFFF:7f00:1]/mcp')).toBe('http://127.0.0.1/mcp');
    expect(normalizeServerUrl('http://2130706433/mcp')).toBe('http://127.0.0.1/mcp');
    expect(serverUrlGlob('https://pay.example.com./*').test('https://pay.example.com/mcp')).toBe(true);
  });

  it('* crosses / in the path', () => {
    const g = serverUrlGlob('https://api.example.com/mcp/*');
    expect(g.test('https://api.example.com/mcp/')).toBe(true);
    expect(g.test('https://api.example.com/mcp/a/b')).toBe(true);
    expect(g.test('https://api.example.com/mcp')).toBe(true);
    expect(g.test('https://api.example.com/mcpx')).toBe(false);
    expect(g.test('http://api.example.com/mcp/')).toBe(false);
  });

  it('never lets * cross the authority', () => {
    const g = serverUrlGlob('https://*.example.com/*');
    expect(g.test('https://a.example.com/mcp')).toBe(true);
    expect(g.test('https://evil.test/x.example.com/mcp')).toBe(false);
    expect(g.test('https://a.example.com.evil.test/mcp')).toBe(false);
  });

  it('a pattern without a path covers the origin; explicit default ports are dropped', () => {
    expect(serverUrlGlob('https://mcp.example.com').test('https://mcp.example.com/any/path')).toBe(true);
    expect(serverUrlGlob('https://mcp.example.com:443/mcp').test('https://mcp.example.com/mcp')).toBe(true);
    expect(serverUrlGlob('http://localhost:8080/mcp').test('http://localhost:8080/mcp')).toBe(true);
    expect(serverUrlGlob('http://localhost:8080/mcp').test('http://localhost/mcp')).toBe(false);
  });

  it('a path a server routes to a registered one (case, trailing slash) is that server', () => {
    // Express matches /MCP and /mcp/ to a /mcp route; Starlette redirects the slash. With
    // `unknown_servers: allow`, a path gov did not take for the server would escape its rules.
    const g = serverUrlGlob('https://pay.example/mcp');
    for (const u of ['https://pay.example/MCP', 'https://pay.example/mcp/', 'https://pay.example/Mcp/'])
      expect(g.test(u), u).toBe(true);
    expect(g.test('https://pay.example/mcp2')).toBe(false);
    expect(g.test('https://pay.example/mcp/x')).toBe(false);
    expect(serverUrlGlob('https://pay.example/mcp/').test('https://pay.example/mcp')).toBe(true);
    expect(serverUrlGlob('https://pay.example/MCP/*').test('https://pay.example/mcp/tools')).toBe(true);
    expect(serverUrlGlob('https://pay.example/a/*/mcp').test('https://pay.example/a/B/MCP/')).toBe(true);
  });

  it('the registry picks the first listed server that matches', () => {
    const p = policy(
      'version: 1\nservers:\n  one: https://x.example/a/*\n  two: [https://x.example/*, https://y.example/*]\n',
    );
    expect(p.resolveServer('https://x.example/a/b')).toBe('one');
    expect(p.resolveServer('https://x.example/b')).toBe('two');
    expect(p.resolveServer('https://y.example/')).toBe('two');
  });
});

describe('host globs (credentials, passthrough)', () => {
  it('*.example.com matches subdomains, not the apex or look-alikes', () => {
    const g = hostGlob('*.example.com');
    expect(g.test('api.example.com', 443)).toBe(true);
    expect(g.test('a.b.example.com', 8443)).toBe(true);
    expect(g.test('API.Example.COM.', 443)).toBe(true);
    expect(g.test('example.com', 443)).toBe(false);
    expect(g.test('evilexample.com', 443)).toBe(false);
    expect(g.test('example.com.evil.test', 443)).toBe(false);
  });

  it('host:port restricts the port; otherwise any port', () => {
    expect(hostGlob('api.example.com:8443').test('api.example.com', 8443)).toBe(true);
    expect(hostGlob('api.example.com:8443').test('api.example.com', 443)).toBe(false);
    expect(hostGlob('api.example.com').test('api.example.com', 1234)).toBe(true);
  });

  it('handles IPv6 literals', () => {
    expect(hostGlob('[::1]:8080').test('[::1]', 8080)).toBe(true);
    expect(hostGlob('[::1]:8080').test('::1', 8081)).toBe(false);
    expect(hostGlob('::1').test('[::1]', 5)).toBe(true);
    // One spelling per address: compressed, and IPv4-mapped as the IPv4 address it reaches.
    expect(hostGlob('0:0:0:0:0:0:0:1').test('::1', 5)).toBe(true);
    expect(hostGlob('127.0.0.1').test('::ffff:127.0.0.1', 443)).toBe(true);
    expect(hostGlob('127.0.0.1').test('[::FFFF:7f00:1]', 443)).toBe(true);
    expect(hostGlob('127.0.0.1').test('::ffff:7f00:2', 443)).toBe(false);
  });

  it('policy.hostMatches uses the default port when none is given, and isPassthrough', () => {
    const p = policy('version: 1\npassthrough: ["*.internal", "bank.example:443"]\n');
    expect(p.hostMatches(['a.example:443'], 'a.example', 0, 443)).toBe(true);
    expect(p.hostMatches(['a.example:443'], 'a.example', 0, 80)).toBe(false);
    expect(p.hostMatches(['a.example:443', 'b.example'], 'b.example', 9, 443)).toBe(true);
    expect(p.isPassthrough('db.internal', 5432)).toBe(true);
    expect(p.isPassthrough('bank.example', 443)).toBe(true);
    expect(p.isPassthrough('bank.example', 8443)).toBe(false);
    expect(policy('version: 1\n').isPassthrough('db.internal', 443)).toBe(false);
  });

  it('isWebSocketHost matches the websocket: globs like passthrough, and nothing by default', () => {
    const p = policy('version: 1\nwebsocket: ["*.ws.example", "chat.example:443"]\n');
    expect(p.isWebSocketHost('a.ws.example', 8080)).toBe(true);
    expect(p.isWebSocketHost('chat.example', 443)).toBe(true);
    expect(p.isWebSocketHost('chat.example', 8443)).toBe(false);
    expect(p.isWebSocketHost('ws.other', 443)).toBe(false);
    expect(policy('version: 1\n').isWebSocketHost('a.ws.example', 443)).toBe(false);
  });
});
