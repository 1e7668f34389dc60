import type { Envelope, GovernedCallEvent } from '../types.js';

/** What a decision event says about the decision (the final one, after approval). */
export interface EventDecision {
  decision: GovernedCallEvent['decision'];
  rule: string;
  reason: string;
}

/** The tool name, prompt name or resource URI a call is about. */
export function targetOf(env: Envelope): string {
  return env.tool ?? env.uri ?? '';
}

/** The event the TUI and the one-line stderr summaries are built from. */
export function callEvent(run: string, env: Envelope, d: EventDecision, outcome: string): GovernedCallEvent {
  return {
    ts: new Date().toISOString(),
    run,
    transport: env.transport,
    server: env.server.name ?? env.server.url,
    method: env.method,
    target: targetOf(env),
    decision: d.decision,
    rule: d.rule,
    reason: d.reason,
    outcome,
  };
}
