import { formatDuration } from '../policy/duration.js';
import type { CallContext, Pipeline } from '../pipeline.js';
import type { GovResponse } from '../mcp/wire-errors.js';
import type { ServerMessageProcessor } from './server-messages.js';

/** The rule whose `constraints.timeout` bounds an exchange, and its limit. */
export interface TimeLimit {
  rule: string;
  ms: number;
}

/** The tightest `constraints.timeout` among the calls forwarded together (a batch). */
export function tightestLimit(calls: Iterable<CallContext>): TimeLimit | undefined {
  let best: TimeLimit | undefined;
  for (const c of calls) {
    const ms = c.upstreamTimeoutMs;
    if (ms !== undefined && (best === undefined || ms < best.ms)) best = { rule: c.decision.rule, ms };
  }
  return best;
}

export function limitText(l: TimeLimit): string {
  return `gov policy rule '${l.rule}' allows ${formatDuration(l.ms)} (constraints.timeout)`;
}

/**
 * A wall-clock limit on a forwarded call, counted from when it was forwarded. Neither
 * response headers nor streamed events (progress notifications) reset it: when it fires the
 * upstream request is aborted through `signal` and the transport answers the client itself.
 */
export class CallDeadline {
  private readonly ac = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly listeners: Array<() => void> = [];

  constructor(readonly limit: TimeLimit) {
    this.timer = setTimeout(() => this.expire(), limit.ms);
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  private fired = false;

  get expired(): boolean {
    return this.fired;
  }

  /** The client went away: abort the upstream request too (that is no timeout). */
  cancel(): void {
    clearTimeout(this.timer);
    this.listeners.length = 0;
    this.ac.abort(new Error('the client went away'));
  }

  /** Run `fn` when the limit is reached (at once if it already was). */
  onExpire(fn: () => void): void {
    if (this.expired) fn();
    else this.listeners.push(fn);
  }

  /** The call is over: the limit no longer applies. */
  clear(): void {
    clearTimeout(this.timer);
    this.listeners.length = 0;
  }

  private expire(): void {
    this.fired = true;
    this.ac.abort(new Error(`upstream timed out: ${limitText(this.limit)}`));
    for (const fn of this.listeners.splice(0)) fn();
  }
}

/** gov's answers for the calls of an exchange still unanswered when its deadline fired. */
export function timeoutAnswers(
  pipeline: Pipeline,
  processor: ServerMessageProcessor,
  deadline: CallDeadline,
): GovResponse[] {
  return processor.takePending().flatMap((c) => pipeline.upstreamTimedOut(c, deadline.limit) ?? []);
}
