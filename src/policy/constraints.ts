/**
 * Per-run enforcement of a rule's `constraints`: `max_calls` per run and a sliding-window
 * `rate`. Stateful but pure (time is passed in), kept apart from decide() so decisions stay
 * replayable. One tracker per run; check only calls the policy allowed. Under `gov serve`
 * (one run for every client) each principal has its own count and window: one client must
 * not spend the others' calls.
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

  /**
   * Counts the call when it is within bounds; a refused call is not counted. `principal`
   * (gov serve's authenticated client) gets a budget of its own.
   */
  check(
    ruleId: string,
    constraints: Constraints | undefined,
    nowMs: number,
    principal?: string,
  ): ConstraintCheck {
    if (!constraints || (constraints.maxCalls === undefined && constraints.rate === undefined))
      return { ok: true };
    const key = stateKey(ruleId, principal);
    let s = this.state.get(key);
    if (!s) {
      s = { calls: 0, times: [], head: 0 };
      this.state.set(key, s);
    }
    const each = principal === undefined ? '' : ' for each principal';
    if (constraints.maxCalls !== undefined && s.calls >= constraints.maxCalls)
      return {
        ok: false,
        reason: `rule '${ruleId}' allows at most ${constraints.maxCalls} call${constraints.maxCalls === 1 ? '' : 's'} per run${each}`,
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
          reason: `rule '${ruleId}' allows at most ${rate.count} call${rate.count === 1 ? '' : 's'} per ${formatDuration(rate.perMs)}${each}`,
        };
      s.times.push(nowMs);
    }
    s.calls++;
    return { ok: true };
  }

  /** Calls counted so far for a rule (and principal), as the audit's replay counter. */
  count(ruleId: string, principal?: string): number {
    return this.state.get(stateKey(ruleId, principal))?.calls ?? 0;
  }
}

function stateKey(ruleId: string, principal: string | undefined): string {
  return principal === undefined ? ruleId : `${ruleId}\0${principal}`;
}
