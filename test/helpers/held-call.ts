import type { HeldCallRequest } from '../../src/approvals/broker.js';

/** A typical call held for approval (a large refund); override any field. */
export function heldCallRequest(over: Partial<HeldCallRequest> = {}): HeldCallRequest {
  return {
    run: 'r-test',
    server: 'payments',
    tool: 'refund',
    method: 'tools/call',
    args: { amount: 5000 },
    args_digest: 'sha256:abc',
    policy_digest: 'sha256:def',
    rule: 'refunds',
    reason: 'Refunds need a human',
    timeout_ms: 60_000,
    ...over,
  };
}
