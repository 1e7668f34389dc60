import { describe, expect, it } from 'vitest';
import { checkProxyAuth, parseAuthority } from '../../src/proxy/proxy-auth.js';

const basic = (s: string) => 'Basic ' + Buffer.from(s).toString('base64');

describe('proxy authentication and authorities', () => {
  it('accepts only the run token', () => {
    expect(checkProxyAuth(basic('gov:tok123'), 'tok123')).toBe(true);
    expect(checkProxyAuth(basic('gov:tok124'), 'tok123')).toBe(false);
    expect(checkProxyAuth(basic('gov:'), 'tok123')).toBe(false);
    expect(checkProxyAuth(basic('tok123'), 'tok123')).toBe(false);
    expect(checkProxyAuth('Bearer tok123', 'tok123')).toBe(false);
    expect(checkProxyAuth(undefined, 'tok123')).toBe(false);
  });

  it('parses host:port, [v6]:port and bare hosts', () => {
    expect(parseAuthority('Example.com:8443', 443)).toEqual({ host: 'example.com', port: 8443 });
    expect(parseAuthority('[::1]:9000', 443)).toEqual({ host: '::1', port: 9000 });
    expect(parseAuthority('[::1]', 443)).toEqual({ host: '::1', port: 443 });
    expect(parseAuthority('host', 80)).toEqual({ host: 'host', port: 80 });
    for (const bad of ['a:b:c', 'host:0', 'host:99999', '[::1', 'a b:1', 'x@y:1', ''])
      expect(parseAuthority(bad, 443)).toBeNull();
  });
});
