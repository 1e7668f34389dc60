import type { GovResponse } from '../../mcp/wire-errors.js';
import type { CallContext } from '../../pipeline.js';

/**
 * The 2024-11-05 HTTP+SSE transport: the server names a POST endpoint in an `endpoint` event
 * on the GET stream, answers POSTs with 202 and sends responses on that stream. gov remembers
 * each live stream by its endpoint so that it can inject denials and correlate responses.
 */
export interface LegacySession {
  endpoint: string;
  inject(message: GovResponse): void;
  pending: Map<string | number, CallContext>;
}

export class LegacySessions {
  private readonly byEndpoint = new Map<string, LegacySession>();

  register(endpoint: string, inject: (m: GovResponse) => void): LegacySession {
    const s: LegacySession = { endpoint, inject, pending: new Map() };
    this.byEndpoint.set(endpoint, s);
    return s;
  }

  unregister(s: LegacySession): void {
    if (this.byEndpoint.get(s.endpoint) === s) this.byEndpoint.delete(s.endpoint);
  }

  lookup(url: string): LegacySession | undefined {
    return this.byEndpoint.get(url);
  }

  get size(): number {
    return this.byEndpoint.size;
  }
}
