/**
 * Per-run enforcement of a rule's `constraints`: `max_calls` per run and a sliding-window
 * `rate`. Stateful but pure (time is passed in), kept apart from decide() so decisions stay
 * replayable. One tracker per run; check only calls the policy allowed.
 */
import type { Constraints } from '../types.js';
import { formatDuration } from './duration.js';

export type ConstraintCheck = { ok: true } | { ok: false; reason: string };

interface RuleState {
  calls: number;
  /** Timestamps of recent calls within the rate window, oldest first, from `head`. */
  times: number[];
  head: number;
}

export class ConstraintTracker {
  private readonly state = new Map<string, RuleState>();

  /** Counts the call when it is within bounds; a refused call is not counted. */
  check(ruleId: string, constraints: Constraints | undefined, nowMs: number): ConstraintCheck {
    if (!constraints || (constraints.maxCalls === undefined && constraints.rate === undefined))
      return { ok: true };
    let s = this.state.get(ruleId);
    if (!s) {
      s = { calls: 0, times: [], head: 0 };
      this.state.set(ruleId, s);
    }
    if (constraints.maxCalls !== undefined && s.calls >= constraints.maxCalls)
      return {
        ok: false,
        reason: `rule '${ruleId}' allows at most ${constraints.maxCalls} call${constraints.maxCalls === 1 ? '' : 's'} per run`,
      };
    const rate = constraints.rate;
    if (rate) {
      const cutoff = nowMs - rate.perMs;
      while (s.head < s.times.length && (s.times[s.head] as number) <= cutoff) s.head++;
      // Compact now and then so the array does not grow with the run.
      if (s.head > 1024 && s.head * 2 > s.times.length) {
        s.times = s.times.slice(s.head);
        s.head = 0;
      }
      if (s.times.length - s.head >= rate.count)
        return {
          ok: false,
          reason: `rule '${ruleId}' allows at most ${rate.count} call${rate.count === 1 ? '' : 's'} per ${formatDuration(rate.perMs)}`,
        };
      s.times.push(nowMs);
    }
    s.calls++;
    return { ok: true };
  }

  /** Calls counted so far for a rule (for the UI and tests). */
  count(ruleId: string): number {
    return this.state.get(ruleId)?.calls ?? 0;
  }
}
