/**
 * What pins require of a call (a change awaiting review, suspected poisoning), and how that
 * combines with the policy's decision: the stricter one wins, but a policy deny always stands.
 */
import type { DecisionKind, PolicyDecision } from '../types.js';
import type { ToolAnnotations } from './tool-definition.js';

export interface CallPins {
  annotations: ToolAnnotations;
  /** The tool's current definition is one the user accepted. */
  pinned: boolean;
  /** What pins require of this call, when more than the policy's say. */
  decision?: { decision: DecisionKind; rule: 'pins-change' | 'pins-poison'; reason: string };
}

export const STRICTNESS: Record<DecisionKind, number> = { allow: 0, approve: 1, deny: 2 };

/**
 * The policy's decision, unless pins require at least as much: then the pins' decision, whose
 * reason names the change (a policy deny always stands; an approval keeps the rule's timeout).
 */
export function withPins(policy: PolicyDecision, pins: CallPins | undefined): PolicyDecision {
  const p = pins?.decision;
  if (!p || policy.decision === 'deny' || STRICTNESS[p.decision] < STRICTNESS[policy.decision]) return policy;
  const out: PolicyDecision = { decision: p.decision, rule: p.rule, reason: p.reason };
  if (p.decision === 'approve' && policy.approvalTimeoutMs !== undefined)
    out.approvalTimeoutMs = policy.approvalTimeoutMs;
  return out;
}
