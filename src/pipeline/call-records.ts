import type {
  ApprovalVerdict,
  AuditInput,
  AuditRecord,
  DecisionKind,
  Envelope,
  JsonObject,
  JsonValue,
  Transport,
} from '../types.js';
import { traceOf } from '../audit/trace-context.js';
import type { Injection, PipelineDeps } from './stages.js';
import { approvalReason, approvalStatus } from './verdict-answer.js';
import { namedTaskId, TaskLinks } from './task-links.js';
import { requestClientInfo } from '../approvals/input-required.js';

/** What the pipeline knows about a governed call; the records below describe it. */
export interface RecordedCall {
  env: Envelope;
  auditId: string;
  decision: { decision: DecisionKind; rule: string };
  /** The policy that decided it: a live reload does not change what its later records name. */
  policyDigest?: string;
}

export interface OutcomeFacts {
  status: string;
  upstreamMs?: number;
  redactions?: Record<string, number>;
  error?: string;
  serverInfo?: JsonValue;
  /** The task the server answered with (a `CreateTaskResult`), linked to this call. */
  taskId?: string;
}

export interface AlertFacts {
  reason: string;
  server?: { name: string | null; url: string };
  transport: Transport;
  principal?: string | undefined;
  detail?: JsonObject;
}

/** A placeholder's random part (vault/inject.ts makePlaceholder): 24 hex digits on their own. */
const PLACEHOLDER_TOKEN = /(?<![0-9a-f])[0-9a-f]{24}(?![0-9a-f])/gi;

export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * The audit records of the exchange: a call's decision, its outcome, a credential sent
 * outside any call, and alerts. Arguments are redacted before they are written; an append
 * that fails surfaces to the caller (fail closed), except for outcomes, which come after
 * the fact and are only logged.
 */
export class CallRecords {
  private readonly tasks = new TaskLinks();

  constructor(private readonly deps: PipelineDeps) {}

  /** A `tasks/*` request's task, and the audit id of the call that created it (if known). */
  private taskDetail(env: Envelope): JsonObject {
    const taskId = namedTaskId(env);
    if (taskId === undefined) return {};
    const creator = this.tasks.creatorOf(env.server, taskId);
    return { task_id: taskId, ...(creator !== undefined ? { task_call_id: creator } : {}) };
  }

  /** Why a `tasks/*` request may not go on with the task it names (not its client's), or null. */
  taskRefusal(env: Envelope): string | null {
    return this.tasks.refusal(env);
  }

  /** A `tasks/list` result with only the tasks of the client that asked (gov serve). */
  ownTasks(env: Envelope, result: JsonValue): JsonValue {
    return this.tasks.ownTasks(env, result);
  }

  /** The fields every record of a call shares (decision, approval). */
  base(env: Envelope): AuditInput {
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
    // 2026-07-28 is stateless: who the client is travels in each request, redacted like args.
    const clientInfo = requestClientInfo(env.message);
    const detail: JsonObject = {
      ...(env.id !== null ? { request_id: env.id } : {}),
      ...this.taskDetail(env),
      ...(clientInfo !== undefined ? { client_info: this.deps.redactor.redactJson(clientInfo).value } : {}),
    };
    if (Object.keys(detail).length) rec.detail = detail;
    const trace = traceOf(env);
    if (trace) rec.trace = trace;
    return rec;
  }

  /** A held call's verdict, written and flushed before the call goes on or is answered. */
  async approval(
    call: RecordedCall,
    v: ApprovalVerdict,
    o: { timeoutMs: number; approvalMs: number; injected?: Injection[] | undefined },
  ): Promise<void> {
    const rec = this.base(call.env);
    if (call.policyDigest !== undefined) rec.policy_digest = call.policyDigest;
    rec.kind = 'approval';
    rec.decision = v.approved ? 'allow' : 'deny';
    rec.rule = call.decision.rule;
    rec.reason = approvalReason(v, o.timeoutMs);
    rec.approver = v.approver;
    rec.status = approvalStatus(v);
    rec.latency_ms = { approval: roundMs(o.approvalMs) };
    const detail: JsonObject = { ...(rec.detail ?? {}) };
    if (call.auditId) detail['call_id'] = call.auditId;
    if (v.client_info !== undefined) detail['client_info'] = v.client_info;
    if (v.approved && o.injected?.length) detail['injected'] = o.injected;
    if (Object.keys(detail).length) rec.detail = detail;
    await this.appendFlushed(rec);
  }

  /** The outcome record for a forwarded call (after the response, or a failure). */
  async outcome(call: RecordedCall, o: OutcomeFacts): Promise<void> {
    const { env } = call;
    const rec: AuditInput = {
      kind: 'call',
      transport: env.transport,
      server: { name: env.server.name, url: env.server.url },
      method: env.method,
      decision: call.decision.decision === 'approve' ? 'allow' : call.decision.decision,
      rule: call.decision.rule,
      status: o.status,
      policy_digest: call.policyDigest ?? this.deps.policy.digest,
      detail: {
        call_id: call.auditId,
        ...(env.id !== null ? { request_id: env.id } : {}),
        ...this.taskDetail(env),
      },
    };
    if (o.taskId !== undefined) {
      rec.detail = { ...rec.detail, task_id: o.taskId };
      if (call.auditId) this.tasks.remember(env, o.taskId, call.auditId);
    }
    if (env.tool !== undefined) rec.tool = env.tool;
    if (env.uri !== undefined) rec.uri = env.uri;
    if (env.principal !== undefined) rec.principal = env.principal;
    const trace = traceOf(env);
    if (trace) rec.trace = trace;
    if (o.upstreamMs !== undefined) rec.latency_ms = { upstream: roundMs(o.upstreamMs) };
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
   * A request that is not an MCP call but carries an injected credential (plain REST through
   * the proxy to a bound host). Throws when it cannot be written: the transport then refuses
   * the request instead of sending a secret without a record.
   */
  async injection(a: {
    method: string;
    server: { name: string | null; url: string };
    injected: Injection[];
    transport: Transport;
    principal?: string | undefined;
  }): Promise<string> {
    const rec: AuditInput = {
      kind: 'call',
      transport: a.transport,
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
   * A security alert (placeholder leak, refused request): one stderr line and a record. Its
   * text quotes what the agent sent (a Host header, a URL), so it is redacted like output, and
   * a placeholder's random part (which may sit in a host name or a path) is masked.
   */
  async alert(a: AlertFacts): Promise<string | null> {
    const scrub = (s: string) => this.deps.redactor.redactString(s).text.replace(PLACEHOLDER_TOKEN, '…');
    const reason = scrub(a.reason);
    this.deps.log.warn(reason.replace(/^gov: /, ''));
    try {
      const rec: AuditInput = {
        kind: 'alert',
        transport: a.transport,
        decision: 'deny',
        reason,
        policy_digest: this.deps.policy.digest,
      };
      if (a.server) rec.server = { name: a.server.name, url: scrub(a.server.url) };
      if (a.principal !== undefined) rec.principal = a.principal;
      if (a.detail) {
        const redacted = JSON.stringify(this.deps.redactor.redactJson(a.detail).value);
        rec.detail = JSON.parse(redacted.replace(PLACEHOLDER_TOKEN, '…')) as JsonObject;
      }
      return (await this.appendFlushed(rec)).id;
    } catch (err) {
      this.deps.log.warn(`audit alert record failed: ${(err as Error).message}`);
      return null;
    }
  }

  async appendFlushed(rec: AuditInput): Promise<AuditRecord> {
    const written = await this.deps.audit.append(rec);
    await this.deps.audit.flushed(written.seq);
    return written;
  }

  /** Null once record `seq` is on disk, else why it could not be. Never rejects. */
  flushedOrWhy(seq: number): Promise<string | null> {
    return this.deps.audit.flushed(seq).then(
      () => null,
      (err: unknown) => (err as Error).message,
    );
  }
}
