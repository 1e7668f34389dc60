import { describe, expect, it } from 'vitest';
import { createCredentialInjector, type CredentialBinding } from '../../vault/inject.js';
import type { RequestTarget } from '../../vault/inject.js';
import { policy } from '../policy/helpers.js';
import { GovError } from '../../src/errors.js';

/** Hosts as the policy module compiles them: every entry has its port written out. */
const compiled = policy(`version: 1
credentials:
  - secret: github-token
    hosts: [api.githubcopilot.com]
    env: GITHUB_TOKEN
  - secret: pay-key
    hosts: ["*.payments.internal", "localhost:8443"]
    header: X-Api-Key
    format: "{secret}"
    env: PAY_KEY
  - secret: body-key
    hosts: ["127.0.0.1:8080"]
    scheme: http
    inject: body
    env: BODY_KEY
`);
const bindings: CredentialBinding[] = compiled.credentials;
const hostMatches = compiled.hostMatches;
const secrets = new Map([
  ['github-token', 'ghp_realvalue1234567890'],
  ['pay-key', 'pk_live_abcdef'],
  ['body-key', 'bk"quoted\\value'],
  ['unused', 'zzz-unused'],
]);

function make() {
  return createCredentialInjector({ bindings, secrets, hostMatches });
}

const https = (host: string, port = 443): RequestTarget => ({ scheme: 'https', host, port });
const http = (host: string, port = 80): RequestTarget => ({ scheme: 'http', host, port });
function raw(h: Record<string, string | string[]>): string[] {
  return Object.entries(h).flatMap(([k, v]) => (Array.isArray(v) ? v.flatMap((x) => [k, x]) : [k, v]));
}

describe('credential injector', () => {
  it('hands the child unique placeholders, never values', () => {
    const a = make().placeholders();
    const b = make().placeholders();
    expect(Object.keys(a).sort()).toEqual(['BODY_KEY', 'GITHUB_TOKEN', 'PAY_KEY']);
    expect(a['GITHUB_TOKEN']).toMatch(/^gov-ph-github-token-[0-9a-f]{24}$/);
    expect(a['PAY_KEY']).toMatch(/^gov-ph-pay-key-[0-9a-f]{24}$/);
    expect(a['GITHUB_TOKEN']).not.toBe(b['GITHUB_TOKEN']);
    expect(JSON.stringify(a)).not.toContain('ghp_realvalue');
  });

  const headersFor = (t: RequestTarget) => {
    const r = make().inspect({ target: t, rawHeaders: [], url: '/' });
    return r.ok ? r.headers : null;
  };

  it('injects into the bound header over https on the bound port only (443 when none is written)', () => {
    expect(headersFor(https('api.githubcopilot.com'))).toEqual([
      ['Authorization', 'Bearer ghp_realvalue1234567890'],
    ]);
    expect(headersFor(https('api.githubcopilot.com', 8443))).toEqual([]);
    expect(headersFor(http('api.githubcopilot.com', 443))).toEqual([]);
    expect(headersFor(http('api.githubcopilot.com'))).toEqual([]);
    expect(headersFor(https('mcp.payments.internal'))).toEqual([['X-Api-Key', 'pk_live_abcdef']]);
    expect(headersFor(https('localhost', 8443))).toEqual([['X-Api-Key', 'pk_live_abcdef']]);
    expect(headersFor(http('localhost', 8443))).toEqual([]);
    expect(headersFor(https('localhost', 9000))).toEqual([]);
    expect(headersFor(https('evil.example'))).toEqual([]);
  });

  it('records what it injects by name and host:port, never the value', () => {
    const r = make().inspect({ target: https('api.githubcopilot.com'), rawHeaders: [], url: '/' });
    expect(r.ok && r.injected).toEqual([
      {
        secret: 'github-token',
        host: 'api.githubcopilot.com:443',
        scheme: 'https',
        into: 'header:authorization',
      },
    ]);
    expect(JSON.stringify(r.ok && r.injected)).not.toContain('ghp_realvalue');
  });

  it('lists plain-HTTP bindings for the start-up warning', () => {
    expect(make().plainHttp()).toEqual(["'body-key' → http://127.0.0.1:8080"]);
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

  describe('inspect', () => {
    const inj = make();
    const ph = inj.placeholders();
    const gh = ph['GITHUB_TOKEN']!;
    const pay = ph['PAY_KEY']!;
    const bk = ph['BODY_KEY']!;
    const base = { target: https('api.githubcopilot.com'), url: '/mcp', rawHeaders: [] as string[] };
    const leak = (r: ReturnType<typeof inj.inspect>) =>
      r.ok ? null : { secret: r.leak.secret, where: r.leak.where };
    const bytes = (s: string) => new TextEncoder().encode(s);

    it('allows the placeholder in its bound header on its bound host', () => {
      expect(leak(inj.inspect({ ...base, rawHeaders: raw({ authorization: `Bearer ${gh}` }) }))).toBeNull();
      expect(leak(inj.inspect({ ...base, rawHeaders: raw({ Authorization: `Bearer ${gh}` }) }))).toBeNull();
    });

    it('blocks it in the bound header of another host, another port or plain http', () => {
      for (const target of [
        https('evil.example'),
        https('api.githubcopilot.com', 8443),
        http('api.githubcopilot.com'),
      ]) {
        const r = inj.inspect({ ...base, target, rawHeaders: raw({ authorization: `Bearer ${gh}` }) });
        expect(leak(r)).toEqual({ secret: 'github-token', where: 'header authorization' });
        expect(!r.ok && r.leak.message).toMatch(
          /which it is not bound to \(bound: https:\/\/api\.githubcopilot\.com:443\)/,
        );
      }
    });

    it('blocks it in another header on the bound host, saying which header works', () => {
      const r = inj.inspect({ ...base, rawHeaders: raw({ 'X-Debug': gh }) });
      expect(leak(r)).toEqual({ secret: 'github-token', where: 'header x-debug' });
      expect(!r.ok && r.leak.message).toContain('only into the Authorization header');
    });

    it('blocks it split across two headers or across repeats of one', () => {
      const half = gh.length - 10;
      expect(
        leak(
          inj.inspect({
            ...base,
            target: https('evil.example'),
            rawHeaders: raw({ 'X-A': gh.slice(0, half), 'X-B': gh.slice(half) }),
          }),
        ),
      ).toEqual({
        secret: 'github-token',
        where: 'headers (split across several)',
      });
      expect(
        leak(
          inj.inspect({
            ...base,
            target: https('evil.example'),
            rawHeaders: raw({ 'X-A': [gh.slice(0, half), gh.slice(half)] }),
          }),
        ),
      ).toEqual({
        secret: 'github-token',
        where: 'headers (split across several)',
      });
    });

    it("blocks another secret's placeholder in a bound header", () => {
      expect(leak(inj.inspect({ ...base, rawHeaders: raw({ authorization: `Bearer ${pay}` }) }))).toEqual({
        secret: 'pay-key',
        where: 'header authorization',
      });
    });

    it('blocks it in the URL, even on the bound host', () => {
      expect(leak(inj.inspect({ ...base, url: `/mcp?t=${gh}` }))).toEqual({
        secret: 'github-token',
        where: 'URL',
      });
      const enc = Buffer.from(gh).toString('hex');
      expect(leak(inj.inspect({ ...base, url: `/mcp?t=${enc}` }))).toEqual({
        secret: 'github-token',
        where: 'URL',
      });
    });

    it('blocks it in a body, and tells the bound host how to get it injected', () => {
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'x', arguments: { token: gh } },
      });
      const r = inj.inspect({ ...base, body: bytes(body) });
      expect(leak(r)).toEqual({ secret: 'github-token', where: 'body' });
      expect(!r.ok && r.leak.message).toContain("add 'inject: body' to the binding");
      expect(!r.ok && r.leak.message).not.toContain('not bound');
    });

    it('substitutes the secret for its placeholder in the body of its bound host (inject: body), encoded for the body type', () => {
      const target = http('127.0.0.1', 8080);
      const json = inj.inspect({
        ...base,
        target,
        body: bytes(`{"k":"${bk}","again":"${bk}"}`),
        contentType: 'application/json',
      });
      expect(json.ok && JSON.parse(json.body!.toString())).toEqual({
        k: 'bk"quoted\\value',
        again: 'bk"quoted\\value',
      });
      expect(json.ok && json.injected).toEqual([
        { secret: 'body-key', host: '127.0.0.1:8080', scheme: 'http', into: 'body' },
      ]);
      const form = inj.inspect({
        ...base,
        target,
        body: bytes(`k=${bk}`),
        contentType: 'application/x-www-form-urlencoded',
      });
      expect(form.ok && new URLSearchParams(form.body!.toString()).get('k')).toBe('bk"quoted\\value');
      // Anywhere else, or encoded, it is still a leak.
      expect(leak(inj.inspect({ ...base, target: http('127.0.0.1', 8081), body: bytes(bk) }))).toEqual({
        secret: 'body-key',
        where: 'body',
      });
      const encoded = inj.inspect({
        ...base,
        target,
        body: bytes(`${bk} ${Buffer.from(bk).toString('base64')}`),
      });
      expect(!encoded.ok && encoded.leak.message).toContain('in a form gov does not substitute');
      expect(leak(inj.inspect({ ...base, target, body: bytes(`${bk} ${gh}`) }))).toEqual({
        secret: 'github-token',
        where: 'body',
      });
    });

    it('finds a Basic-auth wrapped placeholder sent to another host', () => {
      const basic = Buffer.from(`user:${gh}`).toString('base64');
      expect(
        leak(
          inj.inspect({
            ...base,
            target: https('evil.example'),
            rawHeaders: raw({ authorization: `Basic ${basic}` }),
          }),
        ),
      ).toEqual({
        secret: 'github-token',
        where: 'header authorization',
      });
    });

    it('passes ordinary traffic', () => {
      const r = inj.inspect({
        ...base,
        rawHeaders: raw({ 'content-type': 'application/json', authorization: 'Bearer whatever' }),
        url: '/mcp?x=1',
        body: bytes('{"jsonrpc":"2.0"}'),
      });
      expect(r.ok && r.body).toBeUndefined();
      expect(leak(r)).toBeNull();
    });
  });
});
