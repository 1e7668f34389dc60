import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { problems } from './helpers.js';
import { RESERVED_RULE_IDS } from '../../src/policy/schema.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(name) ? [p] : [];
  });
}

describe('reserved rule ids', () => {
  it('are exactly the rule ids gov itself emits', () => {
    const emitted = new Set<string>();
    for (const file of sourceFiles(join(import.meta.dirname, '../../src')))
      for (const m of readFileSync(file, 'utf8').matchAll(/\brule: '([^']+)'/g)) emitted.add(m[1]!);
    expect([...emitted].sort()).toEqual([...RESERVED_RULE_IDS].sort());
  });

  it.each(RESERVED_RULE_IDS)('a policy rule may not be named %s', (id) => {
    expect(problems(`version: 1\nrules:\n  - id: ${id}\n    decision: allow\n`)).toEqual([
      `gov.yaml:3:9: rule id '${id}' is reserved by gov; choose another`,
    ]);
  });
});
