import { describe, expect, it } from 'vitest';
import { ConstraintTracker } from '../../src/policy/constraints.js';
import { formatDuration, parseDurationMs, parseRate } from '../../src/policy/duration.js';
import { parseDuration } from '../../cli/args.js';

describe('ConstraintTracker', () => {
  it('enforces max_calls per run, counting only accepted calls', () => {
    const t = new ConstraintTracker();
    const c = { maxCalls: 2 };
    expect(t.check('w', c, 0)).toEqual({ ok: true });
    expect(t.check('w', c, 1)).toEqual({ ok: true });
    expect(t.check('w', c, 2)).toEqual({ ok: false, reason: "rule 'w' allows at most 2 calls per run" });
    expect(t.count('w')).toBe(2);
    // Separate rules, separate counts.
    expect(t.check('other', c, 3)).toEqual({ ok: true });
  });

  it('keeps a count and a window per principal (gov serve), apart from the unnamed one', () => {
    const t = new ConstraintTracker();
    const c = { maxCalls: 1, rate: { count: 5, perMs: 1000 } };
    expect(t.check('w', c, 0, 'token:alice')).toEqual({ ok: true });
    expect(t.check('w', c, 1, 'token:alice')).toEqual({
      ok: false,
      reason: "rule 'w' allows at most 1 call per run for each principal",
    });
    expect(t.check('w', c, 2, 'token:bob')).toEqual({ ok: true });
    expect(t.check('w', c, 3)).toEqual({ ok: true });
    expect([t.count('w', 'token:alice'), t.count('w', 'token:bob'), t.count('w')]).toEqual([1, 1, 1]);
    const r = { rate: { count: 1, perMs: 1000 } };
    expect(t.check('r', r, 0, 'token:alice').ok).toBe(true);
    expect(t.check('r', r, 10, 'token:alice')).toEqual({
      ok: false,
      reason: "rule 'r' allows at most 1 call per 1s for each principal",
    });
    expect(t.check('r', r, 20, 'token:bob').ok).toBe(true);
  });

  it('enforces a sliding-window rate', () => {
    const t = new ConstraintTracker();
    const c = { rate: { count: 2, perMs: 1000 } };
    expect(t.check('r', c, 0).ok).toBe(true);
    expect(t.check('r', c, 500).ok).toBe(true);
    expect(t.check('r', c, 999)).toEqual({ ok: false, reason: "rule 'r' allows at most 2 calls per 1s" });
    expect(t.check('r', c, 1000).ok).toBe(true); // the call at 0 has left the window
    expect(t.check('r', c, 1200).ok).toBe(false);
    expect(t.check('r', c, 1500).ok).toBe(true);
  });

  it('combines max_calls and rate; a refused call is not counted', () => {
    const t = new ConstraintTracker();
    const c = { maxCalls: 3, rate: { count: 1, perMs: 100 } };
    expect(t.check('x', c, 0).ok).toBe(true);
    expect(t.check('x', c, 50).ok).toBe(false);
    expect(t.check('x', c, 100).ok).toBe(true);
    expect(t.check('x', c, 200).ok).toBe(true);
    expect(t.check('x', c, 300)).toEqual({ ok: false, reason: "rule 'x' allows at most 3 calls per run" });
  });

  it('passes calls without bounds', () => {
    const t = new ConstraintTracker();
    expect(t.check('x', undefined, 0)).toEqual({ ok: true });
    expect(t.check('x', { timeoutMs: 5 }, 0)).toEqual({ ok: true });
  });

  it('stays correct over many calls (window compaction)', () => {
    const t = new ConstraintTracker();
    const c = { rate: { count: 10, perMs: 100 } };
    let accepted = 0;
    for (let now = 0; now < 100_000; now++) if (t.check('many', c, now).ok) accepted++;
    expect(accepted).toBe(10_000);
  });
});

describe('durations and rates', () => {
  it('parses durations', () => {
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('30s')).toBe(30_000);
    expect(parseDurationMs('10m')).toBe(600_000);
    expect(parseDurationMs('1h')).toBe(3_600_000);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs(45)).toBe(45_000);
    expect(parseDurationMs('0s')).toBeNull();
    expect(parseDurationMs('-1s')).toBeNull();
    expect(parseDurationMs('10 minutes')).toBeNull();
  });

  it('formats in the largest exact unit, text that parses back to the same value', () => {
    const cases: [number, string][] = [
      [120_000, '2m'],
      [600_000, '10m'],
      [3_600_000, '1h'],
      [1000, '1s'],
      [1500, '1500ms'],
      [250, '250ms'],
    ];
    for (const [ms, text] of cases) {
      expect(formatDuration(ms)).toBe(text);
      expect(parseDurationMs(text)).toBe(ms);
    }
  });

  it('is what the CLI flags parse, with a usage error for a bad or zero value', () => {
    expect(parseDuration('2m', '--approval-timeout')).toBe(120_000);
    expect(() => parseDuration('0', '--idle-timeout')).toThrow(/invalid --idle-timeout '0'/);
    expect(() => parseDuration('soon', '--since')).toThrow(/invalid --since 'soon'/);
  });

  it('parses rates', () => {
    expect(parseRate('10/min')).toEqual({ count: 10, perMs: 60_000 });
    expect(parseRate('5/sec')).toEqual({ count: 5, perMs: 1000 });
    expect(parseRate('100/hour')).toEqual({ count: 100, perMs: 3_600_000 });
    expect(parseRate('3/s')).toEqual({ count: 3, perMs: 1000 });
    expect(parseRate('0/min')).toBeNull();
    expect(parseRate('10/day')).toBeNull();
    expect(parseRate('ten/min')).toBeNull();
  });
});
