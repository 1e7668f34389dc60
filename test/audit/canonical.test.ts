import { describe, expect, it } from 'vitest';
import { canonicalJson, digestArgs, sha256Hex } from '../../src/audit/canonical.js';
import { isValidRunId, newRunId, shortRunId } from '../../src/audit/run-id.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('is independent of insertion order', () => {
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
  });

  it('sorts keys by UTF-16 code units (RFC 8785)', () => {
    expect(canonicalJson({ '\u20ac': 1, '\r': 2, '\ud83d\ude00': 3, '1': 4, a: 5 })).toBe(
      '{"\\r":2,"1":4,"a":5,"\u20ac":1,"\ud83d\ude00":3}',
    );
  });

  it('writes numbers in shortest ECMAScript form', () => {
    expect(canonicalJson([1.0, -0, 1e21, 1e-7, 0.1, 123456789012345680000, 5e-324])).toBe(
      '[1,0,1e+21,1e-7,0.1,123456789012345680000,5e-324]',
    );
  });

  it('escapes strings minimally', () => {
    expect(canonicalJson('a"b\\c\n\u0001\u00e9')).toBe('"a\\"b\\\\c\\n\\u0001\u00e9"');
  });

  it('omits undefined members and rejects values JSON cannot carry', () => {
    expect(canonicalJson({ a: undefined, b: null })).toBe('{"b":null}');
    expect(() => canonicalJson({ n: NaN })).toThrow(/not a JSON number/);
    expect(() => canonicalJson({ n: Infinity })).toThrow();
    expect(() => canonicalJson({ d: new Date(0) })).toThrow(/plain objects/);
    expect(() => canonicalJson(10n)).toThrow();
  });

  it('keeps a __proto__ member as data', () => {
    const v = JSON.parse('{"__proto__":{"x":1},"a":1}') as unknown;
    expect(canonicalJson(v)).toBe('{"__proto__":{"x":1},"a":1}');
  });

  it('round-trips through JSON.parse', () => {
    const v = { s: 'é\u2028', n: [0.5, -3, 1e300], o: { k: true } };
    expect(canonicalJson(JSON.parse(canonicalJson(v)))).toBe(canonicalJson(v));
  });
});

describe('digests', () => {
  it('sha256Hex matches a known vector', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('digestArgs hashes canonical JSON with a sha256: prefix', () => {
    expect(digestArgs({ b: 2, a: 1 })).toBe(`sha256:${sha256Hex('{"a":1,"b":2}')}`);
    expect(digestArgs({ a: 1, b: 2 })).toBe(digestArgs({ b: 2, a: 1 }));
  });
});

describe('run ids', () => {
  it('are file-name safe and sort by time', () => {
    const a = newRunId(new Date('2026-11-21T05:01:02.345Z'));
    const b = newRunId(new Date('2026-11-21T05:01:03.000Z'));
    expect(a).toMatch(/^20261121T050102Z-[0-9a-f]{6}$/);
    expect(isValidRunId(a)).toBe(true);
    expect([b, a].sort()).toEqual([a, b]);
    expect(shortRunId(a)).toBe(a.slice(-6));
  });

  it('rejects path-like ids', () => {
    expect(isValidRunId('../x')).toBe(false);
    expect(isValidRunId('a/b')).toBe(false);
    expect(isValidRunId('')).toBe(false);
  });
});
