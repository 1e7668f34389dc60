import { describe, expect, it } from 'vitest';
import {
  decodeUtf8Strict,
  parseStrictJsonText,
  type StrictJsonOptions,
  type StrictJsonResult,
} from '../../src/mcp/json-strict.js';

/** Bytes → strict JSON, as classify.ts does. */
function parseStrictJson(bytes: Uint8Array, opts: StrictJsonOptions = {}): StrictJsonResult {
  const text = decodeUtf8Strict(bytes);
  return text === null ? { ok: false, reason: 'invalid UTF-8' } : parseStrictJsonText(text, opts);
}
import { enc } from './corpus.js';

const parse = (s: string, maxDepth?: number) =>
  parseStrictJson(enc(s), maxDepth === undefined ? {} : { maxDepth });

describe('parseStrictJson', () => {
  it('parses RFC 8259 JSON like JSON.parse', () => {
    const samples = [
      '{}',
      '[]',
      '0',
      '-0.5e+10',
      '"a\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9"',
      'true',
      'false',
      'null',
      ' \t\r\n{"a":[1,2,{"b":null}],"c":"ü😀","d":{"e":{}}} \n',
      '"\\ud83d\\ude00"',
      '{"":1,"a":{"":2}}',
    ];
    for (const s of samples) expect(parse(s)).toEqual({ ok: true, value: JSON.parse(s) });
  });

  it('rejects what RFC 8259 does not allow', () => {
    for (const s of [
      '',
      '{',
      '[1,]',
      '{"a":1,}',
      '{"a" 1}',
      '{a:1}',
      "{'a':1}",
      '01',
      '1.',
      '.5',
      '+1',
      '1e',
      'NaN',
      'Infinity',
      'tru',
      'nul',
      '"a',
      '"\\x"',
      '"\\u12"',
      '"tab\there"',
      '[1 2]',
      '{} {}',
      '1 2',
      '\ufeff{}',
      '/*c*/{}',
    ]) {
      const r = parse(s);
      expect(r.ok, s).toBe(false);
    }
  });

  it('rejects duplicate keys, comparing decoded keys', () => {
    expect(parse('{"a":1,"a":2}')).toEqual({ ok: false, reason: 'duplicate key "a"' });
    expect(parse('{"name":1,"na\\u006de":2}')).toEqual({ ok: false, reason: 'duplicate key "name"' });
    expect(parse('{"\\/":1,"/":2}')).toEqual({ ok: false, reason: 'duplicate key "/"' });
    expect(parse('{"x":{"a":1,"a":2}}').ok).toBe(false);
    expect(parse('[{"a":1},{"a":2}]').ok).toBe(true);
    expect(parse('{"a":{"a":1}}').ok).toBe(true);
    expect(parse('{"__proto__":1,"__proto__":2}').ok).toBe(false);
  });

  it('keeps __proto__ as an ordinary key', () => {
    const r = parse('{"__proto__":{"polluted":true}}');
    expect(r.ok).toBe(true);
    if (r.ok) expect(Object.keys(r.value as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('rejects escaped lone surrogates', () => {
    for (const s of [
      '"\\ud800"',
      '"\\udc00"',
      '"\\ud800\\u0041"',
      '"\\ud800x"',
      '"\\ude00\\ud83d"',
      '{"\\ud800":1}',
    ])
      expect(parse(s).ok, s).toBe(false);
    expect(parse('"\\ud800"')).toMatchObject({ reason: expect.stringContaining('lone surrogate') });
  });

  it('rejects invalid UTF-8', () => {
    const bad = [
      [0x22, 0xff, 0x22],
      [0x22, 0xc0, 0xaf, 0x22], // overlong '/'
      [0x22, 0xed, 0xa0, 0x80, 0x22], // encoded surrogate (CESU-8)
      [0x22, 0xe2, 0x82, 0x22], // truncated sequence
    ];
    for (const b of bad)
      expect(parseStrictJson(new Uint8Array(b))).toEqual({ ok: false, reason: 'invalid UTF-8' });
  });

  it('enforces the depth limit (default 128) without recursion', () => {
    expect(parse('['.repeat(128) + ']'.repeat(128)).ok).toBe(true);
    expect(parse('['.repeat(129) + ']'.repeat(129))).toEqual({
      ok: false,
      reason: 'nesting deeper than 128',
    });
    expect(parse('{"a":'.repeat(3) + '1' + '}'.repeat(3), 2).ok).toBe(false);
    expect(parse('['.repeat(1_000_000)).ok).toBe(false);
  });

  it('parses a 1 MB body', () => {
    const items = Array.from({ length: 14000 }, (_, i) => ({
      id: i,
      name: `item ${i} ünï \n`,
      tags: ['a', 'b'],
      v: i / 3,
    }));
    const big = enc(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'x', arguments: { items } },
      }),
    );
    expect(big.length).toBeGreaterThan(1_000_000);
    expect(parseStrictJson(big).ok).toBe(true);
  });
});

describe('numbers JavaScript cannot hold exactly', () => {
  it('are refused with a reason, and the parsed value is kept so the message can be answered under its id', () => {
    const cases: Array<[string, RegExp]> = [
      ['1e400', /number out of range: 1e400/],
      ['-1E+400', /number out of range/],
      ['1e-400', /underflows to 0/],
      ['-0', /negative zero/],
      ['-0.0e7', /negative zero/],
      ['9007199254740993', /beyond 2\^53/],
      ['-123456789012345678901234567890', /beyond 2\^53/],
    ];
    for (const [num, reason] of cases) {
      const r = parse(`{"id":7,"n":${num}}`);
      expect(r.ok, num).toBe(false);
      if (r.ok) continue;
      expect(r.reason, num).toMatch(reason);
      expect(r.value, num).toMatchObject({ id: 7 });
    }
  });

  it('accepts numbers every IEEE-754 parser reads the same way', () => {
    for (const num of [
      '0',
      '0.0',
      '-1',
      '9007199254740991',
      '-9007199254740991',
      '0.1',
      '1e20',
      '1.5e300',
      '-2.5e-300',
      '0e5',
    ]) {
      expect(parse(`[${num}]`), num).toEqual({ ok: true, value: [Number(num)] });
    }
  });
});
