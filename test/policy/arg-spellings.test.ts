import { describe, expect, it } from 'vitest';
import { misspelledKey, namesReadBy } from '../../src/policy/arg-spellings.js';
import { call, policy } from './helpers.js';

describe('namesReadBy: the member names a when expression may read', () => {
  it('collects .members and string keys, not methods, not text inside strings', () => {
    const n = namesReadBy(
      `has(args.pageSize) && args["Dest"] == "x.evil" && 'note' in args && args.tags.exists(t, t.startsWith("a"))`,
    );
    expect([...n.values()].flatMap((s) => [...s]).sort()).toEqual(['Dest', 'note', 'pageSize', 'tags']);
    expect(n.get('pagesize')).toEqual(new Set(['pageSize']));
  });

  it('an expression that does not read args reads no argument names', () => {
    expect(namesReadBy('run.tainted && tool == "x"').size).toBe(0);
  });
});

describe('misspelledKey', () => {
  const names = namesReadBy('has(args.dest) && args.meta.pageSize > 1');
  it('finds a key, at any depth, that folds onto a read name without being it', () => {
    expect(misspelledKey({ DEST: 'x' }, names)).toEqual({ key: 'DEST', name: 'dest' });
    expect(misspelledKey({ 'de\u017ft': 'x' }, names)).toEqual({ key: 'de\u017ft', name: 'dest' });
    expect(misspelledKey({ meta: [{ pagesize: 3 }] }, names)).toEqual({ key: 'pagesize', name: 'pageSize' });
  });
  it('exact spellings and unrelated keys pass', () => {
    expect(misspelledKey({ dest: 'x', meta: { pageSize: 2 }, Other: 1 }, names)).toBeNull();
  });
});

describe('decide: a rule reading args denies a call that spells a read name in another case', () => {
  const p = policy(`version: 1
default: allow
rules:
  - id: no-big
    tool: refund
    when: has(args.amount) && args.amount > 1000
    decision: deny
  - id: ro
    tool: status
    when: run.tainted
    decision: deny
`);
  it('denies by the rule that reads the name, to fail closed', () => {
    const d = p.decide(call('refund', { args: { AMOUNT: 50000 } }));
    expect(d).toMatchObject({ decision: 'deny', rule: 'no-big' });
    expect(d.reason).toContain('case-insensitive server');
    expect(p.decide(call('refund', { args: { amount: 5 } })).rule).toBe('default');
  });
  it('a rule that does not read args ignores argument spellings', () => {
    expect(p.decide(call('status', { args: { TAINTED: true } })).decision).toBe('allow');
  });
});
