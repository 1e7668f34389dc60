import type { ApprovalVerdict, JsonRpcId } from '../types.js';
import {
  approvalTimeout,
  approverDenial,
  policyDenial,
  type DenyAs,
  type GovResponse,
} from '../mcp/wire-errors.js';
import { formatDuration } from '../policy/duration.js';
import { UNATTENDED_REASON } from './await-verdict.js';

/** The approval record's status for a verdict. */
export function approvalStatus(v: ApprovalVerdict): string {
  if (v.approved) return 'approved';
  if (v.approver === 'timeout' || v.approver === 'cancelled') return v.approver;
  return 'denied';
}

/** The approval record's reason: the approver's own words, else what happened. */
export function approvalReason(v: ApprovalVerdict, timeoutMs: number): string {
  if (v.reason !== undefined) return v.reason;
  if (v.approved) return 'approved';
  return v.approver === 'timeout' ? `Approval timed out after ${formatDuration(timeoutMs)}` : 'denied';
}

/** What the client is told about a held call that was not approved, and the event's words. */
export function refusalOf(
  id: JsonRpcId,
  v: ApprovalVerdict,
  o: { rule: string; auditId: string; timeoutMs: number; denyAs: DenyAs },
): { response: GovResponse; outcome: string; reason: string } {
  const info = { rule: o.rule, audit_id: o.auditId };
  const denyAs = { denyAs: o.denyAs };
  if (v.approver === 'unattended') {
    const reason = v.reason ?? UNATTENDED_REASON;
    return { response: policyDenial(id, { ...info, reason }, denyAs), outcome: 'unattended', reason };
  }
  if (v.approver === 'timeout') {
    const limit = formatDuration(o.timeoutMs);
    return {
      response: approvalTimeout(id, limit, info, denyAs),
      outcome: 'timeout',
      reason: `approval timed out after ${limit}`,
    };
  }
  // The event says who ended the hold: the client withdrawing, or a human (and why).
  const byHuman = v.approver !== 'cancelled' && v.approver !== 'channel-error' && v.approver !== 'revoked';
  return {
    response: approverDenial(id, v.reason ?? 'no reason given', info, denyAs),
    outcome: v.approver === 'cancelled' ? 'cancelled' : byHuman ? 'rejected' : 'error',
    reason: byHuman
      ? `denied by ${v.approver}${v.reason ? `: ${v.reason}` : ''}`
      : approvalReason(v, o.timeoutMs),
  };
}
