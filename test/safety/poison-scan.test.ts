import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasBase64Run, isPoisoning, sanitizeExcerpt, scanServer } from '../../src/safety/poison-scan.js';
import { definitionOf, type ToolDefinition } from '../../src/safety/tool-definition.js';
import type { JsonValue } from '../../src/types.js';
import { POISONED, SPLIT_ACROSS_TOOLS } from './poisoning/corpus.js';

const def = (t: unknown) => definitionOf(t as JsonValue)!;

describe('poisoning corpus', () => {
  it.each(POISONED.map((c) => [c.label, c] as const))('flags %s', (_label, c) => {
    const findings = scanServer([def(c.tool)]);
    expect(findings.map((f) => f.rule)).toContain(c.rule);
    expect(findings.some(isPoisoning)).toBe(true);
  });

  it('flags a payload split across tools only in the joined text', () => {
    const defs = SPLIT_ACROSS_TOOLS.map(def);
    expect(defs.flatMap((d) => scanServer([d]))).toEqual([]);
    const f = scanServer(defs);
    expect(f).toEqual([
      expect.objectContaining({ rule: 'override-instructions', tool: null, where: 'all tools' }),
    ]);
  });

  it('keeps excerpts short and spells out invisible characters', () => {
    const tagged = POISONED.find((c) => c.rule === 'unicode-tags')!;
    const f = scanServer([def(tagged.tool)]).find((x) => x.rule === 'unicode-tags')!;
    expect(f.excerpt).toMatch(/<U\+E0072>/);
    expect(f.excerpt.length).toBeLessThanOrEqual(120);
    expect(/[\u{E0000}-\u{E007F}\u202A-\u202E]/u.test(f.excerpt)).toBe(false);
    expect(sanitizeExcerpt('a\u202Eb\x1b[31m')).toBe('a<U+202E>b<U+001B>[31m');
  });
});

describe('real servers scan clean (false positives)', () => {
  const dir = new URL('../fixtures/tool-lists/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

  it('has the four reference servers', () => {
    expect(files.sort()).toEqual([
      'server-everything.json',
      'server-filesystem.json',
      'server-memory.json',
      'server-sequential-thinking.json',
    ]);
  });

  it.each(files)('%s has no poisoning finding', (file) => {
    const list = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as { tools: unknown[] };
    const defs = list.tools.map(def).filter((d): d is ToolDefinition => d !== null);
    expect(defs.length).toBeGreaterThan(0);
    expect(scanServer(defs).filter(isPoisoning)).toEqual([]);
  });
});

describe("hasBase64Run (the blob rules' gate)", () => {
  // What the gate stands for: a run of n base64 characters anywhere.
  const byRegex = (text: string, n: number) => new RegExp(`[A-Za-z0-9+/]{${n}}`).test(text);

  it('agrees with the regex on runs at every length and position around n', () => {
    const n = 8;
    for (const pad of ['', ' ', 'ab cd ', '.'.repeat(13)])
      for (let len = 0; len <= 2 * n + 1; len++)
        for (const tail of ['', ' x', '-' + 'Z'.repeat(n - 1), ' ' + 'q'.repeat(n)]) {
          const text = pad + 'A'.repeat(len) + tail;
          expect(hasBase64Run(text, n), JSON.stringify(text)).toBe(byRegex(text, n));
        }
  });

  it('agrees with the regex on random text over a small alphabet', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const alphabet = 'aZ9+/ .-=\u00e9\u{1F600}';
    const chars = [...alphabet];
    for (let k = 0; k < 3000; k++) {
      let text = '';
      const len = next() % 60;
      for (let i = 0; i < len; i++) text += chars[next() % (next() % 4 === 0 ? chars.length : 5)];
      for (const n of [1, 3, 6, 10])
        expect(hasBase64Run(text, n), JSON.stringify(text)).toBe(byRegex(text, n));
    }
  });

  it('gates the blob rules: a 64-character run is reported, prose with long words is not', () => {
    const blob = 'QUJD'.repeat(25);
    const defs = [{ name: 'a', description: `Use this: ${blob}` }] as ToolDefinition[];
    expect(scanServer(defs).map((f) => f.rule)).toContain('base64-blob');
    const prose = [{ name: 'b', description: `${'x'.repeat(63)} ${'y'.repeat(63)}` }] as ToolDefinition[];
    expect(scanServer(prose).filter((f) => f.rule.endsWith('-blob'))).toEqual([]);
  });
});
