/**
 * Fuzz of the in-place rewrite (stringEdits + applyEditsToBytes) through the real
 * ServerMessageProcessor: long strings (past the splice threshold) mixing escapes, surrogate
 * pairs (raw and escaped), lone escaped surrogates, marker-like text of the server's own,
 * adjacent secrets. Whatever the edits, the bytes gov would send must equal the encoded text,
 * that text must parse to the slow path's value, and no secret may survive in any decoding.
 * It found text like `[REDACTED:\"…]` copied into the JSON unescaped, and adjacent markers
 * whose spans split a surrogate pair (the bytes then drifted from the text).
 */
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/safety/redact.js';
import { applyEdits, applyEditsToBytes } from '../../src/pipeline/string-edits.js';
import { ServerMessageProcessor } from '../../src/pipeline/server-messages.js';
import { testPipeline } from '../helpers/test-pipeline.js';
import type { JsonValue } from '../../src/types.js';

const TOKEN = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
const VAULTS = ['hunter2-vault-value', 'abababababababab', '😀secret😀value', 'päss/wörd"q\\z'];
const redactor = createRedactor({
  vaultValues: new Map(VAULTS.map((v, i) => [`k${i}`, v])),
  secrets: true,
  vault: true,
});

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Raw JSON string content pieces (already escaped as they would appear in the text). */
const PIECES = [
  'plain text ',
  '\\n',
  '\\"',
  '\\\\',
  '\\/',
  '\\u0041',
  '\\u0067hp_' + TOKEN.slice(4),
  TOKEN,
  'é',
  '😀',
  '\\ud83d\\ude00',
  '\\ud800',
  '\\udc00',
  'ab',
  'abab',
  '[REDACTED:',
  ']',
  'x'.repeat(700),
  ...VAULTS.map((v) => JSON.stringify(v).slice(1, -1)),
  JSON.stringify(VAULTS[2]).slice(1, -1).replace('😀', '\\ud83d\\ude00'),
  'sk-' + 'aB3'.repeat(10),
];

describe('in-place string edits, fuzzed', () => {
  it('random long strings: bytes equal the text, the text parses to the slow path, no secret survives', async () => {
    const { pipeline } = await testPipeline('version: 1\ndefault: allow\n', { redactor });
    const p = new ServerMessageProcessor(pipeline, new Map());
    const r = rng(12345);
    let edited = 0;
    for (let n = 0; n < 400; n++) {
      let s = '';
      while (s.length < 4200 + Math.floor(r() * 3000)) s += PIECES[Math.floor(r() * PIECES.length)];
      const text = `{"jsonrpc":"2.0","method":"notifications/message","params":{"k\\u0065y":1,"data":"${s}","other":["${s.slice(0, 50).replace(/\\+$/, '')}"]}}`;
      let before: JsonValue;
      try {
        before = JSON.parse(text) as JsonValue;
      } catch {
        continue;
      }
      const slow = redactor.redactJson(before).value;
      const out = p.rewrite(text);
      if (out === null) {
        expect(slow).toEqual(before);
        continue;
      }
      const final = typeof out === 'string' ? out : applyEdits(text, out);
      if (Array.isArray(out)) {
        edited++;
        const bytes = applyEditsToBytes(text, Buffer.from(text), out);
        // Each inserted text is a marker gov made or a whole string token it serialised, never
        // decoded text taken from the value.
        for (const e of out) {
          if (e.text.startsWith('"')) expect(typeof JSON.parse(e.text), `edit at ${e.start}`).toBe('string');
          else expect(e.text, `edit at ${e.start}`).toMatch(/^\[REDACTED:[a-z0-9-]+\]$/);
        }
        expect(bytes.equals(Buffer.from(final))).toBe(true);
      }
      expect(JSON.parse(final)).toEqual(slow);
      const decoded = JSON.stringify(JSON.parse(final));
      expect(decoded).not.toContain(TOKEN);
      for (const v of VAULTS) expect(JSON.parse(final).params.data).not.toContain(v);
    }
    expect(edited).toBeGreaterThan(50);
  });
});
