/**
 * Fuzzing the connector with mutations of the corpus. Two properties:
 *  1. classifyBody never throws;
 *  2. a denied call never slips through unseen: whenever a lenient reader (TextDecoder with
 *     replacement + JSON.parse, last duplicate wins) would hand a server a `tools/call` of
 *     `shell_exec` — alone or inside a batch — gov either refuses the body as malformed or
 *     produces a tools/call envelope whose tool is `shell_exec` for each such call.
 */
import { describe, expect, it } from 'vitest';
import { classifyBody } from '../../src/mcp/classify.js';
import { toEnvelope } from '../../src/mcp/envelope.js';
import { enc, hostileFixtures, versionFixtures } from './corpus.js';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SNIPPETS = [
  '"name":"shell_exec",',
  '"na\\u006de":"shell_exec",',
  '"method":"tools/call",',
  '"jsonrpc":"2.0",',
  '"id":99,',
  '\\u0073',
  '\\ud800',
  '\\/',
  ',',
  '{',
  '}',
  '[',
  ']',
  '"',
  ':',
  ' ',
  '\ufeff',
  'null',
  '"Name":"shell_exec",',
  '"params":{"name":"shell_exec"},',
].map(enc);

const seeds: Uint8Array[] = [...versionFixtures(), ...hostileFixtures()].map((f) => f.bytes);
const shellSeeds = seeds.filter((b) => new TextDecoder().decode(b).includes('shell_exec'));

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function mutate(input: Uint8Array, rnd: () => number): Uint8Array {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const pos = (b: Uint8Array) => Math.floor(rnd() * (b.length + 1));
  let b = input;
  const n = 1 + Math.floor(rnd() * 3);
  for (let k = 0; k < n; k++) {
    const text = () => new TextDecoder().decode(b);
    switch (Math.floor(rnd() * 10)) {
      case 0: {
        // byte flip
        if (b.length === 0) break;
        b = b.slice();
        b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        break;
      }
      case 1: {
        // snippet insertion
        const p = pos(b);
        b = concat(b.subarray(0, p), pick(SNIPPETS), b.subarray(p));
        break;
      }
      case 2: {
        // deletion of a short range
        const p = pos(b);
        b = concat(b.subarray(0, p), b.subarray(Math.min(b.length, p + 1 + Math.floor(rnd() * 8))));
        break;
      }
      case 3: {
        // duplicate key next to an existing name/method
        const t = text();
        const key = pick(['"name":', '"method":', '"params":', '"jsonrpc":', '"id":']);
        const i = t.indexOf(key);
        if (i < 0) break;
        b = enc(
          t.slice(0, i) +
            pick(['"name":"shell_exec",', '"method":"tools/call",', '"na\\u006de":"x",']) +
            t.slice(i),
        );
        break;
      }
      case 4: {
        // escape one character of the text as \uXXXX (inside or outside strings)
        const t = text();
        const i = Math.floor(rnd() * t.length);
        const ch = t.charCodeAt(i);
        if (Number.isNaN(ch)) break;
        b = enc(t.slice(0, i) + `\\u${ch.toString(16).padStart(4, '0')}` + t.slice(i + 1));
        break;
      }
      case 5:
        // truncation
        b = b.subarray(0, Math.floor(rnd() * b.length));
        break;
      case 6:
        // wrap in a batch with another corpus message
        b =
          rnd() < 0.5
            ? concat(enc('['), b, enc(','), pick(seeds), enc(']'))
            : concat(enc('['), pick(seeds), enc(','), b, enc(']'));
        break;
      case 7: {
        // retarget a benign call at the denied tool
        b = enc(text().replace(/get_weather|code_review|write_file/, 'shell_exec'));
        break;
      }
      case 8: {
        // change the case of one key
        const t = text();
        const m = pick(['"name"', '"method"', '"jsonrpc"', '"params"']);
        b = enc(t.replace(m, m.toUpperCase()));
        break;
      }
      default: {
        // invalid or non-shortest UTF-8 bytes
        const p = pos(b);
        b = concat(
          b.subarray(0, p),
          pick([
            Uint8Array.of(0xff),
            Uint8Array.of(0xc0, 0xaf),
            Uint8Array.of(0xed, 0xa0, 0x80),
            Uint8Array.of(0xe2, 0x82),
          ]),
          b.subarray(p),
        );
      }
    }
  }
  return b;
}

/** How many tools/call shell_exec messages a lenient server would execute. */
function lenientShellCalls(bytes: Uint8Array): number {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return 0;
  }
  const isShell = (v: unknown): boolean => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    const o = v as Record<string, unknown>;
    const p = o['params'];
    return (
      o['method'] === 'tools/call' &&
      typeof p === 'object' &&
      p !== null &&
      (p as Record<string, unknown>)['name'] === 'shell_exec'
    );
  };
  if (Array.isArray(value)) return value.filter(isShell).length;
  return isShell(value) ? 1 : 0;
}

const ctx = { transport: 'http' as const, server: { name: 'x', url: 'https://x/mcp' } };

describe('connector fuzz', () => {
  it('never throws and never lets a shell_exec call through unseen', () => {
    const rnd = mulberry32(0x60f);
    const stats = { total: 0, shell: 0, refused: 0, seen: 0, mcp: 0, other: 0 };
    for (let i = 0; i < 6000; i++) {
      const seed =
        rnd() < 0.5
          ? shellSeeds[Math.floor(rnd() * shellSeeds.length)]!
          : seeds[Math.floor(rnd() * seeds.length)]!;
      const body = mutate(seed, rnd);
      stats.total++;
      let r: ReturnType<typeof classifyBody>;
      try {
        r = classifyBody(body);
      } catch (err) {
        throw new Error(
          `classifyBody threw on ${JSON.stringify(new TextDecoder().decode(body))}: ${String(err)}`,
        );
      }
      if (r.kind === 'mcp') stats.mcp++;
      if (r.kind === 'other') stats.other++;
      const calls = lenientShellCalls(body);
      if (calls === 0) continue;
      stats.shell++;
      if (r.kind === 'malformed') {
        stats.refused++;
        continue;
      }
      const seen =
        r.kind === 'mcp'
          ? r.messages
              .flatMap((m) => (m.kind === 'response' ? [] : [toEnvelope(m, ctx)]))
              .filter((e) => e.method === 'tools/call' && e.tool === 'shell_exec').length
          : 0;
      expect(seen, `unseen shell_exec in ${JSON.stringify(new TextDecoder().decode(body))}`).toBe(calls);
      stats.seen++;
    }
    // The fuzzer must actually exercise the property on both sides.
    expect(stats.shell).toBeGreaterThan(500);
    expect(stats.refused).toBeGreaterThan(100);
    expect(stats.seen).toBeGreaterThan(100);
  });
});
