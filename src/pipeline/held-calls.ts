import type { JsonObject, JsonValue } from '../types.js';

/** One client request while gov governs it. */
export interface TrackedCall {
  /** Aborts when the client withdraws the call or goes away; made on first use (held calls). */
  signal(): AbortSignal;
  /** The client sent `notifications/cancelled` for it: nobody waits for an answer. */
  readonly withdrawn: boolean;
  release(): void;
}

/**
 * One tracked request: the map entry and the handle in one object, its methods on the
 * prototype, so a governed call costs one allocation (a held one, its AbortController too).
 */
class Tracked implements TrackedCall {
  withdrawn = false;
  ac: AbortController | undefined;
  private parent: AbortSignal | undefined;

  constructor(
    private readonly inflight: Map<string, Tracked>,
    private readonly key: string,
    private readonly gone: () => AbortSignal,
  ) {}

  signal(): AbortSignal {
    if (this.ac) return this.ac.signal;
    const ac = (this.ac = new AbortController());
    if (this.withdrawn) ac.abort('it sent notifications/cancelled');
    const parent = this.gone();
    if (parent.aborted) ac.abort(parent.reason);
    else {
      this.parent = parent;
      parent.addEventListener('abort', this, { once: true });
    }
    return ac.signal;
  }

  /** The client went away (its `gone` signal aborted): the held call stops waiting. */
  handleEvent(): void {
    this.ac?.abort(this.parent?.reason);
  }

  release(): void {
    this.parent?.removeEventListener('abort', this);
    if (this.inflight.get(this.key) === this) this.inflight.delete(this.key);
  }
}

/**
 * The requests being governed per (host, session), so that a client's
 * `notifications/cancelled` withdraws the one it names: a held call stops waiting for its
 * verdict, and a call still being decided is neither forwarded nor answered. Tracking costs a
 * map entry; the AbortController exists only for calls that are actually held.
 */
export class HeldCallRegistry {
  private readonly inflight = new Map<string, Tracked>();

  track(scope: string, id: string | number, gone: () => AbortSignal): TrackedCall {
    const key = `${scope}|${typeof id}:${id}`;
    const entry = new Tracked(this.inflight, key, gone);
    this.inflight.set(key, entry);
    return entry;
  }

  /** A `notifications/cancelled` from the client: true when it named a call being governed. */
  cancel(scope: string, params: JsonObject | JsonValue[] | undefined): boolean {
    if (!params || Array.isArray(params)) return false;
    const id = params['requestId'];
    if (typeof id !== 'string' && typeof id !== 'number') return false;
    const entry = this.inflight.get(`${scope}|${typeof id}:${id}`);
    if (!entry) return false;
    entry.withdrawn = true;
    entry.ac?.abort('it sent notifications/cancelled');
    return true;
  }

  get size(): number {
    return this.inflight.size;
  }
}
