/**
 * The JSON-RPC ids a `gov mcp wrap` session keeps apart. A client request may not reuse the id
 * of one still in progress (being governed, held, or awaiting the server's answer): the
 * server's answer to one would pass as the other's (a tools/list answer taken for a
 * tools/call's, unfiltered), and JSON-RPC forbids it. (The server requests the client may
 * answer, those gov relayed to it, are pipeline/server-requests-shown.ts.)
 */
import type { JsonRpcMessage } from '../../types.js';

type Id = string | number;

export class StdioRequestIds {
  /** Ids of requests being governed (held ones too), until they are forwarded or answered. */
  private readonly claimed = new Set<Id>();

  /** `pending`: the forwarded requests awaiting the server's answers, by id. */
  constructor(private readonly pending: ReadonlyMap<Id, unknown>) {}

  /** The first request id in `messages` still in use, if any. */
  reused(messages: readonly JsonRpcMessage[]): Id | undefined {
    for (const m of messages)
      if (m.kind === 'request' && (this.claimed.has(m.id) || this.pending.has(m.id))) return m.id;
    return undefined;
  }

  /** Claims the requests' ids; the function returned gives them up (once forwarded or answered). */
  claim(messages: readonly JsonRpcMessage[]): () => void {
    const ids = messages.flatMap((m) => (m.kind === 'request' ? [m.id] : []));
    for (const id of ids) this.claimed.add(id);
    return () => {
      for (const id of ids) this.claimed.delete(id);
    };
  }
}
