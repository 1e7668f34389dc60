import { describe, expect, it } from 'vitest';
import { createRedactor, vaultValueForms } from '../../src/safety/redact.js';
import { SECRET_PATTERNS } from '../../src/safety/patterns.js';
import type { JsonValue } from '../../src/types.js';

// Sample secrets are assembled at run time so secret scanners do not flag this file.
const rep = (s: string, n: number) => s.repeat(Math.ceil(n / s.length)).slice(0, n);
const ALNUM = 'aB3dE5fG7hJ9kL2mN4pQ6rS8tU1vW0xYz';
const SAMPLES: Record<string, string[]> = {
  'aws-access-key-id': ['AKIA' + 'IOSFODNN7EXAMPLE', 'ASIA' + 'ZXCVBNMASDFGHJKL'],
  'github-token': [
    'ghp' + '_' + rep(ALNUM, 36),
    'gho' + '_' + rep(ALNUM, 36),
    'ghu' + '_' + rep(ALNUM, 36),
    'ghs' + '_' + rep(ALNUM, 36),
    'ghr' + '_' + rep(ALNUM, 36),
    'github' + '_pat_' + rep(ALNUM, 22) + '_' + rep(ALNUM, 59),
  ],
  'gitlab-token': ['glpat' + '-' + rep(ALNUM, 20)],
  'slack-token': ['xoxb' + '-123456789012-1234567890123-' + rep(ALNUM, 24), 'xoxp' + '-1234-5678-abcdEFGH'],
  'slack-webhook': ['hooks.slack.com' + '/services/T00000000/B00000000/' + rep(ALNUM, 24)],
  'stripe-key': [
    'sk' + '_live_' + rep(ALNUM, 24),
    'rk' + '_live_' + rep(ALNUM, 24),
    'sk' + '_test_' + rep(ALNUM, 24),
  ],
  'google-api-key': ['AIza' + rep('SyA1b2C3d4E5f6G7h8I9j0K_lMnOpQrS-', 35)],
  'anthropic-key': ['sk-ant' + '-api03-' + rep(ALNUM + '-_', 93)],
  'openai-key': ['sk-' + rep(ALNUM, 48), 'sk-proj' + '-' + rep(ALNUM + '_-', 120)],
  'npm-token': ['npm' + '_' + rep(ALNUM, 36)],
  'private-key': [
    '-----BEGIN ' +
      'RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA' +
      rep(ALNUM, 64) +
      '\n' +
      rep(ALNUM, 40) +
      '==\n-----END RSA PRIVATE KEY-----',
    '-----BEGIN ' + 'PRIVATE KEY-----\\n' + rep(ALNUM, 64) + '\\n-----END PRIVATE KEY-----',
    '-----BEGIN ' +
      'OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA' +
      rep(ALNUM, 60) +
      '\n-----END OPENSSH PRIVATE KEY-----',
  ],
  jwt: [
    'eyJ' +
      'hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.' +
      'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  ],
};

const secretsOnly = createRedactor({ vaultValues: new Map(), secrets: true, vault: false });

describe('well-known secret formats', () => {
  it('every documented pattern has samples here', () => {
    const kinds = SECRET_PATTERNS.map((p) => p.kind).filter((k) => k !== 'aws-secret-access-key');
    expect(Object.keys(SAMPLES).sort()).toEqual(kinds.sort());
  });

  for (const [kind, samples] of Object.entries(SAMPLES)) {
    it(`redacts ${kind} in prose, JSON and at the edges`, () => {
      for (const secret of samples) {
        for (const text of [
          secret,
          `token: ${secret} end`,
          JSON.stringify({ out: `x ${secret}` }),
          `"${secret}"`,
        ]) {
          const r = secretsOnly.redactString(text);
          expect(r.text).not.toContain(secret.slice(8, 30));
          expect(r.text).toContain(`[REDACTED:${kind}]`);
          expect(r.counts).toEqual({ [kind]: 1 });
        }
      }
    });
  }

  it('redacts an AWS secret key only in key context, keeping the key name', () => {
    const key = 'wJalrXUtnFEMI/K7MDENG/' + 'bPxRfiCYEXAMPLEKEY';
    for (const ctx of [
      `aws_secret_access_key = ${key}`,
      `AWS_SECRET_ACCESS_KEY=${key}`,
      `{"SecretAccessKey": "${key}"}`,
      `secretAccessKey: '${key}'`,
      `aws_secret_key: ${key}`,
    ]) {
      const r = secretsOnly.redactString(ctx);
      expect(r.text).not.toContain(key);
      expect(r.text).toContain('[REDACTED:aws-secret-access-key]');
      expect(r.text.toLowerCase()).toContain('secret');
    }
    expect(secretsOnly.redactString(`hash: ${key}`).counts).toEqual({});
  });

  it('an unterminated private key (cut-off output) is still redacted', () => {
    const r = secretsOnly.redactString('-----BEGIN ' + 'EC PRIVATE KEY-----\nMHcCAQEEI' + rep(ALNUM, 50));
    expect(r.text).toBe('[REDACTED:private-key]');
  });

  it('an Anthropic key is not mistaken for an OpenAI key', () => {
    const k = SAMPLES['anthropic-key']![0]!;
    expect(secretsOnly.redactString(`k=${k}`).counts).toEqual({ 'anthropic-key': 1 });
  });

  it('no false positives on ordinary text, code, JSON and base64', () => {
    const ordinary = [
      'The task-based risk-management desk-side sessions discussed the secret sauce.',
      'function eyJump(a, b) { return sk_test; } // AKIA is a prefix, AIza too',
      '{"id": "3f1e8c2a-9b7d-4e5f-a1b2-c3d4e5f60718", "user_name": "ada", "created_at": "2024-01-01T00:00:00Z"}',
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
      'git commit -m "fix: ghp_ prefix docs" && npm_config_proxy=http://x sk-short',
      'sk-this-is-a-long-kebab-case-identifier-without-digits',
      '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
      'secret_access_key = not-a-real-key',
    ];
    for (const t of ordinary) expect(secretsOnly.redactString(t)).toEqual({ text: t, counts: {} });
  });
});

describe('vault values', () => {
  const value = 'v@ult-Secret/Value+42 é';
  const r = createRedactor({
    vaultValues: new Map([
      ['api', value],
      ['tiny', 'abc'],
    ]),
    secrets: false,
    vault: true,
  });

  it('raw, JSON-escaped, URL-encoded, base64 and base64url forms become [REDACTED:vault]', () => {
    const forms = [
      value,
      JSON.stringify(value).slice(1, -1),
      encodeURIComponent(value),
      Buffer.from(value).toString('base64'),
      Buffer.from(value).toString('base64url'),
    ];
    for (const f of forms) {
      const out = r.redactString(`before ${f} after`);
      expect(out.text).toBe('before [REDACTED:vault] after');
      expect(out.counts).toEqual({ vault: 1 });
    }
  });

  it('the base64 of a value keeps none of its last bytes (no trailing partial group)', () => {
    for (const v of ['abcdefghijklmnopqrstuvw3', 'abcdefghijklmnopqrstuvwx3', 'abcdefghijklmnopqrstuvwxy3']) {
      const red = createRedactor({
        vaultValues: new Map([['k', v]]),
        secrets: false,
        vault: true,
      });
      for (const enc of [Buffer.from(v).toString('base64'), Buffer.from(v).toString('base64url')]) {
        expect(red.redactString(`x ${enc} y`).text).toBe('x [REDACTED:vault] y');
      }
    }
  });

  it('finds base64 of a value embedded at any alignment in a larger blob', () => {
    for (const pre of ['', 'x', 'xy']) {
      const blob = Buffer.from(`${pre}{"auth":"${value}","n":1}`).toString('base64');
      const out = r.redactString(blob);
      expect(out.counts).toEqual({ vault: 1 });
    }
  });

  it('never names the entry and skips values shorter than 4 characters', () => {
    const out = r.redactString(`abc ${value}`);
    expect(out.text).toBe('abc [REDACTED:vault]');
    expect(out.text).not.toContain('api');
    expect(vaultValueForms('abc')).toEqual([]);
  });

  it('is off when vault redaction is off', () => {
    const off = createRedactor({ vaultValues: new Map([['api', value]]), secrets: true, vault: false });
    expect(off.redactString(value).counts).toEqual({});
  });
});

describe('redactJson', () => {
  const gh = SAMPLES['github-token']![0]!;
  const r = createRedactor({
    vaultValues: new Map([['db', 'hunter2-db-password']]),
    secrets: true,
    vault: true,
  });

  it('walks strings in arrays and objects (keys too) and counts by kind', () => {
    const input = {
      content: [{ type: 'text', text: `token ${gh} and hunter2-db-password` }],
      n: 1,
      ok: true,
      nil: null,
      [gh]: 'k',
    };
    const { value, counts } = r.redactJson(input);
    expect(JSON.stringify(value)).not.toContain(gh);
    expect(JSON.stringify(value)).not.toContain('hunter2');
    expect(value).toEqual({
      content: [{ type: 'text', text: 'token [REDACTED:github-token] and [REDACTED:vault]' }],
      n: 1,
      ok: true,
      nil: null,
      '[REDACTED:github-token]': 'k',
    });
    expect(counts).toEqual({ 'github-token': 2, vault: 1 });
  });

  it('keeps a __proto__ key (as data, not a prototype) when a sibling is redacted', () => {
    const input = JSON.parse(`{"__proto__":{"polluted":"yes"},"note":"hunter2-db-password"}`) as JsonValue;
    const { value } = r.redactJson(input);
    expect(JSON.stringify(value)).toBe('{"__proto__":{"polluted":"yes"},"note":"[REDACTED:vault]"}');
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as { polluted?: string }).polluted).toBeUndefined();
  });

  it('returns the same object when nothing matched', () => {
    const input = { a: ['x', { b: 'y' }] };
    expect(r.redactJson(input).value).toBe(input);
  });
});

describe('throughput (reported, not asserted)', () => {
  it('scans a 10 MB tool result with few matches', () => {
    const words =
      'Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua the server returned a list of files task-based user_name ids'.split(
        ' ',
      );
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const parts: string[] = [];
    let len = 0;
    while (len < 10_000_000) {
      const rec =
        JSON.stringify({
          id: Math.floor(rnd() * 1e6),
          path: `/srv/data/${words[Math.floor(rnd() * words.length)]}/${Math.floor(rnd() * 1e4)}.txt`,
          text: Array.from({ length: 12 }, () => words[Math.floor(rnd() * words.length)]).join(' '),
        }) + '\n';
      parts.push(rec);
      len += rec.length;
    }
    const text = parts.join('') + SAMPLES['github-token']![0]!;
    const r = createRedactor({
      vaultValues: new Map([
        ['a', 'super-secret-value-1234'],
        ['b', 'another one here!!'],
        ['c', rep(ALNUM, 64)],
      ]),
      secrets: true,
      vault: true,
    });
    let best = Infinity;
    let counts = {};
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      counts = r.redactString(text).counts;
      best = Math.min(best, performance.now() - t0);
    }
    const mbps = text.length / 1e6 / (best / 1000);
    console.log(
      `redaction throughput: ${mbps.toFixed(0)} MB/s on ${(text.length / 1e6).toFixed(1)} MB (target >= 200)`,
    );
    expect(counts).toEqual({ 'github-token': 1 });
  });
});
