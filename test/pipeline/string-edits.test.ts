import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/safety/redact.js';
import {
  applyEdits,
  applyEditsToBytes,
  hasRepeatedKey,
  rawOffsets,
  stringEdits,
} from '../../src/pipeline/string-edits.js';
import type { JsonValue } from '../../src/types.js';

const TOKEN = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
const VAULT = 'hunter2-vault-value';
const redactor = createRedactor({ vaultValues: new Map([['k', VAULT]]), secrets: true, vault: true });

/** What gov sends for `text`: the edited text, checked to parse exactly to the redacted value. */
function rewritten(text: string): string | null {
  const before = JSON.parse(text) as JsonValue;
  const after = redactor.redactJson(before).value;
  const edits = stringEdits(text, before, after);
  if (edits === null) return null;
  const out = applyEdits(text, edits);
  expect(JSON.parse(out)).toEqual(after);
  expect(applyEditsToBytes(text, Buffer.from(text), edits).toString()).toBe(out);
  return out;
}

const long = (s: string) => `${'x'.repeat(5000)} ${s} ${'y'.repeat(5000)}`;

describe('stringEdits: only the changed strings of a JSON text are rewritten', () => {
  it('keeps the text around a redacted string as it came (spacing, number spelling, key order)', () => {
    const text = `{ "b": 1.50, "a" : [ 1e2, "${TOKEN}", true ], "c": "plain" }`;
    expect(rewritten(text)).toBe(
      '{ "b": 1.50, "a" : [ 1e2, "[REDACTED:github-token]", true ], "c": "plain" }',
    );
  });

  it('places markers inside a long string at the raw offsets, counting escapes as one character', () => {
    for (const esc of ['\\n', '\\"', '\\\\', '\\u0041', '\\/', '\\ud83d\\ude00']) {
      const value = `${'line'.repeat(1500)}${esc}token=${TOKEN}${esc} and ${VAULT}${esc}end${'z'.repeat(3000)}`;
      const text = `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"${value}"}]}}`;
      const out = rewritten(text)!;
      expect(out).not.toContain(TOKEN);
      expect(out).not.toContain(VAULT);
      // The escapes themselves are still the upstream's, except `\u0041`: an `A` right after
      // the token is part of it (as in the decoded value), so it went with it.
      const kept = esc === '\\u0041' ? 1 : 0;
      expect(out.split(esc).length + kept, esc).toBe(text.split(esc).length);
    }
  });

  it('finds a secret spelled with escapes only in the decoded value, and redacts it there', () => {
    const spelled = '\\u0067hp_' + TOKEN.slice(4);
    const text = `{"t":"${long(spelled)}","k":"${spelled}"}`;
    const out = rewritten(text)!;
    expect(JSON.stringify(JSON.parse(out))).not.toContain(TOKEN);
    expect(out).not.toContain(spelled);
  });

  it('an escaped quote or backslash before a closing quote does not end the string early', () => {
    const text = `{"a":"x\\\\","b":"say \\"${TOKEN}\\"","c":"\\\\\\"${long(TOKEN)}"}`;
    const out = rewritten(text)!;
    expect(out).not.toContain(TOKEN);
    expect((JSON.parse(out) as Record<string, string>)['a']).toBe('x\\');
  });

  it('refuses a text with a repeated key (the copy JSON.parse dropped was never scanned)', () => {
    expect(rewritten(`{"a":"${TOKEN}","a":"${TOKEN}"}`)).toBeNull();
    expect(rewritten(`{"o":{"name":"${TOKEN}","na\\u006de":1}}`)).toBeNull();
  });

  it('refuses when a key changed, not only values', () => {
    expect(rewritten(`{"${TOKEN}":1}`)).toBeNull();
  });

  it('refuses a structural change (an added key, another type)', () => {
    const text = '{"a":"x","b":[1,2]}';
    const before = JSON.parse(text) as JsonValue;
    expect(stringEdits(text, before, { a: 'x', b: [1, 2], c: 1 })).toBeNull();
    expect(stringEdits(text, before, { a: 'x', b: [1] })).toBeNull();
    expect(stringEdits(text, before, { a: 1, b: [1, 2] })).toBeNull();
  });

  it('a long string changed by something else than redaction is serialised whole', () => {
    const text = `{"a":"${long('q')}"}`;
    const before = JSON.parse(text) as JsonValue;
    const after = { a: long('Q') };
    const edits = stringEdits(text, before, after)!;
    expect(JSON.parse(applyEdits(text, edits))).toEqual(after);
  });

  it('keeps multi-byte characters intact in the byte output', () => {
    const text = `{"a":"äöü 😀 ${long(TOKEN)} 😀","b":"${TOKEN}"}`;
    const out = rewritten(text)!;
    expect(out).toContain('😀');
  });
});

describe('rawOffsets', () => {
  it('maps offsets in a decoded value to offsets in its raw token content', () => {
    const raw = 'a\\nb\\u0041c\\"d';
    // decoded: a \n b A c " d
    expect(rawOffsets(raw, 0, raw.length, [0, 1, 2, 3, 4, 5, 6, 7])).toEqual([0, 1, 3, 4, 10, 11, 13, 14]);
  });
});

describe('hasRepeatedKey', () => {
  const check = (text: string) => hasRepeatedKey(text, JSON.parse(text) as JsonValue);
  it('counts key tokens against the parsed keys, whatever the strings hold', () => {
    expect(check('{"a":1,"b":{"c":[{"d":":x\\":"}]}}')).toBe(false);
    expect(check('{"a" : 1, "s": "\\\\", "t": "\\\\\\":"}')).toBe(false);
    expect(check('[{"a":1},{"a":2}]')).toBe(false);
    expect(check('{"a":1,"b":{"c":2,"c":3}}')).toBe(true);
    expect(check('{"name":1,"na\\u006de":2}')).toBe(true);
    expect(check('{"a":"x","a" :"y"}')).toBe(true);
    expect(check('"just a string: \\"with\\": colons"')).toBe(false);
  });

  it('random texts: the edited text parses to exactly the redacted value, and no secret is left', () => {
    let seed = 7;
    const r = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
    const pieces = [
      TOKEN,
      VAULT,
      'plain',
      '\n',
      '"',
      '\\',
      'é',
      '😀',
      '\u2028',
      ' ',
      'ghp_',
      'x'.repeat(3000),
    ];
    const str = (): string => Array.from({ length: 1 + Math.floor(r() * 8) }, () => pick(pieces)).join('');
    const value = (d: number): JsonValue => {
      const t = r();
      if (d > 3 || t < 0.4) return t < 0.3 ? str() : pick([1, -0.5, true, null, 'k']);
      if (t < 0.6) return Array.from({ length: Math.floor(r() * 4) }, () => value(d + 1));
      const o: Record<string, JsonValue> = {};
      for (let i = 0; i < 3; i++) o[pick(['a', 'b', 'text', TOKEN.slice(0, 6), 'é'])] = value(d + 1);
      return o;
    };
    // Spell the same value several ways: spacing, and escapes JSON.stringify would not use.
    const spell = (text: string): string =>
      pick([
        text,
        text.replace(/,/g, ' ,\n  ').replace(/:/g, ' : '),
        text.replace(/é/g, '\\u00e9').replace(/plain/g, 'pl\\u0061in'),
      ]);
    let edited = 0;
    for (let i = 0; i < 400; i++) {
      const text = spell(JSON.stringify({ jsonrpc: '2.0', id: i, result: { content: [value(0)] } }));
      const out = rewritten(text);
      if (out === null) continue;
      edited++;
      const decoded = JSON.stringify(JSON.parse(out));
      expect(decoded).not.toContain(TOKEN);
      expect(decoded).not.toContain(VAULT);
    }
    expect(edited).toBeGreaterThan(50);
  });
});
