/** Shadow mode: a decision that would block or hold is recorded, and the call goes on as allowed. */
import type { AuditInput, PolicyDecision } from '../types.js';

export function shadowed(rec: AuditInput, decision: PolicyDecision): PolicyDecision {
  rec.shadow_decision = decision.decision;
  rec.shadow_rule = decision.rule;
  return {
    decision: 'allow',
    rule: decision.rule,
    reason: `shadow mode: would ${decision.decision === 'deny' ? 'deny' : 'hold'} (${decision.reason})`,
  };
}
