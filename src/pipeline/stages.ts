import type {
  ApprovalVerdict,
  AuditSink,
  Constraints,
  GovernedCallEvent,
  HeldCall,
  JsonValue,
  PolicyDecision,
  ServerIdentity,
} from '../types.js';
import type { CredentialInjector } from '../../vault/inject.js';
import type { Redactor } from '../safety/redact.js';
import type { ToolPins } from '../safety/tool-pins.js';
import type { PolicyInput } from '../policy/compiled.js';
import type { ApprovalsSpec } from '../policy/approvals-schema.js';
import type { GrantScope } from '../approvals/broker.js';

/**
 * The small interfaces the pipeline needs from each stage. Stages never import one another;
 * the run and wrap commands build the concrete stages and hand them over here.
 */
export interface PolicyStage {
  digest: string;
  decide(input: PolicyInput): PolicyDecision;
  /** Which part of the deciding rule matched; called only for denials and held calls. */
  explain?(input: PolicyInput, decision: PolicyDecision): string | undefined;
  resolveServer(url: string): string | null;
  isToolHidden(server: ServerIdentity, tool: string, principal?: string): boolean;
  /** `mode: shadow` for the whole policy. */
  mode?: 'enforce' | 'shadow';
  toolsList: 'hide_denied' | 'show';
  denyAs: 'error' | 'result';
  approvalTimeoutMs?: number | undefined;
  /** `approvals:` (channels, notify, when_unattended); absent means the defaults. */
  approvals?: ApprovalsSpec;
}

export interface ConstraintStage {
  /** `principal` (gov serve) has a budget of its own. */
  check(
    ruleId: string,
    constraints: Constraints,
    nowMs: number,
    principal?: string,
  ): { ok: true } | { ok: false; reason: string };
  /** Calls counted so far for a rule (recorded in the audit so replay can check it). */
  count(ruleId: string, principal?: string): number;
}

export interface ApprovalStage {
  request(
    call: Omit<HeldCall, 'id' | 'held_since'>,
    opts: {
      signal?: AbortSignal;
      onHeld?: (held: HeldCall) => void;
      bytes?: number;
      grantScope?: GrantScope;
    },
  ): Promise<ApprovalVerdict>;
  /** A verdict from a per-call channel (an elicitation); false if already settled. */
  settle?(id: string, verdict: ApprovalVerdict): boolean;
  /** Channels where a person can answer right now (for `approvals.when_unattended`). */
  liveChannels?(): string[];
  /** Forget approvals "for the rest of the run" (the policy they were given under changed). */
  forgetAlways?(): void;
}

/** Pins and the poisoning scan (src/safety/tool-pins.ts). */
export type PinStage = Pick<ToolPins, 'observeList' | 'checkCall'>;

/** Output scanning (src/safety/redact.ts). */
export type RedactionStage = Pick<Redactor, 'redactJson' | 'redactString'>;

/**
 * Vault values only, for bytes relayed without being parsed (response headers, non-MCP
 * bodies): see src/transport/http/vault-scrub.ts.
 */
export type VaultScan = Pick<Redactor, 'scan' | 'redactString' | 'maxLiteralLength'>;

/** Credential injection and placeholder-leak detection (vault/inject.ts). */
export type CredentialStage = Pick<CredentialInjector, 'inspect'>;
export type { Injection } from '../../vault/inject.js';

export interface PipelineDeps {
  run: string;
  policy: PolicyStage;
  constraints: ConstraintStage;
  approvals: ApprovalStage;
  audit: AuditSink;
  redactor: RedactionStage;
  /** Absent when there is no vault value to redact. */
  vaultScan?: VaultScan | undefined;
  /** Vault values that can sit outside a JSON string (pipeline/bare-values.ts); absent when none. */
  bareValueScan?: VaultScan | undefined;
  credentials?: CredentialStage | undefined;
  /** Tool-definition pins and the poisoning scan (src/safety/tool-pins.ts). */
  pins?: PinStage | undefined;
  digestArgs(args: JsonValue): string;
  /** `--approval-timeout`; a rule's own timeout wins over it, it wins over the policy's. */
  approvalTimeoutMs?: number | undefined;
  /** `--shadow`: every decision is advisory (recorded; the call is forwarded as if allowed). */
  shadow?: boolean | undefined;
  onEvent?: (e: GovernedCallEvent) => void;
  log: { debug(m: string): void; warn(m: string): void };
  now?: () => number;
  /** The decision clock (epoch ms) for constraints; recorded so a replay uses the same. */
  clock?: () => number;
}
