/**
 * The shared vocabulary of gov. Stages talk to each other only through these types;
 * only src/pipeline.ts knows the order in which stages run.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

/** A JSON object: not null, not an array. */
export function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
export type JsonRpcId = string | number | null;

/** A parsed JSON-RPC 2.0 message, exactly as received (after strict parsing). */
export type JsonRpcMessage =
  | {
      kind: 'request';
      id: string | number;
      method: string;
      params?: JsonObject | JsonValue[];
      raw: JsonObject;
    }
  | { kind: 'notification'; method: string; params?: JsonObject | JsonValue[]; raw: JsonObject }
  | { kind: 'response'; id: JsonRpcId; result?: JsonValue; error?: JsonObject; raw: JsonObject };

/** `gateway`: `gov serve`, a reverse proxy in front of shared servers (HTTP on the wire). */
export type Transport = 'http' | 'stdio' | 'gateway';
export type DecisionKind = 'allow' | 'deny' | 'approve';

/** Which server a message is addressed to. */
export interface ServerIdentity {
  /** Registry name (`servers:` in gov.yaml), the stdio `--name`, or null when unlisted. */
  name: string | null;
  /** origin + path without query for HTTP (`https://host/mcp`), `stdio:<name>` for stdio. */
  url: string;
}

/** One client→server JSON-RPC request or notification, normalised for policy. */
export interface Envelope {
  transport: Transport;
  server: ServerIdentity;
  method: string;
  /** Request id; null for notifications. */
  id: string | number | null;
  /** tools/call params.name, or prompts/get params.name. */
  tool?: string;
  /** resources/read (and resources/subscribe) params.uri. */
  uri?: string;
  /** Canonicalised arguments (stable key order): tools/call arguments, prompts/get arguments, else {}. */
  args: JsonObject;
  progressToken?: string | number;
  sessionId?: string;
  protocolVersion?: string;
  /** `gov serve`: who the edge authentication let in (token name, or certificate subject). */
  principal?: string;
  /** `gov serve`: the prefix of the route the message came through (its session is that route's). */
  route?: string;
  /** W3C trace context from the HTTP request's headers (`params._meta` wins over it). */
  httpTrace?: TraceContext;
  /** The message as parsed. */
  message: JsonRpcMessage;
}

/** Bounds on an allowed call (from a rule's `constraints`). */
export interface Constraints {
  maxCalls?: number;
  rate?: { count: number; perMs: number };
  timeoutMs?: number;
}

/** Result of policy.decide(): pure data, explainable. */
export interface PolicyDecision {
  decision: DecisionKind;
  /** A policy rule's id, or one of gov's own (RESERVED_RULE_IDS in policy/schema.ts): 'default' (no
   * rule matched a call that reads data or acts), 'discovery' (discovery method with no matching
   * rule), 'unknown-server', … */
  rule: string;
  /** Human text: the rule's `reason`, else its explanation in words. */
  reason: string;
  constraints?: Constraints;
  /** A rule's own approval `timeout`, in ms. */
  approvalTimeoutMs?: number;
  /** The deciding rule is in `mode: shadow`: its decision is advisory. */
  shadow?: boolean;
}

/** What a human (or the clock) said about a held call. */
export interface ApprovalVerdict {
  approved: boolean;
  approver:
    | 'tui'
    | 'cli'
    | 'timeout'
    | 'cancelled'
    | 'always'
    | 'channel-error'
    | 'unattended'
    | 'revoked'
    | `elicitation:${string}`;
  reason?: string;
  /** The MCP client that answered an elicitation (its `clientInfo`), recorded with the verdict. */
  client_info?: JsonValue;
  /** Approve this tool for the rest of the run. */
  always?: boolean;
}

/** `checkpoint`: a signed record with no event of its own, written when records went unsigned for a while. */
export type AuditKind =
  'run_start' | 'call' | 'approval' | 'alert' | 'checkpoint' | 'policy_reload' | 'notify' | 'run_end';

/** W3C trace context a request carried (HTTP headers or MCP `params._meta`). */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

/** A record as written to $GOV_HOME/audit/<run>.jsonl (SPEC §7). */
export interface AuditRecord {
  v: 1;
  id: string;
  ts: string;
  run: string;
  seq: number;
  kind: AuditKind;
  transport?: Transport;
  server?: { name: string | null; url: string };
  /** `gov serve`: the authenticated client (token name or certificate subject). */
  principal?: string;
  method?: string;
  tool?: string;
  uri?: string;
  args_digest?: string;
  args?: JsonValue;
  decision?: DecisionKind;
  rule?: string;
  /** Shadow mode: what the policy would have decided (the call went through as allowed). */
  shadow_decision?: DecisionKind;
  shadow_rule?: string;
  reason?: string;
  policy_digest?: string;
  approver?: string;
  status?: string;
  latency_ms?: { policy?: number; approval?: number; upstream?: number };
  redactions?: Record<string, number>;
  error?: string;
  server_info?: JsonValue;
  /** Free-form details for run_start/run_end/alert (never secret values). */
  detail?: JsonObject;
  trace?: TraceContext;
  prev: string | null;
  hash: string;
  /** Ed25519 (base64) over the hash; on run_start, checkpoints, run_end and every Nth record. */
  signature?: string;
}

/** What a stage hands to the audit sink; the sink fills v, id, ts, run, seq, prev, hash. */
export type AuditInput = Omit<AuditRecord, 'v' | 'id' | 'ts' | 'run' | 'seq' | 'prev' | 'hash' | 'signature'>;

export interface AuditSink {
  /**
   * Resolves once the record is written (and fsynced if the sink's sync mode says so before
   * forwarding, unless `sync: false`); rejects if it cannot be written.
   */
  append(rec: AuditInput, opts?: { sync?: boolean }): Promise<AuditRecord>;
  /** Resolves once record `seq` is on disk as far as the sync mode promises it before an answer. */
  flushed(seq: number): Promise<void>;
  /** Write the run_end seal and close. */
  seal(detail?: JsonObject): Promise<void>;
}

/** A call waiting for a human. */
export interface HeldCall {
  id: string;
  run: string;
  server: string;
  tool: string;
  method: string;
  args: JsonValue;
  args_digest: string;
  policy_digest: string;
  rule: string;
  reason: string;
  held_since: string;
  timeout_ms: number;
  /** When the hold times out (ISO time); absent when it never does. */
  expires_at?: string;
  /** Set when `args` is a summary (listings); the full arguments are `args_bytes` long. */
  args_truncated?: boolean;
  args_bytes?: number;
  /** `gov serve`: the client it is held for (an approval for the run covers that client only). */
  principal?: string;
}

/** A held call that ended without an approver's answer: what an approver who comes late is told. */
export interface EndedCall {
  id: string;
  run: string;
  server: string;
  tool: string;
  method: string;
  rule: string;
  held_since: string;
  ended_at: string;
  /** `client`: the client stopped waiting (hung up, cancelled); `timeout`: the approval timeout. */
  ended_by: 'client' | 'timeout';
  reason: string;
}

/** Emitted by the pipeline for every governed message (drives the TUI and `--no-tui` lines). */
export interface GovernedCallEvent {
  ts: string;
  run: string;
  transport: Transport;
  server: string;
  method: string;
  /** Tool name, prompt name or resource URI, whichever applies. */
  target: string;
  decision: DecisionKind;
  rule: string;
  reason: string;
  /** Final outcome once known: 'allowed', 'denied' (by policy), 'approved', 'rejected' (by a
   * human), 'timeout' (no answer in time), 'cancelled' (the client withdrew), 'error'. */
  outcome?: string;
}
