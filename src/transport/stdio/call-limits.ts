import type { CallContext, Pipeline } from '../../pipeline.js';
import { CallDeadline, tightestLimit } from '../../pipeline/call-deadline.js';
import { serializeMessage, type GovResponse } from '../../mcp/wire-errors.js';

export interface StdioCallLimitsOptions {
  pipeline: Pipeline;
  /** The forwarded calls awaiting the server's answers, by request id. */
  pending: Map<string | number, CallContext>;
  /** A line to the server (false once it cannot take one). */
  toServer: (line: string) => boolean;
  /** gov's own answer to the client. */
  toClient: (response: GovResponse) => void;
}

/**
 * `constraints.timeout` over stdio: wall time from forwarding. At the limit the server is told
 * to stop (`notifications/cancelled`, MCP's way), the client gets gov's timeout error, and the
 * server's late answer, if it still comes, is dropped rather than relayed.
 */
export class StdioCallLimits {
  private readonly timedOut = new Set<string | number>();

  constructor(private readonly o: StdioCallLimitsOptions) {}

  watch(id: string | number, call: CallContext): void {
    const limit = tightestLimit([call]);
    if (!limit) return;
    new CallDeadline(limit).onExpire(() => {
      if (this.o.pending.get(id) !== call) return;
      this.o.pending.delete(id);
      this.timedOut.add(id);
      this.o.toServer(
        serializeMessage({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: id, reason: 'gov: constraints.timeout reached' },
        }),
      );
      const err = this.o.pipeline.upstreamTimedOut(call, limit);
      if (err) this.o.toClient(err);
    });
  }

  /** The server's answer to a call gov already answered at its limit. */
  isLateAnswer(text: string): boolean {
    if (this.timedOut.size === 0) return false;
    try {
      const v = JSON.parse(text) as { id?: unknown; method?: unknown };
      const id = v.id;
      if (v.method !== undefined || (typeof id !== 'string' && typeof id !== 'number')) return false;
      return this.timedOut.delete(id);
    } catch {
      return false;
    }
  }
}
