import type { GovResponse } from '../../mcp/wire-errors.js';
import type { CallContext } from '../../pipeline.js';
import type { LegacyVersion } from './legacy-versions.js';

/**
 * The 2024-11-05 HTTP+SSE transport: the server names a POST endpoint in an `endpoint` event
 * on the GET stream, answers POSTs with 202 and sends responses on that stream. gov remembers
 * each live stream by its endpoint so that it can inject denials and correlate responses.
 */
export interface LegacySession {
  endpoint: string;
  inject(message: GovResponse): void;
  pending: Map<string | number, CallContext>;
  /** `gov serve`: the principal whose GET stream announced the endpoint; only it may use it. */
  principal: string | undefined;
  /** `gov serve --protocol-version-mode strict`: judges the version its server negotiates. */
  version?: LegacyVersion | undefined;
}

/** Endpoints of sessions gov ended, remembered (the oldest forgotten first) so they stay ended. */
const MAX_ENDED = 10_000;

export class LegacySessions {
  private readonly byEndpoint = new Map<string, LegacySession>();
  private readonly endedEndpoints = new Set<string>();

  /**
   * A stream announced `endpoint`; null when a live session already has it (a second stream
   * may not take another's endpoint over, and its POSTs stay with the first).
   */
  register(
    endpoint: string,
    inject: (m: GovResponse) => void,
    principal: string | undefined,
    version?: LegacyVersion,
  ): LegacySession | null {
    if (this.byEndpoint.has(endpoint)) return null;
    const s: LegacySession = { endpoint, inject, pending: new Map(), principal, version };
    this.byEndpoint.set(endpoint, s);
    this.endedEndpoints.delete(endpoint);
    return s;
  }

  unregister(s: LegacySession): void {
    if (this.byEndpoint.get(s.endpoint) === s) this.byEndpoint.delete(s.endpoint);
  }

  /** gov ends session `s`: its endpoint is refused from now on, not passed to the server. */
  end(s: LegacySession): void {
    if (this.byEndpoint.get(s.endpoint) !== s) return;
    this.byEndpoint.delete(s.endpoint);
    this.endedEndpoints.add(s.endpoint);
    if (this.endedEndpoints.size > MAX_ENDED)
      this.endedEndpoints.delete(this.endedEndpoints.values().next().value!);
  }

  /** Whether `url` is the endpoint of a session gov ended. */
  ended(url: string): boolean {
    return this.endedEndpoints.has(url);
  }

  /** The session a POST to `url` belongs to, when it is this principal's. */
  lookup(url: string, principal: string | undefined): LegacySession | undefined {
    const s = this.byEndpoint.get(url);
    return s && s.principal === principal ? s : undefined;
  }

  /** Whether `url` is another principal's session endpoint (refused: the server cannot tell them apart). */
  foreign(url: string, principal: string | undefined): boolean {
    const s = this.byEndpoint.get(url);
    return s !== undefined && s.principal !== principal;
  }

  get size(): number {
    return this.byEndpoint.size;
  }
}
