import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../src/audit/canonical.js';
import { buildRecord, hashRecord, serializeRecord, withSignature } from '../../src/audit/record.js';
import type { AuditInput, AuditRecord } from '../../src/types.js';

/** The reference: keys sorted by UTF-16 code units, written by hand. */
function reference(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : reference(x))).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${reference(o[k])}`)
    .join(',')}}`;
}

function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

describe('canonical JSON fast path', () => {
  it('matches the hand-written reference on random values, integer-like keys included', () => {
    const r = rand(42);
    const keys = ['a', 'b', 'Z', '10', '9', '0', '01', '-1', '4294967295', 'é', '__proto__', '𝒳', 'ab'];
    const gen = (d: number): unknown => {
      const t = r();
      if (d > 3 || t < 0.3)
        return [null, true, 1.5, -0, 1e21, 'x\u2028"\\', '😀', undefined][Math.floor(r() * 8)];
      if (t < 0.5) return Array.from({ length: Math.floor(r() * 4) }, () => gen(d + 1));
      const o: Record<string, unknown> = {};
      for (let i = 0; i < 4; i++) {
        const k = keys[Math.floor(r() * keys.length)]!;
        Object.defineProperty(o, k, {
          value: gen(d + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return o;
    };
    for (let i = 0; i < 3000; i++) {
      const v = gen(0) ?? null;
      expect(canonicalJson(v)).toBe(reference(v));
      // An audit record carrying it: the line is what verify re-serialises from the parsed
      // record, and the hash is the canonical one.
      const input = { kind: 'call', method: 'tools/call', args: v, detail: { nested: [v] } } as AuditInput;
      const built = buildRecord(input, { run: 'r', seq: i + 1, prev: null, ts: 't' });
      const { hash, ...unhashed } = built.record;
      expect(hash).toBe(sha256Hex(reference(unhashed)));
      expect(built.line).toBe(serializeRecord(built.record));
      built.record.signature = 'sig';
      const line = withSignature(built.line, 'sig');
      expect(line).toBe(serializeRecord(built.record));
      const parsed = JSON.parse(line) as AuditRecord;
      expect(serializeRecord(parsed)).toBe(line);
      expect(hashRecord(parsed)).toBe(hash);
    }
  });

  it('lays out any top-level member, before or after hash, and escapes what would spoof a terminal', () => {
    const input = {
      kind: 'alert',
      aardvark: 'first\u202e',
      error: { b: 1, a: [{ d: 2, c: 3 }] },
      zebra: 'last',
      __proto__x: 1,
    } as unknown as AuditInput;
    const { record, line } = buildRecord(input, { run: 'r', seq: 7, prev: 'p', ts: 't' });
    const { hash, ...unhashed } = record;
    expect(hash).toBe(sha256Hex(reference(unhashed)));
    expect(line).toBe(serializeRecord(record));
    expect(line).toContain('\\u202e');
    expect(Object.keys(JSON.parse(line) as object)).toEqual(Object.keys({ ...unhashed, hash }).sort());
  });

  it('builds a record with no member sorting before hash', () => {
    const { record, line } = buildRecord({ kind: 'run_start' } as AuditInput, {
      run: 'r',
      seq: 1,
      prev: null,
      ts: 't',
    });
    expect(line.startsWith('{"hash":')).toBe(true);
    expect(hashRecord(JSON.parse(line) as AuditRecord)).toBe(record.hash);
  });
});
