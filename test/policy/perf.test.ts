import { describe, expect, it } from 'vitest';
import { loadPolicyFromText } from '../../src/policy/load.js';
import { call } from './helpers.js';
import { policyText as bigPolicy } from '../../scripts/bench/in-process.js';

/** A sanity check that 1,000 rules compile and decide correctly in bulk; no timing asserts. */
describe('policy at 1,000 rules', () => {
  it('compiles and decides many calls correctly', () => {
    const p = loadPolicyFromText(bigPolicy(1000), 'big.yaml');
    expect(p.ruleCount).toBe(1000);
    const calls = [
      call('t999_x'),
      call('t997', { args: { n: 1 } }),
      call('t997', { args: { n: 5000 } }),
      call('nothing'),
      call('t0_a'),
    ];
    const expected = ['r999', 'r997', 'default', 'default', 'r0'];
    let ops = 0;
    const start = performance.now();
    for (let i = 0; i < 20_000; i++) {
      const k = i % calls.length;
      expect(p.decide(calls[k]!).rule).toBe(expected[k]);
      ops++;
    }
    const perCallUs = ((performance.now() - start) * 1000) / ops;
    // Reported, not asserted: CI machines vary.
    console.log(`policy decide at 1,000 rules: ${perCallUs.toFixed(2)} µs/call (incl. expect)`);
  });

  it('keeps deciding correctly when the candidate cache is cycled by many distinct tools', () => {
    const p = loadPolicyFromText(bigPolicy(30), 'small.yaml');
    for (let i = 0; i < 25_000; i++) expect(p.decide(call(`t0_${i}`)).rule).toBe('r0');
    expect(p.decide(call('t3_z')).rule).toBe('r3');
  });
});
