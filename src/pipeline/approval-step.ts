import type { ApprovalVerdict, Envelope, HeldCall, JsonObject } from '../types.js';
import type { GrantScope, HeldCallRequest } from '../approvals/broker.js';
import {
  InputRequiredApprovals,
  isGovState,
  retryFieldsOf,
  withoutRetryFields,
} from '../approvals/input-required.js';
import { waitForVerdict } from './await-verdict.js';
import type { GovernOptions } from './exchange.js';
import type { PipelineDeps } from './stages.js';
import { heldArguments } from '../mcp/envelope.js';
import { targetOf } from './call-events.js';

/**
 * Whose calls an approval "for the rest of the run" of `env` covers: its principal under
 * `gov serve` with edge authentication; under `--auth none`, where every client is the same
 * principal, its MCP session on its route (servers behind two routes may both issue `1`;
 * none without a session: the approval then covers this call only); elsewhere the run's one
 * agent.
 */
export function grantScope(env: Envelope): GrantScope {
  if (env.principal !== undefined) return env.principal;
  if (env.transport !== 'gateway') return '';
  return env.sessionId !== undefined ? `session ${JSON.stringify([env.route ?? null, env.sessionId])}` : null;
}

/** How a held call's wait ended. */
export type HeldOutcome =
  /** 2026-07-28: gov answered at once with an `input_required` result; the retry settles it. */
  | { kind: 'asked'; result: JsonObject }
  /** A retry whose `requestState` gov did not mint for this call. */
  | { kind: 'refused'; why: string }
  /** A verdict; `forward` is the retry without gov's own fields, when it was one. */
  | { kind: 'verdict'; verdict: ApprovalVerdict; forward?: JsonObject };

/**
 * Waiting for a human's verdict on a held call, through whichever channel reaches one: the
 * TUI, `gov approvals`/`gov approve`, the client's own elicitation (2025 eras, on the call's
 * stream), or an `input_required` round trip (2026-07-28, answered in the client's retry).
 */
export class ApprovalStep {
  /** Held calls asked about in `input_required` results, per run. */
  private readonly inputRequired = new InputRequiredApprovals();

  constructor(private readonly deps: PipelineDeps) {}

  /**
   * What approvers, webhooks and the client's own prompt are shown of a held call, and what an
   * approval binds: secrets redacted (in a uri too), and the params of methods without
   * arguments (which task `tasks/cancel` names).
   */
  heldRequest(
    env: Envelope,
    o: { rule: string; reason: string; timeoutMs: number; policyDigest: string },
  ): HeldCallRequest {
    const shown = heldArguments(env);
    return {
      run: this.deps.run,
      server: env.server.name ?? env.server.url,
      tool: this.deps.redactor.redactString(targetOf(env)).text,
      method: env.method,
      args: this.deps.redactor.redactJson(shown).value,
      args_digest: this.deps.digestArgs(shown),
      policy_digest: o.policyDigest,
      rule: o.rule,
      reason: o.reason,
      timeout_ms: o.timeoutMs,
      ...(env.principal !== undefined ? { principal: env.principal } : {}),
    };
  }

  async verdictFor(
    env: Envelope,
    held: HeldCallRequest,
    opts: GovernOptions,
    asksClients: boolean,
  ): Promise<HeldOutcome> {
    const { approvals } = this.deps;
    const inBand =
      asksClients && approvals.settle
        ? retryFieldsOf(env.message.kind === 'request' ? env.message.params : undefined)
        : undefined;
    if (inBand && isGovState(inBand.requestState)) {
      const settle = (id: string, v: ApprovalVerdict) => approvals.settle?.(id, v) === true;
      const r = await this.inputRequired.resume(inBand.requestState, held, inBand, settle);
      if (!r.ok) return { kind: 'refused', why: r.why };
      return { kind: 'verdict', verdict: r.verdict, forward: withoutRetryFields(env.message.raw) };
    }
    if (inBand && inBand.requestState === undefined && env.id !== null) {
      let heldCall: HeldCall | undefined;
      const pending = approvals.request(held, {
        onHeld: (h) => (heldCall = h),
        grantScope: grantScope(env),
        ...(opts.bytes !== undefined ? { bytes: opts.bytes } : {}),
      });
      // Held (not settled at once by an earlier approve_run): ask, and wait for the retry.
      if (heldCall)
        return { kind: 'asked', result: this.inputRequired.ask(heldCall, inBand.client, pending) };
      return { kind: 'verdict', verdict: await pending };
    }
    return { kind: 'verdict', verdict: await waitForVerdict(this.deps, held, opts, grantScope(env)) };
  }
}
