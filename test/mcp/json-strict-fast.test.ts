import { describe, expect, it } from 'vitest';
import { parseStrictJsonText } from '../../src/mcp/json-strict.js';

/**
 * The fast path (texts without a backslash) must agree with the validating scan. A text with
 * a backslash always takes the scan, so each random text is also parsed wrapped as
 * `[text,"\/"]` (one level deeper, same rules) and the verdicts compared.
 */
const NUMBERS = [
  '0',
  '-0',
  '0.0',
  '1e-400',
  '0e-5',
  '1e400',
  '9007199254740993',
  '9007199254740991',
  '1e20',
  '0.1',
  '-12',
  '3.5e2',
];
const KEYS = ['a', 'b', 'id', 'name', '__proto__', 'e-1'];

function rnd(n: number): number {
  return Math.floor(Math.random() * n);
}

function text(depth: number): string {
  const ws = () => [' ', '', '\n', '\t'][rnd(4)]!;
  if (depth > 4 || rnd(3) === 0) {
    const r = rnd(4);
    if (r === 0) return NUMBERS[rnd(NUMBERS.length)]!;
    if (r === 1) return `"${KEYS[rnd(KEYS.length)]}:x"`;
    return ['true', 'null', '"é☃"'][rnd(3)]!;
  }
  const n = rnd(4);
  if (rnd(2) === 0) return `[${Array.from({ length: n }, () => ws() + text(depth + 1)).join(',')}]`;
  const members = Array.from(
    { length: n },
    () => `"${KEYS[rnd(KEYS.length)]}"${ws()}:${ws()}${text(depth + 1)}`,
  );
  return `{${members.join(',')}}`;
}

describe('strict JSON fast path', () => {
  it('agrees with the validating scan on random texts (duplicates, inexact numbers, depth)', () => {
    for (let i = 0; i < 3000; i++) {
      const t = text(0);
      const maxDepth = 1 + rnd(5);
      const fast = parseStrictJsonText(t, { maxDepth });
      const slow = parseStrictJsonText(`[${t},"\\/"]`, { maxDepth: maxDepth + 1 });
      expect(fast.ok, t).toBe(slow.ok);
      if (fast.ok && slow.ok) expect(fast.value).toEqual((slow.value as unknown[])[0]);
    }
  });

  it('still refuses what the fast path must not let through', () => {
    expect(parseStrictJsonText('{"a":{"b":1},"a":2}').ok).toBe(false);
    expect(parseStrictJsonText('{"x":1e-400}').ok).toBe(false);
    expect(parseStrictJsonText('{"x":-0}').ok).toBe(false);
    expect(parseStrictJsonText('[9007199254740993]').ok).toBe(false);
    expect(parseStrictJsonText('{"a":{"b":1},"b":{"a":2}}')).toEqual({
      ok: true,
      value: { a: { b: 1 }, b: { a: 2 } },
    });
  });
});
