import { describe, expect, it } from 'vitest';
import { budgetSource, RefusalBudget } from '../../src/gateway/refusal-budget.js';

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

  it('budgets an IPv6 client per /64: rotating addresses inside it gains nothing', () => {
    const now = { t: 0 };
    const b = budget(now);
    expect(b.admit('2001:db8::1')).toEqual({ record: true, suppressed: 0, from: '2001:db8:0:0::/64' });
    expect(b.admit('2001:db8::2:3')).toEqual({ record: true, suppressed: 0, from: '2001:db8:0:0::/64' });
    expect(b.admit('2001:db8:0:0:ffff:ffff:ffff:fffe')).toEqual({ record: false });
    expect(b.admit('2001:db8:0:1::1')).toEqual({ record: true, suppressed: 0, from: '2001:db8:0:1::/64' });
    expect(b.drain()).toEqual([{ address: '2001:db8:0:0::/64', suppressed: 1 }]);
  });
});

describe('budgetSource', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:DB8:1:2:aaaa::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:bbbb:cccc:dddd:eeee', '2001:db8:1:2::/64'],
    ['2001:db8:0001:0002::', '2001:db8:1:2::/64'],
    ['1::2:3:4:5:6', '1:0:0:2::/64'],
    ['64:ff9b::1.2.3.4', '64:ff9b:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['unknown', 'unknown'],
    ['1:2:3', '1:2:3'],
    ['1::2::3', '1::2::3'],
  ])('%s → %s', (address, source) => {
    expect(budgetSource(address)).toBe(source);
  });
});
