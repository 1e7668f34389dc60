import { randomBytes } from 'node:crypto';
import type { HeldCall, JsonObject, JsonRpcId, JsonValue } from '../types.js';
import {
  elicitationParams,
  questionShowsWholeCall,
  verdictFromElicitation,
  type ElicitationChannel,
  type ElicitingClient,
} from './elicitation.js';

type Answer = (response: { result?: JsonValue; error?: JsonValue }) => void;

// gov's own server→client request ids: a prefix and 96 random bits, so they cannot collide
// with the ids of the server gov governs (its responses from the client are never forwarded).
const ID_PREFIX = 'gov-approval-';

/**
 * The `elicitation/create` requests gov itself has sent to a client and not yet had answered.
 * A transport hands every client→server response here first; one that answers gov's own
 * question is consumed, never forwarded to the server.
 */
export class ElicitationRequests {
  private readonly waiting = new Map<string, Answer>();

  /** A client's response: true when it answered one of gov's questions (then it is consumed). */
  take(response: { id: JsonRpcId; result?: JsonValue; error?: JsonObject }): boolean {
    if (typeof response.id !== 'string' || !response.id.startsWith(ID_PREFIX)) return false;
    const answer = this.waiting.get(response.id);
    // An answer to a question already withdrawn is still gov's: consumed, not forwarded.
    if (!answer) return true;
    this.waiting.delete(response.id);
    answer({
      ...(response.result !== undefined ? { result: response.result } : {}),
      ...(response.error !== undefined ? { error: response.error } : {}),
    });
    return true;
  }

  get size(): number {
    return this.waiting.size;
  }

  /**
   * The approval channel of one client: `send` writes a message to it (false if it cannot).
   * A question another channel answered first is withdrawn with `notifications/cancelled`.
   */
  channel(client: ElicitingClient, send: (message: JsonObject) => boolean): ElicitationChannel {
    return {
      client,
      ask: (call: HeldCall, verdict) => {
        const id = `${ID_PREFIX}${randomBytes(12).toString('hex')}`;
        const whole = questionShowsWholeCall(call);
        this.waiting.set(id, (r) => verdict(verdictFromElicitation(client, r, whole)));
        const request = {
          jsonrpc: '2.0',
          id,
          method: 'elicitation/create',
          params: elicitationParams(call, client),
        };
        if (!send(request)) {
          this.waiting.delete(id);
          return () => {};
        }
        return () => {
          if (!this.waiting.delete(id)) return;
          send({
            jsonrpc: '2.0',
            method: 'notifications/cancelled',
            params: { requestId: id, reason: 'answered through another approval channel' },
          });
        };
      },
    };
  }
}
