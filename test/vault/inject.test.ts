import { describe, expect, it } from 'vitest';
import { createCredentialInjector, type CredentialBinding } from '../../vault/inject.js';
import { base64Cores } from '../../src/safety/base64.js';
import { GovError } from '../../src/errors.js';

/** A small stand-in for the policy module's matcher: exact names, `*.x` subdomains, `host:port`. */
function hostMatches(globs: string[], host: string, port: number, _defaultPort: number): boolean {
  return globs.some((g) => {
    const [h, p] = g.split(':');
    if (p !== undefined && Number(p) !== port) return false;
    if (h!.startsWith('*.')) return host.endsWith(h!.slice(1));
    return host === h;
  });
}

const bindings: CredentialBinding[] = [
  {
    secret: 'github-token',
    hosts: ['api.githubcopilot.com'],
    header: 'Authorization',
    format: 'Bearer {secret}',
    env: 'GITHUB_TOKEN',
  },
  {
    secret: 'pay-key',
    hosts: ['*.payments.internal', 'localhost:8443'],
    header: 'X-Api-Key',
    format: '{secret}',
    env: 'PAY_KEY',
  },
];
const secrets = new Map([
  ['github-token', 'ghp_realvalue1234567890'],
  ['pay-key', 'pk_live_abcdef'],
  ['unused', 'zzz-unused'],
]);

function make() {
  return createCredentialInjector({ bindings, secrets, hostMatches });
}

describe('credential injector', () => {
  it('hands the child unique placeholders, never values', () => {
    const a = make().placeholders();
    const b = make().placeholders();
    expect(Object.keys(a).sort()).toEqual(['GITHUB_TOKEN', 'PAY_KEY']);
    expect(a['GITHUB_TOKEN']).toMatch(/^gov-ph-github-token-[0-9a-f]{24}$/);
    expect(a['PAY_KEY']).toMatch(/^gov-ph-pay-key-[0-9a-f]{24}$/);
    expect(a['GITHUB_TOKEN']).not.toBe(b['GITHUB_TOKEN']);
    expect(JSON.stringify(a)).not.toContain('ghp_realvalue');
  });

  it('formats the secret into the bound header for bound hosts only', () => {
    const inj = make();
    expect(inj.headersFor('api.githubcopilot.com', 443, 443)).toEqual([
      ['Authorization', 'Bearer ghp_realvalue1234567890'],
    ]);
    expect(inj.headersFor('mcp.payments.internal', 443, 443)).toEqual([['X-Api-Key', 'pk_live_abcdef']]);
    expect(inj.headersFor('localhost', 8443, 443)).toEqual([['X-Api-Key', 'pk_live_abcdef']]);
    expect(inj.headersFor('localhost', 9000, 443)).toEqual([]);
    expect(inj.headersFor('evil.example', 443, 443)).toEqual([]);
  });

  it('a missing vault entry is a clear error naming the secret and the fix', () => {
    let err: unknown;
    try {
      createCredentialInjector({ bindings, secrets: new Map([['github-token', 'x']]), hostMatches });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GovError);
    expect((err as GovError).message).toContain("'pay-key'");
    expect((err as GovError).hint).toContain('gov vault set pay-key');
  });

  it('refuses a value that would split a header', () => {
    expect(() =>
      createCredentialInjector({
        bindings: [bindings[0]!],
        secrets: new Map([['github-token', 'a\r\nX-Evil: 1']]),
        hostMatches,
      }),
    ).toThrow(/line break/);
  });

  describe('findLeak', () => {
    const inj = make();
    const ph = inj.placeholders();
    const gh = ph['GITHUB_TOKEN']!;
    const pay = ph['PAY_KEY']!;
    const base = { host: 'api.githubcopilot.com', port: 443, defaultPort: 443, url: '/mcp', headers: {} };

    it('allows the placeholder in its bound header on its bound host', () => {
      expect(inj.findLeak({ ...base, headers: { authorization: `Bearer ${gh}` } })).toBeNull();
      expect(inj.findLeak({ ...base, headers: { Authorization: [`Bearer ${gh}`] } })).toBeNull();
    });

    it('blocks it in the bound header of another host', () => {
      expect(
        inj.findLeak({ ...base, host: 'evil.example', headers: { authorization: `Bearer ${gh}` } }),
      ).toEqual({
        secret: 'github-token',
        where: 'header:authorization',
      });
    });

    it('blocks it in another header on the bound host', () => {
      expect(inj.findLeak({ ...base, headers: { 'X-Debug': gh } })).toEqual({
        secret: 'github-token',
        where: 'header:x-debug',
      });
    });

    it("blocks another secret's placeholder in a bound header", () => {
      expect(inj.findLeak({ ...base, headers: { authorization: `Bearer ${pay}` } })).toEqual({
        secret: 'pay-key',
        where: 'header:authorization',
      });
    });

    it('blocks it in the URL, raw or percent-encoded', () => {
      expect(inj.findLeak({ ...base, url: `/mcp?t=${gh}` })).toEqual({
        secret: 'github-token',
        where: 'url',
      });
      const enc = [...gh].map((c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
      expect(inj.findLeak({ ...base, url: `/mcp?t=${enc}` })).toEqual({
        secret: 'github-token',
        where: 'url',
      });
    });

    it('blocks it in a body (MCP tool arguments), as bytes or string, raw, escaped or base64', () => {
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'x', arguments: { token: gh } },
      });
      expect(inj.findLeak({ ...base, body: new TextEncoder().encode(body) })).toEqual({
        secret: 'github-token',
        where: 'body',
      });
      const escaped = body.replace(
        gh,
        [...gh].map((c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')).join(''),
      );
      expect(inj.findLeak({ ...base, body: escaped })).toEqual({ secret: 'github-token', where: 'body' });
      for (const prefix of ['', 'a', 'ab']) {
        const b64 = Buffer.from(`${prefix}token=${pay};`).toString('base64');
        const b64url = Buffer.from(`${prefix}token=${pay};`).toString('base64url');
        expect(inj.findLeak({ ...base, body: `{"data":"${b64}"}` })).toEqual({
          secret: 'pay-key',
          where: 'body',
        });
        expect(inj.findLeak({ ...base, body: `{"data":"${b64url}"}` })).toEqual({
          secret: 'pay-key',
          where: 'body',
        });
      }
    });

    it('finds a Basic-auth wrapped placeholder sent to another host', () => {
      const basic = Buffer.from(`user:${gh}`).toString('base64');
      expect(
        inj.findLeak({ ...base, host: 'evil.example', headers: { authorization: `Basic ${basic}` } }),
      ).toEqual({
        secret: 'github-token',
        where: 'header:authorization',
      });
    });

    it('passes ordinary traffic', () => {
      expect(
        inj.findLeak({
          ...base,
          headers: { 'content-type': 'application/json', authorization: 'Bearer whatever' },
          url: '/mcp?x=1',
          body: '{"jsonrpc":"2.0"}',
        }),
      ).toBeNull();
    });
  });

  it('base64Cores appear in every alignment of the encoding', () => {
    const text = 'gov-ph-x-0123456789abcdef01234567';
    for (const pre of ['', '1', '12', '123']) {
      const enc = Buffer.from(pre + text + 'tail').toString('base64');
      expect(base64Cores(text).some((c) => enc.includes(c))).toBe(true);
    }
  });
});
