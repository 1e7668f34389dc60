import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/audit/canonical.js';
import { buildRecordLine, hashRecord, serializeRecord } from '../../src/audit/record.js';
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
      // Mostly a few keys; sometimes many, in any order (insertion sort and Array#sort paths).
      const n = r() < 0.15 ? 1 + Math.floor(r() * 24) : 4;
      for (let i = 0; i < n; i++) {
        const k =
          r() < 0.5
            ? keys[Math.floor(r() * keys.length)]!
            : `${'kKé_'[Math.floor(r() * 4)]}${Math.floor(r() * 30)}`;
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
      // An audit record carrying every third value (the record costs ten times the value): the
      // line is what verify re-serialises from the parsed record, and the hash is the canonical one.
      if (i % 3 !== 0) continue;
      const j = i / 3;
      const tool = j % 5 === 0 ? 'evil\u202etool\u0085' : 'echo';
      const input = {
        kind: 'call',
        method: 'tools/call',
        tool,
        args: v,
        detail: { nested: [v] },
      } as AuditInput;
      const signed = j % 2 === 0;
      const { record: rec, line } = buildRecordLine(
        input,
        { run: 'r', seq: j + 1, prev: j % 3 === 0 ? null : 'p', ts: 't' },
        signed ? (hash) => `sig:${hash}` : undefined,
      );
      expect(rec.signature).toBe(signed ? `sig:${rec.hash}` : undefined);
      expect(line).toBe(serializeRecord(rec));
      const parsed = JSON.parse(line) as AuditRecord;
      expect(serializeRecord(parsed)).toBe(line);
      expect(hashRecord(parsed)).toBe(rec.hash);
    }
  });

  it('hashes a record with fields it does not know, and refuses values JSON cannot carry', () => {
    const input = {
      kind: 'alert',
      zeta: { b: 1, a: 2 },
      alpha: 'x',
      detail: { y: 1, x: 2 },
    } as unknown as AuditInput;
    const rec = buildRecordLine(input, { run: 'r', seq: 1, prev: null, ts: 't' }).record;
    const parsed = JSON.parse(serializeRecord(rec)) as AuditRecord;
    expect(hashRecord(parsed)).toBe(rec.hash);
    expect(rec.hash).toBe(
      hashRecord({ ...input, v: 1, id: 'r.1', ts: 't', run: 'r', seq: 1, prev: null } as AuditRecord),
    );
    for (const bad of [NaN, Infinity, 10n, new Date(0)]) {
      const i = { kind: 'call', latency_ms: { policy: bad } } as unknown as AuditInput;
      expect(() => buildRecordLine(i, { run: 'r', seq: 1, prev: null, ts: 't' })).toThrow(/canonical JSON/);
      const top = { kind: 'call', status: bad } as unknown as AuditInput;
      expect(() => buildRecordLine(top, { run: 'r', seq: 1, prev: null, ts: 't' })).toThrow(/canonical JSON/);
    }
  });
});
