import type { JsonObject, JsonValue } from '../types.js';

/**
 * Calls in flight per (host, session), so that a client's `notifications/cancelled` can
 * withdraw the one it names while it is held for approval.
 */
export class HeldCallRegistry {
  private readonly inflight = new Map<string, AbortController>();

  track(
    scope: string,
    id: string | number,
    parent: AbortSignal,
  ): { signal: AbortSignal; release: () => void } {
    const key = `${scope}|${typeof id}:${id}`;
    const ac = new AbortController();
    const onParent = () => ac.abort(parent.reason);
    if (parent.aborted) ac.abort(parent.reason);
    else parent.addEventListener('abort', onParent, { once: true });
    this.inflight.set(key, ac);
    return {
      signal: ac.signal,
      release: () => {
        parent.removeEventListener('abort', onParent);
        if (this.inflight.get(key) === ac) this.inflight.delete(key);
      },
    };
  }

  cancel(scope: string, params: JsonObject | JsonValue[] | undefined): boolean {
    if (!params || Array.isArray(params)) return false;
    const id = params['requestId'];
    if (typeof id !== 'string' && typeof id !== 'number') return false;
    const ac = this.inflight.get(`${scope}|${typeof id}:${id}`);
    if (!ac) return false;
    ac.abort('it sent notifications/cancelled');
    return true;
  }

  get size(): number {
    return this.inflight.size;
  }
}
