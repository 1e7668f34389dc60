/**
 * The vocabulary between the pipeline and the transports: what a transport hands in (a
 * decoded message or batch and its facts) and what it gets back (what to forward, what to
 * answer, which calls wait for the server).
 */
import type { Envelope, JsonObject, JsonRpcId, JsonRpcMessage, JsonValue, PolicyDecision } from '../types.js';
import type { GovResponse } from '../mcp/wire-errors.js';
import type { EnvelopeContext } from '../mcp/envelope.js';
import type { ElicitationChannel, ElicitingClient } from '../approvals/elicitation.js';
import type { Injection } from './stages.js';

/** What to do with one client→server message once it has been governed. */
export type Governed =
  | { action: 'forward'; call: CallContext }
  | { action: 'respond'; call: CallContext; response: GovResponse | null };

/** Everything later stages need to know about a governed call. */
export interface CallContext {
  env: Envelope;
  auditId: string;
  decision: PolicyDecision;
  /** The digest of the policy that decided it (the approval and outcome records name it). */
  policyDigest?: string;
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
   * it. It may return the signal that withdraws the held call; else `signal` is used.
   */
  onHeld?: () => AbortSignal | void;
  /** Credentials the transport puts into the request if it is forwarded (names, never values). */
  injected?: Injection[];
  /** The size of the request that carried the message: what a held call keeps in memory. */
  bytes?: number;
  /**
   * The transport can ask the human inside this call's MCP client (it declared elicitation);
   * used only when `approvals.channels` opts in.
   */
  elicitation?: ElicitationChannel | undefined;
}

export type ClientMessage = Exclude<JsonRpcMessage, { kind: 'response' }>;

/** The transport facts of one exchange: who it is for, and the scope its cancellations name. */
export interface ExchangeFacts extends EnvelopeContext {
  /** One client connection or session: `notifications/cancelled` is matched within it. */
  scope: string;
}

/** What a transport offers a call while it is held. */
export interface HeldHooks {
  /** The call is held (e.g. let later lines pass it, open the heartbeat stream). */
  onHeld?: () => void;
  /** The client declared elicitation: how gov's question reaches it. */
  ask?: { client: ElicitingClient; send: (message: JsonObject) => boolean };
}

export interface BatchOptions {
  /** Aborts when the client goes away; asked for only once a call is held. */
  gone: () => AbortSignal;
  injected?: Injection[];
  /** The size of the request (body, line) that carried the batch: each held call counts it. */
  bytes?: number;
  held?: (m: ClientMessage, env: Envelope) => HeldHooks;
  /** The batch holds the client's `initialize`: who it is (null when it cannot be asked). */
  onInitialize?: (client: ElicitingClient | null) => void;
  /**
   * Whether a client's answer (not to gov's own question) answers a server request gov
   * relayed to this client and that awaits its answer (see ServerRequestsShown); true
   * consumes it. Any other answer — to a request gov denied, to one never sent, a second
   * one — is forged: it is dropped, with an alert, and never reaches the server.
   */
  answerAwaited: (id: JsonRpcId) => boolean;
}

/** One client message or batch, governed: what goes to the server and what gov answers. */
export interface GovernedBatch {
  /** The messages to send on, in order (`call.forward` in place of a rewritten retry). */
  forward: JsonValue[];
  /** gov's own answers to the client (denials; none for a withdrawn call). */
  answers: GovResponse[];
  /** The forwarded requests, by id, waiting for the server's answers. */
  calls: Map<string | number, CallContext>;
  /** `forward` is the client's batch unchanged: its original bytes can be sent. */
  unchanged: boolean;
  /** A governed call is forwarded (its own record names any injected credential). */
  governedForward: boolean;
}
