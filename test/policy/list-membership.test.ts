import { describe, expect, it } from 'vitest';
import { call, policy } from './helpers.js';
import type { JsonObject } from '../../src/types.js';

describe('`args… in [literals]`: an argument of a type the list does not hold denies', () => {
  const p = policy(`version: 1
default: allow
rules:
  - id: closed
    tool: transfer
    when: args.account in [13, 42] || args["meta"].tier in ["gold"]
    decision: deny
`);
  const decide = (args: JsonObject) => p.decide(call('transfer', { args }));

  it('typed arguments are decided as written', () => {
    expect(decide({ account: 13 }).decision).toBe('deny');
    expect(decide({ account: 7, meta: { tier: 'free' } }).decision).toBe('allow');
    expect(decide({ account: 7, meta: { tier: 'gold' } }).decision).toBe('deny');
    expect(decide({ account: 13.0 }).decision).toBe('deny');
  });

  it('another type fails the condition, so the rule denies', () => {
    for (const args of <JsonObject[]>[
      { account: '13' },
      { account: true },
      { account: [13] },
      { account: 7, meta: { tier: 1 } },
    ]) {
      const d = decide(args);
      expect(d.decision, JSON.stringify(args)).toBe('deny');
      expect(d.reason).toMatch(/cannot look up a value of type \w+ in a list of/);
    }
  });

  it('lists that are not written out, and other left sides, are CEL’s to judge', () => {
    const q = policy(`version: 1
default: allow
rules:
  - id: r
    tool: t
    when: '"admin" in args.roles || tool in ["x"]'
    decision: deny
`);
    expect(q.decide(call('t', { args: { roles: ['user', 1] } })).decision).toBe('allow');
    expect(q.decide(call('t', { args: { roles: ['admin'] } })).decision).toBe('deny');
  });
});
