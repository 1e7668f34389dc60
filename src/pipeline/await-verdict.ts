import type { ApprovalVerdict, HeldCall } from '../types.js';
import type { GrantScope, HeldCallRequest } from '../approvals/broker.js';
import type { GovernOptions } from './exchange.js';
import type { PipelineDeps } from './stages.js';

export const UNATTENDED_REASON =
  'this call needs approval, but no one can give it: no approval panel, no `gov approvals` screen and no MCP client that can be asked is attached (approvals.when_unattended: deny)';

/** Wait for a verdict through the live channels (and this call's elicitation, if any). */
export async function waitForVerdict(
  deps: Pick<PipelineDeps, 'approvals' | 'policy' | 'log'>,
  held: HeldCallRequest,
  opts: GovernOptions,
  grantScope: GrantScope,
): Promise<ApprovalVerdict> {
  const { approvals } = deps;
  const settings = deps.policy.approvals;
  let signal = opts.signal;
  try {
    signal = opts.onHeld?.() ?? signal;
  } catch (err) {
    deps.log.debug(`onHeld failed: ${(err as Error).message}`);
  }
  const elicitation = settings?.channels.includes('elicitation') ? opts.elicitation : undefined;
  let withdrawQuestion: (() => void) | undefined;
  const askClient =
    elicitation && approvals.settle
      ? (h: HeldCall) => {
          withdrawQuestion = elicitation.ask(h, (v) => approvals.settle?.(h.id, v));
        }
      : undefined;
  const unattended =
    settings?.whenUnattended === 'deny' && !askClient && (approvals.liveChannels?.() ?? []).length === 0;
  if (unattended) return { approved: false, approver: 'unattended', reason: UNATTENDED_REASON };
  try {
    return await approvals.request(held, {
      grantScope,
      ...(signal ? { signal } : {}),
      ...(askClient ? { onHeld: askClient } : {}),
      ...(opts.bytes !== undefined ? { bytes: opts.bytes } : {}),
    });
  } catch (err) {
    return {
      approved: false,
      approver: 'channel-error',
      reason: `approval channel failed: ${(err as Error).message}`,
    };
  } finally {
    // Another channel answered first (or the call ended): the client's question is withdrawn.
    withdrawQuestion?.();
  }
}
