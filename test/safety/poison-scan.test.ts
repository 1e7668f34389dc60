import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isPoisoning, sanitizeExcerpt, scanServer } from '../../src/safety/poison-scan.js';
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
