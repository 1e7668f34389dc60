import type {
  ApprovalVerdict,
  AuditInput,
  AuditRecord,
  Envelope,
  GovernedCallEvent,
  HeldCall,
  JsonObject,
  JsonValue,
  PolicyDecision,
  Transport,
} from './types.js';
import {
  approvalTimeout,
  approverDenial,
  jsonRpcResult,
  policyDenial,
  upstreamTimeoutError,
  type GovResponse,
} from './mcp/wire-errors.js';
import type { TimeLimit } from './pipeline/call-deadline.js';
import type { Injection, PipelineDeps } from './pipeline/stages.js';
import type { PolicyInput } from './policy/compiled.js';
import { toPolicyInput } from './policy/input.js';
import { shadowed } from './pipeline/shadow.js';
import { RunTaint, taintIn } from './pipeline/taint.js';
import { formatDuration } from './policy/duration.js';
import { UNATTENDED_REASON, waitForVerdict } from './pipeline/await-verdict.js';
import { traceOf } from './audit/trace-context.js';
import { withPins, type CallPins } from './safety/tool-pins.js';
import type { ElicitationChannel } from './approvals/elicitation.js';
import type { HeldCallRequest } from './approvals/broker.js';
import {
  InputRequiredApprovals,
  isGovState,
  retryFieldsOf,
  withoutRetryFields,
} from './approvals/input-required.js';

export type { PipelineDeps } from './pipeline/stages.js';

export const DEFAULT_APPROVAL_TIMEOUT_MS = 120_000;

/** What to do with one client→server message once it has been governed. */
export type Governed =
  | { action: 'forward'; call: CallContext }
  | { action: 'respond'; call: CallContext; response: GovResponse | null };

/** Everything later stages need to know about a governed call. */
export interface CallContext {
  env: Envelope;
  auditId: string;
  decision: PolicyDecision;
  startedMs: number;
  upstreamTimeoutMs?: number;
  /** Which part of the deciding rule matched (denials and held calls only). */
  explanation?: string;
  /** When the transport handed the call to the server (performance.now()); for upstream latency. */
  forwardedMs?: number;
  /** The message to forward when gov rewrote it (a retry stripped of gov's own fields). */
  forward?: JsonObject;
  /**
   * A forwarded call's decision record reaching the disk (`--audit-sync answer`): null once it
   * is, else why it could not be. The transport answers only after it (Pipeline.flushedBeforeAnswer).
   */
  flushed?: Promise<string | null>;
}

export interface GovernOptions {
  signal?: AbortSignal;
  /**
   * Called once if the call is held for approval, so a transport can let later traffic pass
   * it. It may return the signal that withdraws the held call (a transport then only pays for
   * per-call cancellation tracking when a call is actually held); else `signal` is used.
   */
  onHeld?: () => AbortSignal | void;
  /** Credentials the transport puts into the request if it is forwarded (names, never values). */
  injected?: Injection[];
  /**
   * The transport can ask the human inside this call's MCP client (it declared elicitation);
   * used only when `approvals.channels` opts in.
   */
  elicitation?: ElicitationChannel | undefined;
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

function targetOf(env: Envelope): string {
  return env.tool ?? env.uri ?? '';
}

/**
 * The one ordered pipeline: policy → constraints → (approve only) approvals → audit (before
 * forwarding) → forward → output scan → audit outcome. Transports (HTTP proxy, stdio wrapper)
 * feed messages in and carry the results out; they never decide anything themselves.
 */
export class Pipeline {
  readonly deps: PipelineDeps;
  private readonly now: () => number;
  private readonly runTaint = new RunTaint();
  /** Held calls asked about in `input_required` results (2026-07-28), per run. */
  private readonly inputRequired = new InputRequiredApprovals();

  constructor(deps: PipelineDeps) {
    this.deps = deps;
    this.now = deps.now ?? (() => performance.now());
  }

  private emit(
    env: Envelope,
    d: { decision: GovernedCallEvent['decision']; rule: string; reason: string },
    outcome: string,
  ): void {
    if (!this.deps.onEvent) return;
    try {
      this.deps.onEvent({
        ts: new Date().toISOString(),
        run: this.deps.run,
        transport: env.transport,
        server: env.server.name ?? env.server.url,
        method: env.method,
        target: targetOf(env),
        decision: d.decision,
        rule: d.rule,
        reason: d.reason,
        outcome,
      });
    } catch (err) {
      this.deps.log.debug(`event listener failed: ${(err as Error).message}`);
    }
  }

  private baseRecord(env: Envelope): AuditInput {
    const redacted = this.deps.redactor.redactJson(env.args);
    const rec: AuditInput = {
      kind: 'call',
      transport: env.transport,
      server: { name: env.server.name, url: env.server.url },
      method: env.method,
      args_digest: this.deps.digestArgs(env.args),
      args: redacted.value,
      policy_digest: this.deps.policy.digest,
    };
    if (env.tool !== undefined) rec.tool = env.tool;
    if (env.uri !== undefined) rec.uri = env.uri;
    if (env.principal !== undefined) rec.principal = env.principal;
    if (Object.keys(redacted.counts).length) rec.redactions = redacted.counts;
    if (env.id !== null) rec.detail = { request_id: env.id };
    const trace = traceOf(env);
    if (trace) rec.trace = trace;
    return rec;
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

  /** What the approver reads: the rule's reason, what matched, and the run's taint. */
  private heldReason(reason: string, explanation: string | undefined): string {
    let text = explanation !== undefined ? `${reason} (matched: ${explanation})` : reason;
    const taint = this.runTaint.sources;
    if (taint.length > 0) text += ` [run tainted by ${taint.join(', ')}]`;
    return text;
  }

  /**
   * A server's answer carried a secret or an injection pattern: from now on the run is
   * tainted (policy sees `run.tainted`), and an alert names the call that brought it in.
   */
  private taint(source: CallContext, why: string): void {
    if (!this.runTaint.add(source.auditId)) return;
    const target = targetOf(source.env);
    // alert() prints the one warning line.
    void this.alert({
      reason: `run tainted: the output of ${source.env.method} ${target} (audit ${source.auditId}) contained ${why}`,
      server: { name: source.env.server.name, url: source.env.server.url },
      transport: source.env.transport,
      detail: { taint_source: source.auditId, tool: target, why },
    });
  }

  /**
   * Live reload: the next call is decided by `policy`. A call already decided (or held)
   * keeps its decision; govern() reads the policy once per call, so a switch is atomic.
   */
  setPolicy(policy: PipelineDeps['policy']): void {
    this.deps.policy = policy;
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
    const info = { ...call.decision, audit_id: call.auditId };
    return this.deny(env, call, policyDenial(env.id, info, { denyAs: this.deps.policy.denyAs }));
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
    const info = { rule: decision.rule, reason, audit_id: call.auditId };
    return this.deny(env, call, policyDenial(env.id, info, { denyAs: this.deps.policy.denyAs }));
  }

  private async decide(env: Envelope, opts: GovernOptions): Promise<Governed> {
    const t0 = this.now();
    const { policy } = this.deps;
    const input = toPolicyInput(env, this.deps.run);
    if (this.runTaint.sources.length > 0) input.taintSources = this.runTaint.sources;
    let decision: PolicyDecision;
    try {
      const pins = this.checkPins(env);
      if (pins) input.toolInfo = { annotations: pins.annotations, pinned: pins.pinned };
      decision = withPins(policy.decide(input), pins);
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
    if (this.runTaint.sources.length > 0) replay['taint_sources'] = [...this.runTaint.sources];
    if (decision.decision === 'allow' && decision.constraints) {
      replay['counter'] = this.deps.constraints.count(decision.rule);
      const c = this.deps.constraints.check(decision.rule, decision.constraints, clockMs);
      if (!c.ok) decision = { decision: 'deny', rule: decision.rule, reason: c.reason };
    }
    const policyMs = this.now() - t0;
    const rec = this.baseRecord(env);
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
    const call: CallContext = { env, auditId: '', decision, startedMs: t0 };
    if (explanation !== undefined) call.explanation = explanation;
    if (decision.constraints?.timeoutMs !== undefined)
      call.upstreamTimeoutMs = decision.constraints.timeoutMs;
    try {
      const written = await this.deps.audit.append(rec);
      call.auditId = written.id;
      // Forwarding overlaps the fsync (the answer waits for it); a call gov answers itself waits now.
      if (decision.decision === 'allow') call.flushed = this.flushedOrWhy(written.seq);
      else await this.deps.audit.flushed(written.seq);
    } catch (err) {
      return this.auditFailed(env, call, err);
    }
    const denyAs = { denyAs: policy.denyAs };
    if (decision.decision === 'deny') {
      return this.deny(
        env,
        call,
        policyDenial(
          env.id,
          {
            rule: decision.rule,
            reason: decision.reason,
            audit_id: call.auditId,
            ...(explanation !== undefined ? { explanation } : {}),
          },
          denyAs,
        ),
      );
    }
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
    const info = { rule: call.decision.rule, reason, audit_id: call.auditId };
    const denyAs = { denyAs: this.deps.policy.denyAs };
    return this.deny(env, call, policyDenial(env.id, info, denyAs), 'denied', reason);
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
    const { approvals } = this.deps;
    const held: HeldCallRequest = {
      run: this.deps.run,
      server: env.server.name ?? env.server.url,
      tool: targetOf(env),
      method: env.method,
      args: this.deps.redactor.redactJson(env.args).value,
      args_digest: this.deps.digestArgs(env.args),
      policy_digest: this.deps.policy.digest,
      rule: decision.rule,
      reason: this.heldReason(decision.reason, call.explanation),
      timeout_ms: timeoutMs,
    };
    // 2026-07-28: the question travels in an `input_required` result, the answer in the retry.
    const inBand =
      this.deps.policy.approvals?.channels.includes('elicitation') && approvals.settle
        ? retryFieldsOf(env.message.kind === 'request' ? env.message.params : undefined)
        : undefined;
    let verdict: ApprovalVerdict;
    if (inBand && isGovState(inBand.requestState)) {
      const settle = (id: string, v: ApprovalVerdict) => approvals.settle?.(id, v) === true;
      const r = await this.inputRequired.resume(inBand.requestState, held, inBand, settle);
      if (!r.ok) return this.refuseRequestState(env, call, r.why);
      verdict = r.verdict;
      call.forward = withoutRetryFields(env.message.raw);
    } else if (inBand && inBand.requestState === undefined && env.id !== null) {
      let heldCall: HeldCall | undefined;
      const pending = approvals.request(held, { onHeld: (h) => (heldCall = h) });
      // Held (not settled at once by an earlier approve_run): ask, and wait for the retry.
      if (heldCall) {
        const result = this.inputRequired.ask(heldCall, pending);
        return { action: 'respond', call, response: jsonRpcResult(env.id, result) };
      }
      verdict = await pending;
    } else verdict = await waitForVerdict(this.deps, held, opts);
    const approvalMs = this.now() - t1;
    const rec = this.baseRecord(env);
    rec.kind = 'approval';
    rec.decision = verdict.approved ? 'allow' : 'deny';
    rec.rule = decision.rule;
    rec.reason =
      verdict.reason ??
      (verdict.approved
        ? 'approved'
        : verdict.approver === 'timeout'
          ? `Approval timed out after ${formatDuration(timeoutMs)}`
          : 'denied');
    rec.approver = verdict.approver;
    rec.status = verdict.approved
      ? 'approved'
      : verdict.approver === 'timeout'
        ? 'timeout'
        : verdict.approver === 'cancelled'
          ? 'cancelled'
          : 'denied';
    rec.latency_ms = { approval: round(approvalMs) };
    if (call.auditId) rec.detail = { ...(rec.detail ?? {}), call_id: call.auditId };
    if (verdict.client_info !== undefined)
      rec.detail = { ...(rec.detail ?? {}), client_info: verdict.client_info };
    if (verdict.approved && opts.injected?.length)
      rec.detail = { ...(rec.detail ?? {}), injected: opts.injected };
    try {
      await this.appendFlushed(rec);
    } catch (err) {
      return this.auditFailed(env, call, err);
    }
    const denyAs = { denyAs: this.deps.policy.denyAs };
    const info = { rule: decision.rule, audit_id: call.auditId };
    if (verdict.approved) {
      this.emit(
        env,
        { decision: 'allow', rule: decision.rule, reason: `approved by ${verdict.approver}` },
        'approved',
      );
      return { action: 'forward', call };
    }
    if (verdict.approver === 'unattended') {
      const reason = verdict.reason ?? UNATTENDED_REASON;
      return this.deny(env, call, policyDenial(env.id, { ...info, reason }, denyAs), 'unattended', reason);
    }
    if (verdict.approver === 'timeout') {
      return this.deny(
        env,
        call,
        approvalTimeout(env.id, formatDuration(timeoutMs), info, denyAs),
        'timeout',
        `approval timed out after ${formatDuration(timeoutMs)}`,
      );
    }
    // The event says who ended the hold: the client withdrawing, or a human (and why).
    const byHuman = verdict.approver !== 'cancelled' && verdict.approver !== 'channel-error';
    return this.deny(
      env,
      call,
      approverDenial(env.id, verdict.reason ?? 'no reason given', info, denyAs),
      verdict.approver === 'cancelled' ? 'cancelled' : byHuman ? 'rejected' : 'error',
      byHuman ? `denied by ${verdict.approver}${verdict.reason ? `: ${verdict.reason}` : ''}` : rec.reason,
    );
  }

  /**
   * Process one server→client message before the agent sees it: tools/list filtering for the
   * request it answers, secret redaction. Returns the (possibly rewritten) message.
   */
  processServerMessage(
    msg: JsonObject,
    answering: CallContext | undefined,
    filterToolsList: (
      result: JsonValue,
      isHidden: (name: string) => boolean,
    ) => { result: JsonValue; removed: string[] },
  ): { message: JsonObject; counts: Record<string, number>; changed: boolean } {
    let message = msg;
    let changed = false;
    const counts: Record<string, number> = {};
    if (answering?.env.method === 'tools/list' && this.deps.pins && message['result'] !== undefined) {
      message = this.observeToolsList(message, answering.env);
      changed = message !== msg;
    }
    if (
      answering &&
      answering.env.method === 'tools/list' &&
      this.deps.policy.toolsList === 'hide_denied' &&
      'result' in message &&
      message['result'] !== undefined
    ) {
      const server = answering.env.server;
      const f = filterToolsList(message['result'], (name) => this.deps.policy.isToolHidden(server, name));
      if (f.removed.length) {
        message = { ...message, result: f.result };
        changed = true;
      }
    }
    const r = this.deps.redactor.redactJson(message);
    if (Object.keys(r.counts).length) {
      message = r.value as JsonObject;
      changed = true;
      addCounts(counts, r.counts);
    }
    if (answering && answering.auditId && 'result' in message) {
      const why = taintIn(message['result'] ?? null, r.counts);
      if (why !== null) this.taint(answering, why);
    }
    return { message, counts, changed };
  }

  /**
   * Pins and scans the tool definitions a tools/list response shows the agent; records an
   * alert per change or poisoning finding. If pins.json cannot be used, the list is withheld.
   */
  private observeToolsList(message: JsonObject, env: Envelope): JsonObject {
    try {
      const o = this.deps.pins!.observeList(env.server, env.sessionId, message['result'] as JsonValue);
      for (const a of o.alerts)
        void this.alert({ reason: a.reason, server: a.server, transport: env.transport, detail: a.detail });
      return o.changed ? { ...message, result: o.result } : message;
    } catch (err) {
      this.deps.log.warn(`tool pins failed: ${(err as Error).message}`);
      return {
        jsonrpc: '2.0',
        id: message['id'] ?? null,
        error: { code: -32603, message: `gov could not check tool pins: ${(err as Error).message}` },
      };
    }
  }

  /** The outcome record for a forwarded call (after the response, or a failure). */
  async recordOutcome(
    call: CallContext,
    o: {
      status: string;
      upstreamMs?: number;
      redactions?: Record<string, number>;
      error?: string;
      serverInfo?: JsonValue;
    },
  ): Promise<void> {
    const rec: AuditInput = {
      kind: 'call',
      transport: call.env.transport,
      server: { name: call.env.server.name, url: call.env.server.url },
      method: call.env.method,
      decision: call.decision.decision === 'approve' ? 'allow' : call.decision.decision,
      rule: call.decision.rule,
      status: o.status,
      policy_digest: this.deps.policy.digest,
      detail: { call_id: call.auditId, ...(call.env.id !== null ? { request_id: call.env.id } : {}) },
    };
    if (call.env.tool !== undefined) rec.tool = call.env.tool;
    if (call.env.uri !== undefined) rec.uri = call.env.uri;
    if (call.env.principal !== undefined) rec.principal = call.env.principal;
    const trace = traceOf(call.env);
    if (trace) rec.trace = trace;
    if (o.upstreamMs !== undefined) rec.latency_ms = { upstream: round(o.upstreamMs) };
    if (o.redactions && Object.keys(o.redactions).length) rec.redactions = o.redactions;
    if (o.error !== undefined) rec.error = o.error;
    if (o.serverInfo !== undefined) rec.server_info = o.serverInfo;
    try {
      await this.deps.audit.append(rec, { sync: false });
    } catch (err) {
      this.deps.log.warn(`audit outcome record failed: ${(err as Error).message}`);
    }
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
   * The record of a request that is not an MCP call but carries an injected credential
   * (plain REST through the proxy to a bound host). Written before the request is forwarded
   * and fsynced in the background like outcome records; throws when it cannot be written,
   * so the transport refuses the request instead of sending a secret without a record.
   */
  async recordInjection(a: {
    method: string;
    server: { name: string | null; url: string };
    injected: Injection[];
    transport?: Transport;
    principal?: string | undefined;
  }): Promise<string> {
    const rec: AuditInput = {
      kind: 'call',
      transport: a.transport ?? 'http',
      ...(a.principal !== undefined ? { principal: a.principal } : {}),
      server: a.server,
      method: a.method,
      status: 'forwarded',
      reason: 'non-MCP request; credentials injected',
      policy_digest: this.deps.policy.digest,
      detail: { injected: a.injected },
    };
    return (await this.deps.audit.append(rec, { sync: false })).id;
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

  private flushedOrWhy(seq: number): Promise<string | null> {
    return this.deps.audit.flushed(seq).then(
      () => null,
      (err: unknown) => (err as Error).message,
    );
  }

  private async appendFlushed(rec: AuditInput): Promise<AuditRecord> {
    const written = await this.deps.audit.append(rec);
    await this.deps.audit.flushed(written.seq);
    return written;
  }

  /** A security alert (placeholder leak, refused request) — recorded, never containing secrets. */
  async alert(a: {
    reason: string;
    server?: { name: string | null; url: string };
    transport: Transport;
    principal?: string | undefined;
    detail?: JsonObject;
  }): Promise<string | null> {
    // A refusal the user would otherwise never see: one line on stderr, next to the audit record.
    this.deps.log.warn(a.reason.replace(/^gov: /, ''));
    try {
      const rec: AuditInput = {
        kind: 'alert',
        transport: a.transport,
        decision: 'deny',
        reason: a.reason,
        policy_digest: this.deps.policy.digest,
      };
      if (a.server) rec.server = a.server;
      if (a.principal !== undefined) rec.principal = a.principal;
      if (a.detail) rec.detail = a.detail;
      return (await this.appendFlushed(rec)).id;
    } catch (err) {
      this.deps.log.warn(`audit alert record failed: ${(err as Error).message}`);
      return null;
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
