import { describe, expect, it } from 'vitest';
import { RefusalBudget } from '../../src/gateway/refusal-budget.js';

describe('RefusalBudget', () => {
  const budget = (now: { t: number }) =>
    new RefusalBudget({
      perSource: { perSecond: 1, burst: 2 },
      global: { perSecond: 10, burst: 3 },
      now: () => now.t,
    });

  it('records a burst per source, counts the rest, and hands the count over when the budget resumes', () => {
    const now = { t: 0 };
    const b = budget(now);
    expect(b.admit('a')).toEqual({ record: true, suppressed: 0, from: 'a' });
    expect(b.admit('a')).toEqual({ record: true, suppressed: 0, from: 'a' });
    expect(b.admit('a')).toEqual({ record: false });
    expect(b.admit('a')).toEqual({ record: false });
    now.t = 1000;
    expect(b.admit('a')).toEqual({ record: true, suppressed: 2, from: 'a' });
  });

  it('bounds all sources together, and drains what is left, the largest first', () => {
    const now = { t: 0 };
    const b = budget(now);
    b.admit('a');
    b.admit('b');
    b.admit('c');
    expect(b.admit('d')).toEqual({ record: false });
    b.admit('a');
    b.admit('a');
    expect(b.drain()).toEqual([
      { address: 'a', suppressed: 2 },
      { address: 'd', suppressed: 1 },
    ]);
    expect(b.drain(1)).toEqual([]);
    b.admit('a');
    b.admit('d');
    b.admit('e');
    expect(b.drain(1)).toEqual([
      { address: 'a', suppressed: 1 },
      { address: '2 other addresses', suppressed: 2 },
    ]);
  });
});
