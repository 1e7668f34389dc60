/**
 * The compiled form of a policy: what the rest of gov holds after loading gov.yaml once.
 * Everything here is plain data plus pure, synchronous functions.
 */
import type {
  Constraints,
  DecisionKind,
  JsonObject,
  PolicyDecision,
  ServerIdentity,
  Transport,
} from '../types.js';
import type { AuditOtlpSpec } from './schema.js';
import type { PinsSpec } from './pins-schema.js';
import type { ApprovalsSpec } from './approvals-schema.js';

/** What decide() looks at: one client→server message, reduced to what policy matches on. */
export interface PolicyInput {
  server: ServerIdentity;
  transport: Transport;
  method: string;
  /** tools/call params.name, or prompts/get params.name. */
  tool?: string;
  /** resources/read (subscribe, unsubscribe) params.uri. */
  uri?: string;
  args: JsonObject;
  /** The run id (GOV_RUN_ID); visible to `when` as `run.id`. */
  run: string;
  /** `gov serve`: the authenticated client; `principal` in `when` ('' elsewhere). */
  principal?: string;
  /** Calls whose output tainted the run (a secret or an injection pattern); `run.taint_sources`. */
  taintSources?: readonly string[];
  /** tools/call: the tool's behaviour hints and pin state (from the pins stage). */
  toolInfo?: ToolInfo;
}

/** What the pins stage knows about a called tool; `when` sees tool_annotations and tool_pinned. */
export interface ToolInfo {
  annotations: {
    readOnlyHint: boolean;
    destructiveHint: boolean;
    idempotentHint: boolean;
    openWorldHint: boolean;
  };
  pinned: boolean;
}

/** No pins stage, or nothing known: the spec's defaults (destructive, open-world), not pinned. */
export const UNKNOWN_TOOL_INFO: ToolInfo = {
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  pinned: false,
};

/** A `credentials:` entry: which vault secret goes into which header for which hosts. */
export interface CredentialBinding {
  secret: string;
  /** Host globs, each with its port written out (`host:443`, `[::1]:8443`). */
  hosts: string[];
  header: string;
  /** Always contains `{secret}`. */
  format: string;
  env?: string;
  /** Injected only on connections of this scheme (https: upstream TLS verified by gov). */
  scheme: 'https' | 'http';
  /** Where the secret goes: the bound header, and/or in place of its placeholder in the body. */
  inject: Array<'header' | 'body'>;
}

export type UnknownServers = 'allow' | 'deny' | 'approve';

export interface CompiledPolicy {
  /** File path, or '(built-in default)'. */
  source: string;
  /** 'sha256:<hex>' of the source text. */
  digest: string;
  ruleCount: number;
  /** `audit.export.otlp` from the file, if any. */
  auditOtlp?: AuditOtlpSpec;
  /** `serve.routes` from the file: path prefix → server URL (gov serve). */
  serveRoutes?: Record<string, string>;
  /** Pure, synchronous, cheap. Never throws. */
  decide(input: PolicyInput): PolicyDecision;
  /**
   * Which part of the deciding rule matched this call (tool glob, server, `when` with the
   * values it saw); undefined when no rule decided (default, discovery, unknown server).
   * Not for the hot path: call it only when the text is shown.
   */
  explain(input: PolicyInput, decision: PolicyDecision): string | undefined;
  /**
   * The id of the first rule that could decide this call and whose `when` reads `args`
   * (replay cannot decide such a call from redacted arguments); undefined if none.
   */
  argsConditionFor(input: PolicyInput): string | undefined;
  /** Registry name for 'scheme://host[:port]/path'; null when unlisted or there is no registry. */
  resolveServer(url: string): string | null;
  registryEnabled: boolean;
  unknownServers: UnknownServers;
  /**
   * True when every tools/call of this tool on this server is denied whatever its arguments,
   * for this principal (`gov serve`; '' elsewhere): a rule whose `when` reads only who calls
   * what is evaluated, so a tool allowed to one principal alone is hidden from the others.
   */
  isToolHidden(server: ServerIdentity, tool: string, principal?: string): boolean;
  /** `mode: shadow`: decisions are recorded but every call is forwarded as if allowed. */
  mode: 'enforce' | 'shadow';
  toolsList: 'hide_denied' | 'show';
  denyAs: 'error' | 'result';
  /** The policy-level `approval_timeout`, in ms. */
  approvalTimeoutMs?: number;
  credentials: CredentialBinding[];
  /** HTTPS hosts named literally by `servers:` and `credentials:` (their leaves are minted early). */
  namedHttpsHosts: string[];
  redact: { vault: boolean; secrets: boolean };
  /** Host globs: `*.example.com` (subdomains), `host:port` (that port only), else any port. */
  hostMatches: (globs: string[], host: string, port: number, defaultPort: number) => boolean;
  isPassthrough(host: string, port: number): boolean;
  /** May this host open a raw WebSocket tunnel (`websocket:`)? */
  isWebSocketHost(host: string, port: number): boolean;
  /** `isolate: required` in the policy file. */
  isolateRequired: boolean;
  /** `pins:` — how changed and poisoned tool definitions are governed, and declared pins. */
  pins: PinsSpec;
  /** `approvals:` — channels, notification hooks, what to do when nobody can answer. */
  approvals: ApprovalsSpec;
  /** Each rule in order with its explanation in words (for `gov policy check` and UIs). */
  describeRules(): RuleSummary[];
}

export interface RuleSummary {
  id: string;
  decision: DecisionKind;
  explanation: string;
  reason?: string;
  constraints?: Constraints;
  approvalTimeoutMs?: number;
}

/**
 * A problem found while validating or compiling a policy, addressed by its path in the
 * document (e.g. ['rules', 3, 'when']) so the loader can turn it into file:line:col.
 */
export interface PolicyIssue {
  path: (string | number)[];
  message: string;
  /** Point at the key of the last path segment rather than its value. */
  atKey?: boolean;
  /** Character offset inside the scalar at `path` (CEL errors). */
  offset?: number;
}

/** Thrown by the pure compiler; load.ts turns it into a GovError with file:line:col. */
export class PolicyCompileError extends Error {
  readonly issues: PolicyIssue[];
  constructor(issues: PolicyIssue[]) {
    super(issues[0]?.message ?? 'invalid policy');
    this.name = 'PolicyCompileError';
    this.issues = issues;
  }
}
