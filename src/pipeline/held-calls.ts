import type { JsonObject, JsonValue } from '../types.js';

/** One client request while gov governs it. */
export interface TrackedCall {
  /** Aborts when the client withdraws the call or goes away; made on first use (held calls). */
  signal(): AbortSignal;
  /** The client sent `notifications/cancelled` for it: nobody waits for an answer. */
  readonly withdrawn: boolean;
  release(): void;
}

interface Entry {
  withdrawn: boolean;
  ac?: AbortController;
}

/**
 * The requests being governed per (host, session), so that a client's
 * `notifications/cancelled` withdraws the one it names: a held call stops waiting for its
 * verdict, and a call still being decided is neither forwarded nor answered. Tracking costs a
 * map entry; the AbortController exists only for calls that are actually held.
 */
export class HeldCallRegistry {
  private readonly inflight = new Map<string, Entry>();

  track(scope: string, id: string | number, gone: () => AbortSignal): TrackedCall {
    const key = `${scope}|${typeof id}:${id}`;
    const entry: Entry = { withdrawn: false };
    this.inflight.set(key, entry);
    let unlink = () => {};
    return {
      get withdrawn() {
        return entry.withdrawn;
      },
      signal() {
        if (entry.ac) return entry.ac.signal;
        const ac = (entry.ac = new AbortController());
        if (entry.withdrawn) ac.abort('it sent notifications/cancelled');
        const parent = gone();
        const onParent = () => ac.abort(parent.reason);
        if (parent.aborted) ac.abort(parent.reason);
        else {
          parent.addEventListener('abort', onParent, { once: true });
          unlink = () => parent.removeEventListener('abort', onParent);
        }
        return ac.signal;
      },
      release: () => {
        unlink();
        if (this.inflight.get(key) === entry) this.inflight.delete(key);
      },
    };
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
