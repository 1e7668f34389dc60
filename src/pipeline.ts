import type { Envelope, JsonObject, JsonRpcMessage, JsonValue, PolicyDecision } from './types.js';
import { jsonRpcResult, policyDenial, upstreamTimeoutError, type GovResponse } from './mcp/wire-errors.js';
import type { TimeLimit } from './pipeline/call-deadline.js';
import type { ServerOrigin } from './pipeline/server-messages.js';
import type { PipelineDeps } from './pipeline/stages.js';
import type { Inspection, OutgoingRequest } from '../vault/inject.js';
import {
  CallRecords,
  roundMs as round,
  type AlertFacts,
  type OutcomeFacts,
} from './pipeline/call-records.js';
import { ClientBatches } from './pipeline/client-batches.js';
import type { PolicyInput } from './policy/compiled.js';
import { toPolicyInput } from './policy/input.js';
import { shadowed } from './pipeline/shadow.js';
import { SessionTaint, taintAlert, unmatchedTaintAlert } from './pipeline/taint.js';
import { scanServerMessage, type ToolsListing } from './pipeline/server-scan.js';
import { formatDuration } from './policy/duration.js';
import { refusalOf } from './pipeline/verdict-answer.js';
import { withPins, type CallPins } from './safety/pins-verdict.js';
import { ApprovalStep } from './pipeline/approval-step.js';

export type { PipelineDeps } from './pipeline/stages.js';
export type * from './pipeline/exchange.js';
import { callEvent, targetOf, type EventDecision } from './pipeline/call-events.js';
import type {
  BatchOptions,
  CallContext,
  ExchangeFacts,
  Governed,
  GovernedBatch,
  GovernOptions,
} from './pipeline/exchange.js';

export const DEFAULT_APPROVAL_TIMEOUT_MS = 120_000;

/**
 * The sans-I/O core, and the one place that knows the order of the stages. Client → server:
 * credential check and injection → pins → policy → constraints → (approve only) approvals →
 * audit (before forwarding) → forward. Server → client: pins and poisoning scan → tools/list
 * filter → redaction → taint → outcome record. Transports (HTTP proxy and gateway, stdio
 * wrapper) decode bytes, hand messages in, and carry the results out; they decide nothing.
 */
export class Pipeline {
  readonly deps: PipelineDeps;
  private readonly now: () => number;
  private readonly records: CallRecords;
  private readonly taints = new SessionTaint();
  private readonly approval: ApprovalStep;
  private readonly batches: ClientBatches = new ClientBatches(this);

  constructor(deps: PipelineDeps) {
    this.deps = deps;
    this.now = deps.now ?? (() => performance.now());
    this.records = new CallRecords(deps);
    this.approval = new ApprovalStep(deps);
  }

  /** The server identity of a URL (origin + path): its name in the policy, if it has one. */
  serverAt(url: string): { name: string | null; url: string } {
    return { name: this.deps.policy.resolveServer(url), url };
  }

  /** The policy lets gov ask the human inside their MCP client. */
  get asksClients(): boolean {
    return this.deps.policy.approvals?.channels.includes('elicitation') === true;
  }

  /**
   * The credential stage on an outgoing request: placeholders are substituted where a binding
   * allows it; a placeholder anywhere else is a leak (the transport refuses the request).
   */
  inspectCredentials(req: OutgoingRequest): Inspection {
    return this.deps.credentials?.inspect(req) ?? { ok: true, headers: [], injected: [] };
  }

  get injectsCredentials(): boolean {
    return this.deps.credentials !== undefined;
  }

  private emit(env: Envelope, d: EventDecision, outcome: string): void {
    if (!this.deps.onEvent) return;
    try {
      this.deps.onEvent(callEvent(this.deps.run, env, d, outcome));
    } catch (err) {
      this.deps.log.debug(`event listener failed: ${(err as Error).message}`);
    }
  }

  private deny(
    env: Envelope,
    call: CallContext,
    response: GovResponse | null,
    outcome = 'denied',
    reason = call.decision.reason,
  ): Governed {
    this.emit(env, { decision: 'deny', rule: call.decision.rule, reason }, outcome);
    return { action: 'respond', call, response: env.id === null ? null : response };
  }

  private denial(env: Envelope, call: CallContext, reason = call.decision.reason): GovResponse {
    const info = {
      rule: call.decision.rule,
      reason,
      audit_id: call.auditId,
      ...(call.explanation !== undefined && reason === call.decision.reason
        ? { explanation: call.explanation }
        : {}),
    };
    return policyDenial(env.id, info, { denyAs: this.deps.policy.denyAs });
  }

  /** What the approver reads: the rule's reason, what matched, and the run's (session's) taint. */
  private heldReason(env: Envelope, reason: string, explanation: string | undefined): string {
    const text = explanation !== undefined ? `${reason} (matched: ${explanation})` : reason;
    return text + this.taints.note(env);
  }

  /**
   * A server's answer carried a secret or an injection pattern: from now on the run (under
   * gov serve, the gateway session) is tainted (policy sees `run.tainted`), and an alert names
   * the call that brought it in.
   */
  taint(source: CallContext, why: string): void {
    if (this.taints.add(source.env, source.auditId)) void this.alert(taintAlert(source, why));
  }

  /**
   * The same for an answer that matches no call gov forwarded on its stream (a server may
   * send one on another stream, and the client reads it by its id): the source it names is
   * `unmatched-answer:<id>`.
   */
  taintUnmatched(origin: ServerOrigin, id: JsonValue, why: string): void {
    const source = `unmatched-answer:${JSON.stringify(id)}`;
    if (this.taints.add(origin, source)) void this.alert(unmatchedTaintAlert(origin, source, why));
  }

  /**
   * Live reload: the next call is decided by `policy`. A call already decided (or held)
   * keeps its decision; govern() reads the policy once per call, so a switch is atomic.
   */
  setPolicy(policy: PipelineDeps['policy']): void {
    this.deps.policy = policy;
    // An approval for the run was given under the rule that held the call, which may be gone.
    this.deps.approvals.forgetAlways?.();
  }

  private isShadow(d: PolicyDecision): boolean {
    return this.deps.shadow === true || this.deps.policy.mode === 'shadow' || d.shadow === true;
  }

  /** The matching part of the deciding rule, redacted: it quotes the call's arguments. */
  private explain(input: PolicyInput, decision: PolicyDecision): string | undefined {
    try {
      const text = this.deps.policy.explain?.(input, decision);
      return text === undefined ? undefined : this.deps.redactor.redactString(text).text;
    } catch (err) {
      this.deps.log.debug(`policy explanation failed: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** Fail closed: no evidence, no call. */
  private auditFailed(env: Envelope, call: CallContext, err: unknown): Governed {
    call.decision = {
      decision: 'deny',
      rule: 'audit-unavailable',
      reason: `audit record could not be written: ${(err as Error).message}`,
    };
    delete call.explanation;
    return this.deny(env, call, this.denial(env, call));
  }

  /** Govern one client message or batch, each message through govern() (see ClientBatches). */
  governBatch(messages: JsonRpcMessage[], facts: ExchangeFacts, o: BatchOptions): Promise<GovernedBatch> {
    return this.batches.govern(messages, facts, o);
  }

  /** Decide one client→server request or notification. Never throws: any failure denies. */
  async govern(env: Envelope, opts: GovernOptions = {}): Promise<Governed> {
    try {
      return await this.decide(env, opts);
    } catch (err) {
      return this.failed(env, err);
    }
  }

  /**
   * gov could not process a message (a bug, or a value no stage can handle): deny it, with an
   * alert in the audit — the message's own arguments are left out, as they may be what failed.
   */
  async failed(env: Envelope, err: unknown): Promise<Governed> {
    const reason = `gov could not process this message: ${err instanceof Error ? err.message : String(err)}`;
    this.deps.log.warn(`${env.method}: ${reason}`);
    const target = targetOf(env);
    const auditId = await this.alert({
      reason,
      transport: env.transport,
      server: { name: env.server.name, url: env.server.url },
      detail: {
        method: env.method,
        ...(target ? { target } : {}),
        ...(env.id !== null ? { request_id: env.id } : {}),
      },
    });
    const decision: PolicyDecision = { decision: 'deny', rule: 'gov-error', reason };
    const call: CallContext = { env, auditId: auditId ?? '', decision, startedMs: this.now() };
    return this.deny(env, call, this.denial(env, call));
  }

  private async decide(env: Envelope, opts: GovernOptions): Promise<Governed> {
    const t0 = this.now();
    const { policy } = this.deps;
    const input = toPolicyInput(env, this.deps.run);
    const taint = this.taints.sourcesFor(env);
    if (taint.length > 0) input.taintSources = taint;
    let decision: PolicyDecision;
    const foreign = this.records.taskRefusal(env);
    try {
      const pins = this.checkPins(env);
      if (pins) input.toolInfo = { annotations: pins.annotations, pinned: pins.pinned };
      decision = foreign
        ? { decision: 'deny', rule: 'task-owner', reason: foreign }
        : withPins(policy.decide(input), pins);
    } catch (err) {
      decision = {
        decision: 'deny',
        rule: 'policy-error',
        reason: `policy evaluation failed: ${(err as Error).message}`,
      };
    }
    // decide() reads no clock; constraints do, and the audit keeps that clock and the
    // counter they saw so `gov policy replay` reproduces rate and count limits exactly.
    const clockMs = this.deps.clock?.() ?? Date.now();
    const replay: JsonObject = { clock_ms: clockMs };
    if (taint.length > 0) replay['taint_sources'] = [...taint];
    if (decision.decision === 'allow' && decision.constraints) {
      replay['counter'] = this.deps.constraints.count(decision.rule, input.principal);
      const c = this.deps.constraints.check(decision.rule, decision.constraints, clockMs, input.principal);
      if (!c.ok) decision = { decision: 'deny', rule: decision.rule, reason: c.reason };
    }
    const policyMs = this.now() - t0;
    const rec = this.records.base(env);
    rec.detail = { ...(rec.detail ?? {}), ...replay };
    // Explained before shadow mode turns it into an allow: the audit says what would have matched.
    const explanation = decision.decision === 'allow' ? undefined : this.explain(input, decision);
    if (explanation !== undefined) rec.detail = { ...(rec.detail ?? {}), explanation };
    if (decision.decision !== 'allow' && this.isShadow(decision)) decision = shadowed(rec, decision);
    rec.decision = decision.decision;
    rec.rule = decision.rule;
    rec.reason = decision.reason;
    rec.status =
      decision.decision === 'allow' ? 'forwarded' : decision.decision === 'deny' ? 'denied' : 'held';
    rec.latency_ms = { policy: round(policyMs) };

    if (decision.decision === 'allow' && opts.injected?.length)
      rec.detail = { ...(rec.detail ?? {}), injected: opts.injected };
    const call: CallContext = { env, auditId: '', decision, policyDigest: policy.digest, startedMs: t0 };
    if (explanation !== undefined) call.explanation = explanation;
    if (decision.constraints?.timeoutMs !== undefined)
      call.upstreamTimeoutMs = decision.constraints.timeoutMs;
    try {
      const written = await this.deps.audit.append(rec);
      call.auditId = written.id;
      // Forwarding overlaps the fsync (the answer waits for it); a call gov answers itself waits now.
      if (decision.decision === 'allow') call.flushed = this.records.flushedOrWhy(written.seq);
      else await this.deps.audit.flushed(written.seq);
    } catch (err) {
      return this.auditFailed(env, call, err);
    }
    if (decision.decision === 'deny') return this.deny(env, call, this.denial(env, call));
    if (decision.decision === 'allow') {
      this.emit(env, decision, 'allowed');
      return { action: 'forward', call };
    }
    return this.awaitApproval(env, call, opts);
  }

  /** Pins of a tools/call's tool (throws if pins.json is unreadable: the caller denies). */
  private checkPins(env: Envelope): CallPins | undefined {
    if (!this.deps.pins || env.method !== 'tools/call' || env.tool === undefined) return undefined;
    return this.deps.pins.checkCall(env.server, env.sessionId, env.tool);
  }

  /** A retry whose `requestState` gov did not mint for this call: denied, and an alert. */
  private refuseRequestState(env: Envelope, call: CallContext, why: string): Governed {
    const reason = `the retry's requestState was refused: ${why}`;
    void this.alert({
      reason: `${env.method} ${targetOf(env)}: ${reason}`,
      server: { name: env.server.name, url: env.server.url },
      transport: env.transport,
      detail: {
        tool: targetOf(env),
        call_id: call.auditId,
        ...(env.id !== null ? { request_id: env.id } : {}),
      },
    });
    return this.deny(env, call, this.denial(env, call, reason), 'denied', reason);
  }

  private async awaitApproval(env: Envelope, call: CallContext, opts: GovernOptions): Promise<Governed> {
    const { decision } = call;
    const timeoutMs =
      decision.approvalTimeoutMs ??
      this.deps.approvalTimeoutMs ??
      this.deps.policy.approvalTimeoutMs ??
      DEFAULT_APPROVAL_TIMEOUT_MS;
    this.emit(env, decision, 'held');
    const t1 = this.now();
    const held = this.approval.heldRequest(env, {
      rule: decision.rule,
      reason: this.heldReason(env, decision.reason, call.explanation),
      timeoutMs,
      policyDigest: call.policyDigest ?? this.deps.policy.digest,
    });
    const got = await this.approval.verdictFor(env, held, opts, this.asksClients);
    if (got.kind === 'asked') return { action: 'respond', call, response: jsonRpcResult(env.id, got.result) };
    if (got.kind === 'refused') return this.refuseRequestState(env, call, got.why);
    const { verdict } = got;
    if (got.forward) call.forward = got.forward;
    try {
      await this.records.approval(call, verdict, {
        timeoutMs,
        approvalMs: this.now() - t1,
        injected: opts.injected,
      });
    } catch (err) {
      return this.auditFailed(env, call, err);
    }
    if (verdict.approved) {
      const reason = `approved by ${verdict.approver}`;
      this.emit(env, { decision: 'allow', rule: decision.rule, reason }, 'approved');
      return { action: 'forward', call };
    }
    const r = refusalOf(env.id, verdict, {
      rule: decision.rule,
      auditId: call.auditId,
      timeoutMs,
      denyAs: this.deps.policy.denyAs,
    });
    return this.deny(env, call, r.response, r.outcome, r.reason);
  }

  /**
   * Process one server→client message before the agent sees it: pins and the poisoning scan
   * and the tools/list filter for the request it answers, then secret redaction and taint.
   */
  processServerMessage(
    msg: JsonObject,
    answering: CallContext | undefined,
    listing?: ToolsListing,
  ): { message: JsonObject; counts: Record<string, number>; changed: boolean } {
    return scanServerMessage(this, msg, answering, listing);
  }

  /** A `tasks/list` result with only the tasks of the client that asked (gov serve). */
  ownTasks(env: Envelope, result: JsonValue): JsonValue {
    return this.records.ownTasks(env, result);
  }

  /** The outcome record for a forwarded call (after the response, or a failure). */
  recordOutcome(call: CallContext, o: OutcomeFacts): Promise<void> {
    return this.records.outcome(call, o);
  }

  /**
   * A forwarded call its server did not answer within `limit` (wall time since forwarding):
   * the outcome is recorded as `timeout`, one line goes to stderr, and the client gets the
   * error to send in place of the answer (null for a notification).
   */
  upstreamTimedOut(call: CallContext, limit: TimeLimit): GovResponse | null {
    const text = formatDuration(limit.ms);
    const reason = `no answer from the server within ${text} (rule '${limit.rule}', constraints.timeout)`;
    void this.recordOutcome(call, {
      status: 'timeout',
      upstreamMs: this.now() - (call.forwardedMs ?? call.startedMs),
      error: reason,
    });
    this.emit(call.env, { decision: 'deny', rule: limit.rule, reason: `timed out: ${reason}` }, 'timeout');
    if (call.env.id === null) return null;
    return upstreamTimeoutError(call.env.id, {
      rule: limit.rule,
      limitText: text,
      timeout_ms: limit.ms,
      audit_id: call.auditId,
    });
  }

  /**
   * The record of a request that is not an MCP call but carries an injected credential.
   * Throws when it cannot be written, so the transport refuses the request.
   */
  recordInjection(a: Parameters<CallRecords['injection']>[0]): Promise<string> {
    return this.records.injection(a);
  }

  /**
   * Before a transport answers forwarded calls: their decision records are on disk. Null when
   * they are, else why not — the transport then answers with an error instead (fail closed).
   */
  async flushedBeforeAnswer(calls: Iterable<CallContext>): Promise<string | null> {
    for (const c of calls) {
      const why = c.flushed && (await c.flushed);
      if (why) return `the audit record of this call could not be flushed to disk: ${why}`;
    }
    return null;
  }

  /** A security alert (placeholder leak, refused request) — recorded, never containing secrets. */
  alert(a: AlertFacts): Promise<string | null> {
    return this.records.alert(a);
  }
}
