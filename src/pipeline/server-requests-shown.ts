/**
 * Server→client requests (2025 eras: sampling, elicitation, roots, ping) that gov relayed to
 * a client and that still await its answer: an allow-list. A client's answer (a result or an
 * error) reaches the server only when it answers such a request, in the scope it was shown
 * in, and only once. Any other "answer" — to a request gov denied (and answered itself), to
 * one the server has not sent (yet: SDK servers number their requests 0, 1, 2…, so the next
 * id is easy to guess), or a second one — is forged: it is dropped. Used by every transport:
 * `gov mcp wrap` has one scope (its child); over HTTP a scope is one client in one server
 * session (see answerScope).
 */
import type { JsonRpcId } from '../types.js';

/** Ids awaiting an answer per scope, and scopes remembered: past either, the oldest is forgotten. */
const MAX_IDS = 256;
const MAX_SCOPES = 1024;

/**
 * The key an id is remembered by. JSON-RPC tells the string "5" from the number 5, but the
 * official TypeScript SDK looks an answer's request up by `Number(id)`, so to an SDK server
 * "5", "05" and "0x5" all answer its request 5: a string that reads as a number is keyed as
 * that number. (A server that gives two outstanding requests the ids 5 and "5" is none.)
 */
function idKey(id: unknown): string | number | undefined {
  if (typeof id === 'number') return Number.isFinite(id) ? id : undefined;
  if (typeof id !== 'string') return undefined;
  const n = Number(id);
  return Number.isFinite(n) ? n : id;
}

export class ServerRequestsShown {
  /** By scope, in order of use (the least recently used first); each scope's ids oldest first. */
  private readonly scopes = new Map<string, Set<string | number>>();

  constructor(private readonly max: { ids: number; scopes: number } = { ids: MAX_IDS, scopes: MAX_SCOPES }) {}

  /** gov relayed the server's request `id` to the client of `scope`: the client may answer it once. */
  shown(id: unknown, scope = ''): void {
    const key = idKey(id);
    if (key === undefined) return;
    const ids = this.scopes.get(scope) ?? new Set();
    this.scopes.delete(scope);
    this.scopes.set(scope, ids);
    ids.delete(key);
    ids.add(key);
    if (ids.size > this.max.ids) ids.delete(ids.values().next().value!);
    if (this.scopes.size > this.max.scopes) this.scopes.delete(this.scopes.keys().next().value!);
  }

  /**
   * gov denied the server's request `id` and answered it itself: the client never saw it, so
   * no answer of its under that id is awaited (even if an earlier request had the id).
   */
  withheld(id: unknown, scope = ''): void {
    const key = idKey(id);
    if (key !== undefined) this.forget(key, scope);
  }

  /**
   * Whether a client's answer with this id (in `scope`) answers a request it was shown and has
   * not answered yet. True consumes it: a second answer with the id is not awaited.
   */
  take(id: JsonRpcId, scope = ''): boolean {
    const key = idKey(id);
    return key !== undefined && this.forget(key, scope);
  }

  /** Ids awaiting an answer, in all scopes (for tests of the bound). */
  get size(): number {
    let n = 0;
    for (const ids of this.scopes.values()) n += ids.size;
    return n;
  }

  private forget(key: string | number, scope: string): boolean {
    const ids = this.scopes.get(scope);
    if (!ids?.delete(key)) return false;
    if (ids.size === 0) this.scopes.delete(scope);
    return true;
  }
}
