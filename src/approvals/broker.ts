import { randomBytes } from 'node:crypto';
import type { ApprovalVerdict, EndedCall, HeldCall } from '../types.js';
import { formatDuration } from '../policy/duration.js';
import { formatBytes } from './args-summary.js';

/** What the broker tells its subscribers (the TUI, the control socket). */
export type BrokerEvent =
  { type: 'held'; call: HeldCall } | { type: 'settled'; id: string; verdict: ApprovalVerdict };

export type BrokerListener = (ev: BrokerEvent) => void;

/** A call as the pipeline hands it over; the broker assigns `id`, `held_since` and `expires_at`. */
export type HeldCallRequest = Omit<HeldCall, 'id' | 'held_since' | 'expires_at'>;

export interface BrokerOptions {
  /** Injectable for tests; must return a fresh candidate id on each call. */
  newId?: () => string;
  now?: () => Date;
  /** Calls one client (principal) may have held at once (default 2,000). */
  maxHeldPerClient?: number;
  /** Request bytes one client's held calls may keep in memory (default 64 MiB). */
  maxHeldBytesPerClient?: number;
  /** Request bytes all held calls together may keep in memory (default 256 MiB). */
  maxHeldBytes?: number;
}

/** How the caller waits: `bytes` is what the held call keeps in memory (its request's size). */
export interface HoldOptions {
  signal?: AbortSignal;
  onHeld?: (held: HeldCall) => void;
  bytes?: number;
  /** Whose calls an approval "for the rest of the run" of this call covers (see GrantScope). */
  grantScope?: GrantScope;
}

/**
 * A held call while it waits. It is its client's abort listener itself, and its timeout
 * calls the broker's one shared handler: no closures per held call.
 */
class Pending {
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;

  constructor(
    readonly broker: ApprovalBroker,
    readonly call: HeldCall,
    readonly bytes: number,
    readonly resolve: (v: ApprovalVerdict) => void,
    /** Whose calls an approval "for the rest of the run" of this call covers (see GrantScope). */
    readonly grantScope: GrantScope,
  ) {}

  /** The client withdrew the call (its signal aborted). */
  handleEvent(): void {
    this.broker.withdraw(this);
  }

  detach(): void {
    if (this.timer) clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
  }
}

// setTimeout fires immediately for delays above 2^31-1 ms; clamp instead.
const MAX_TIMER_MS = 2_147_483_647;
// Ids of settled calls are remembered (bounded) so a late `gov approve` of a settled id
// never hits a new call that happened to draw the same random id.
const RECENT_IDS_LIMIT = 10_000;
// Calls that ended without an approver's answer (client gone, timeout) are shown to approvers
// for a while, so one who answers late learns why the call is gone.
const ENDED_LIMIT = 20;
const ENDED_SHOWN_MS = 10 * 60_000;
// More held calls than a person can review are a flood (a 2026 client's held call holds no
// connection, so nothing else bounds them): beyond this, a client's new ones are denied.
const MAX_HELD_PER_CLIENT = 2_000;
// A held call keeps its request in memory until it is answered: bounded in bytes too, per
// client (a few big calls) and in all (many clients), so held calls cannot exhaust gov.
export const MAX_HELD_BYTES_PER_CLIENT = 64 * 1024 * 1024;
export const MAX_HELD_BYTES = 256 * 1024 * 1024;

/**
 * Why a withdrawn call is gone, in the approver's words: how long the client waited, and
 * what it did (the signal's reason: the connection closed, `notifications/cancelled`…).
 */
function withdrawnReason(heldSince: Date, now: Date, signal: AbortSignal): string {
  const ms = now.getTime() - heldSince.getTime();
  const waited = formatDuration(ms >= 1000 ? Math.round(ms / 1000) * 1000 : Math.max(0, ms));
  const why = typeof signal.reason === 'string' ? signal.reason : 'it';
  // A reason about the client ("it closed the connection") vs. one about gov's side of it.
  if (why.startsWith('it'))
    return `the client stopped waiting after ${waited}${why === 'it' ? '' : ` (${why})`}`;
  return `withdrawn after ${waited}: ${why}`;
}

function defaultId(): string {
  return `h-${randomBytes(3).toString('hex')}`;
}

/**
 * Whose calls an approval "for the rest of the run" covers: a client's name (under `gov serve`
 * its principal, or its MCP session where every client is the same principal; '' for the one
 * agent of `gov run`), or null where the client cannot be told apart from others: then it
 * approves the call it was given for, and nothing more.
 */
export type GrantScope = string | null;

/** The same method on the same target of the same server, for the same client (scope). */
function alwaysKey(scope: string, c: Pick<HeldCall, 'server' | 'method' | 'tool'>): string {
  return `${scope}\u0000${c.server}\u0000${c.method}\u0000${c.tool}`;
}

/**
 * Holds calls that policy sent to a human until a verdict arrives, the call's timeout
 * fires, the client withdraws it (AbortSignal) or the channel closes. Every path ends in
 * exactly one verdict per call, and every failure path denies.
 */
export class ApprovalBroker {
  private readonly pending = new Map<string, Pending>();
  private readonly recentIds = new Set<string>();
  private readonly ended = new Map<string, EndedCall>();
  private readonly always = new Set<string>();
  private readonly listeners = new Set<BrokerListener>();
  /** Channels where a person can answer right now (a mounted panel, a `gov approvals` screen). */
  private readonly live = new Map<string, number>();
  private readonly newId: () => string;
  private readonly now: () => Date;
  private readonly maxHeldPerClient: number;
  private readonly maxHeldBytesPerClient: number;
  private readonly maxHeldBytes: number;
  /** Held calls and their request bytes by principal ('' outside gov serve). */
  private readonly heldBy = new Map<string, { calls: number; bytes: number }>();
  private heldBytes = 0;
  private closedReason: string | undefined;

  constructor(opts: BrokerOptions = {}) {
    this.newId = opts.newId ?? defaultId;
    this.now = opts.now ?? (() => new Date());
    this.maxHeldPerClient = opts.maxHeldPerClient ?? MAX_HELD_PER_CLIENT;
    this.maxHeldBytesPerClient = opts.maxHeldBytesPerClient ?? MAX_HELD_BYTES_PER_CLIENT;
    this.maxHeldBytes = opts.maxHeldBytes ?? MAX_HELD_BYTES;
  }

  get size(): number {
    return this.pending.size;
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  isAlwaysAllowed(
    call: Pick<HeldCall, 'principal' | 'server' | 'method' | 'tool'>,
    scope: GrantScope = call.principal ?? '',
  ): boolean {
    return scope !== null && this.always.has(alwaysKey(scope, call));
  }

  /** A channel where a person can answer is open until the returned function is called. */
  attachChannel(channel: string): () => void {
    this.live.set(channel, (this.live.get(channel) ?? 0) + 1);
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      const n = (this.live.get(channel) ?? 1) - 1;
      if (n > 0) this.live.set(channel, n);
      else this.live.delete(channel);
    };
  }

  /** Names of the channels attached now (for `approvals.when_unattended`). */
  liveChannels(): string[] {
    return [...this.live.keys()];
  }

  /**
   * `onHeld` runs once the call is held (it has its id), before any subscriber hears of it,
   * so a per-call channel (an elicitation) can start asking. `grantScope` defaults to the
   * call's principal ('' without one).
   */
  request(call: HeldCallRequest, opts: HoldOptions = {}): Promise<ApprovalVerdict> {
    if (this.closedReason !== undefined) {
      return Promise.resolve({ approved: false, approver: 'channel-error', reason: this.closedReason });
    }
    const scope = opts.grantScope === undefined ? (call.principal ?? '') : opts.grantScope;
    if (this.isAlwaysAllowed(call, scope)) {
      return Promise.resolve({ approved: true, approver: 'always' });
    }
    const { signal } = opts;
    if (signal?.aborted) {
      return Promise.resolve({ approved: false, approver: 'cancelled', reason: 'withdrawn by the client' });
    }
    const who = call.principal ?? '';
    const held = this.heldBy.get(who) ?? { calls: 0, bytes: 0 };
    const bytes = opts.bytes ?? 0;
    const over = this.overLimit(held, bytes);
    if (over) return Promise.resolve({ approved: false, approver: 'channel-error', reason: over });

    const id = this.allocateId();
    const since = this.now();
    // Object.assign, not `{ ...call, id, held_since }`: V8 (11.3) gives every object that a
    // spread literal extends with new keys a hidden class of its own, ~0.7 kB per held call.
    const entryCall: HeldCall = Object.assign({}, call, { id, held_since: since.toISOString() });
    if (Number.isFinite(call.timeout_ms) && call.timeout_ms >= 0)
      entryCall.expires_at = new Date(since.getTime() + call.timeout_ms).toISOString();
    return new Promise<ApprovalVerdict>((resolve) => {
      const entry = new Pending(this, entryCall, bytes, resolve, scope);
      this.pending.set(id, entry);
      this.heldBy.set(who, { calls: held.calls + 1, bytes: held.bytes + bytes });
      this.heldBytes += bytes;

      const ms = call.timeout_ms;
      if (ms !== Infinity) {
        const delay = Number.isFinite(ms) && ms > 0 ? Math.min(ms, MAX_TIMER_MS) : 0;
        entry.timer = setTimeout(this.expire, delay, id, ms);
        entry.timer.unref();
      }
      if (signal) {
        entry.signal = signal;
        signal.addEventListener('abort', entry, { once: true });
      }
      try {
        opts.onHeld?.(entryCall);
      } catch {
        // A per-call channel that cannot ask leaves the call to the other channels.
      }
      if (!this.pending.has(id)) return;
      this.emit({ type: 'held', call: entryCall });
    });
  }

  /** Forget every approval "for the rest of the run" (a reloaded policy decides afresh). */
  forgetAlways(): void {
    this.always.clear();
  }

  /** Forget the approvals "for the rest of the run" one client (scope) was given. */
  forgetAlwaysOf(scope: string): void {
    const mine = `${scope}\u0000`;
    for (const key of [...this.always]) if (key.startsWith(mine)) this.always.delete(key);
  }

  /** Deliver a verdict for a held call; false if the id is unknown or already settled. */
  settle(id: string, verdict: ApprovalVerdict): boolean {
    const entry = this.pending.get(id);
    if (!entry) return false;
    if (verdict.approved && verdict.always && entry.grantScope !== null) {
      const key = alwaysKey(entry.grantScope, entry.call);
      this.always.add(key);
      this.finish(id, verdict);
      // Everything else already waiting on the same target is covered by the same decision.
      for (const [otherId, other] of [...this.pending]) {
        if (other.grantScope !== null && alwaysKey(other.grantScope, other.call) === key)
          this.finish(otherId, { approved: true, approver: 'always' });
      }
      return true;
    }
    this.finish(id, verdict);
    return true;
  }

  get(id: string): HeldCall | undefined {
    return this.pending.get(id)?.call;
  }

  /** Calls that recently ended without an approver's answer (the client gave up, a timeout), newest first. */
  recentlyEnded(): EndedCall[] {
    const cutoff = this.now().getTime() - ENDED_SHOWN_MS;
    return [...this.ended.values()].filter((e) => Date.parse(e.ended_at) >= cutoff).reverse();
  }

  /** One recently ended call, to tell a late approver why it is gone. */
  endedCall(id: string): EndedCall | undefined {
    return this.recentlyEnded().find((e) => e.id === id);
  }

  /** Held calls, oldest first. */
  list(): HeldCall[] {
    return Array.from(this.pending.values(), (p) => p.call);
  }

  subscribe(listener: BrokerListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Deny everything still held and refuse new requests (fail closed). */
  close(reason = 'approval channel closed'): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const id of [...this.pending.keys()]) {
      this.finish(id, { approved: false, approver: 'channel-error', reason });
    }
  }

  /** A held call's timeout fired (one handler for every call: setTimeout passes the id). */
  private readonly expire = (id: string, ms: number): void =>
    this.finish(id, {
      approved: false,
      approver: 'timeout',
      reason: `no approver answered within ${formatDuration(ms)}`,
    });

  /** A held call's client withdrew it. */
  withdraw(entry: Pending): void {
    const { call, signal } = entry;
    if (this.pending.get(call.id) !== entry || !signal) return;
    this.finish(call.id, {
      approved: false,
      approver: 'cancelled',
      reason: withdrawnReason(new Date(call.held_since), this.now(), signal),
    });
  }

  private finish(id: string, verdict: ApprovalVerdict): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    const who = entry.call.principal ?? '';
    const held = this.heldBy.get(who);
    if (held && held.calls > 1)
      this.heldBy.set(who, { calls: held.calls - 1, bytes: held.bytes - entry.bytes });
    else this.heldBy.delete(who);
    this.heldBytes -= entry.bytes;
    entry.detach();
    this.rememberId(id);
    if (verdict.approver === 'cancelled' || verdict.approver === 'timeout' || verdict.approver === 'revoked')
      this.rememberEnded(entry.call, verdict);
    entry.resolve(verdict);
    this.emit({ type: 'settled', id, verdict });
  }

  /** Why one more held call of this client, `bytes` large, would be too many; null when it fits. */
  private overLimit(held: { calls: number; bytes: number }, bytes: number): string | null {
    const answer = 'answer or withdraw some first';
    if (held.calls >= this.maxHeldPerClient)
      return `${held.calls} calls of this client are already waiting for approval (the limit); ${answer}`;
    if (held.bytes + bytes > this.maxHeldBytesPerClient)
      return `this call (${formatBytes(bytes)}) would take this client's calls waiting for approval over ${formatBytes(this.maxHeldBytesPerClient)} (${formatBytes(held.bytes)} held now); ${answer}`;
    if (this.heldBytes + bytes > this.maxHeldBytes)
      return `this call (${formatBytes(bytes)}) would take the calls waiting for approval over ${formatBytes(this.maxHeldBytes)} in all (gov's limit for every client together); try again once some are answered`;
    return null;
  }

  private rememberEnded(call: HeldCall, verdict: ApprovalVerdict): void {
    const { id, run, server, tool, method, rule, held_since } = call;
    this.ended.set(id, {
      id,
      run,
      server,
      tool,
      method,
      rule,
      held_since,
      ended_at: this.now().toISOString(),
      ended_by: verdict.approver === 'timeout' ? 'timeout' : 'client',
      reason: verdict.reason ?? '',
    });
    if (this.ended.size > ENDED_LIMIT) this.ended.delete(this.ended.keys().next().value!);
  }

  private allocateId(): string {
    for (let i = 0; i < 1000; i++) {
      const id = this.newId();
      if (!this.pending.has(id) && !this.recentIds.has(id)) return id;
    }
    // Practically unreachable with 24 random bits; fall back to a wider id.
    return `h-${randomBytes(8).toString('hex')}`;
  }

  private rememberId(id: string): void {
    this.recentIds.add(id);
    if (this.recentIds.size > RECENT_IDS_LIMIT) {
      const oldest = this.recentIds.values().next().value;
      if (oldest !== undefined) this.recentIds.delete(oldest);
    }
  }

  private emit(ev: BrokerEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(ev);
      } catch {
        // A broken subscriber (UI, socket) must not stop approvals for everyone else.
      }
    }
  }
}
