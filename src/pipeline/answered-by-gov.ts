/**
 * Server→client requests (2025 eras: sampling, elicitation, roots) that gov denied and
 * answered itself. The client never saw such a request (it got a notice), so a client
 * "answer" with its id is forged: it is dropped, so the server, which already holds gov's
 * denial, never gets a second answer that the policy forbade. Used by every transport:
 * `gov mcp wrap` has one scope (its child); over HTTP a scope is one server session.
 */
import type { JsonRpcId } from '../types.js';

/** Ids remembered per scope, and scopes remembered: past either, the oldest is forgotten. */
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

export class AnsweredByGov {
  /** By scope, in order of use (the least recently used first); each scope's ids oldest first. */
  private readonly scopes = new Map<string, Set<string | number>>();

  constructor(private readonly max: { ids: number; scopes: number } = { ids: MAX_IDS, scopes: MAX_SCOPES }) {}

  /** gov denied the server's request `id` (in `scope`) and answered it itself. */
  answered(id: unknown, scope = ''): void {
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
   * The server sent the client a request with this id and gov relayed it: a new request (a
   * server may reuse an id once it has its answer), which the client is to answer.
   */
  relayed(id: unknown, scope = ''): void {
    const key = idKey(id);
    const ids = this.scopes.get(scope);
    if (key === undefined || !ids?.delete(key) || ids.size > 0) return;
    this.scopes.delete(scope);
  }

  /** Whether a client's answer with this id (in `scope`) is to a request gov answered: it is dropped. */
  has(id: JsonRpcId, scope = ''): boolean {
    const key = idKey(id);
    return key !== undefined && this.scopes.get(scope)?.has(key) === true;
  }

  /** Ids remembered, in all scopes (for tests of the bound). */
  get size(): number {
    let n = 0;
    for (const ids of this.scopes.values()) n += ids.size;
    return n;
  }
}
