import { answersIn, isInitialize, type VersionGate } from '../../mcp/negotiated-version.js';
import type { JsonRpcId, JsonRpcMessage } from '../../types.js';

/**
 * `gov serve --protocol-version-mode strict` on a 2024-11-05 (HTTP+SSE) session: the server's
 * `initialize` result travels on the GET stream, not in the answer to the POST. A client need
 * not wait for that result before POSTing its next request, so until the stream has shown a
 * result in an accepted version (and while a later `initialize` is unanswered) the session
 * takes nothing but a lone `initialize`. A result in a version not accepted ends the session.
 */
const MAX_UNANSWERED = 64;

export class LegacyVersion {
  /** Ids of the admitted `initialize` requests whose answer the stream has not shown yet. */
  private readonly unanswered = new Set<JsonRpcId>();
  private accepted = false;

  constructor(private readonly gate: VersionGate) {}

  /**
   * Why a POST of `messages` may not go to the server now; null when it may. An `initialize`
   * (alone: the handler refuses one in a batch) always may, and from now on counts as
   * unanswered (one gov does not pass on after all leaves the session waiting: fail closed,
   * the client opens another).
   */
  admit(messages: JsonRpcMessage[]): string | null {
    const init = messages.find(isInitialize);
    if (init) {
      // Bounded: a client that keeps sending initialize without reading the answers.
      if (this.unanswered.size >= MAX_UNANSWERED)
        return 'too many initialize requests are unanswered in this session';
      this.unanswered.add(init.id);
      return null;
    }
    if (!this.accepted)
      return 'this session has no accepted MCP protocol version yet: send initialize and wait for its answer';
    if (this.unanswered.size > 0) return 'this session is initializing: wait for the answer to initialize';
    return null;
  }

  /**
   * A message (or batch) on the session's stream: when an `initialize` result in it names a
   * version not accepted, the error the client gets in its place (the session is over).
   */
  seen(text: string): { id: JsonRpcId; message: string } | null {
    for (const a of answersIn(text)) {
      this.unanswered.delete(a.id);
      if (a.version === undefined) continue;
      const message = this.gate.refusal(a.version);
      if (message !== null) return { id: a.id, message };
      this.accepted = true;
    }
    return null;
  }
}
