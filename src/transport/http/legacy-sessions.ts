import type { GovResponse } from '../../mcp/wire-errors.js';
import type { CallContext } from '../../pipeline.js';
import {
  filingKeys,
  lookupKeys,
  matchEndpoint,
  parseEndpointUrl,
  type EndpointUrl,
} from './legacy-endpoint-url.js';
import type { LegacyVersion } from './legacy-versions.js';

/**
 * The 2024-11-05 HTTP+SSE transport: the server names a POST endpoint in an `endpoint` event
 * on the GET stream, answers POSTs with 202 and sends responses on that stream. gov remembers
 * each live stream by its endpoint so that it can inject denials and correlate responses.
 */
export interface LegacySession {
  /** The endpoint as announced (absolute URL). */
  endpoint: string;
  inject(message: GovResponse): void;
  pending: Map<string | number, CallContext>;
  /** `gov serve`: the principal whose GET stream announced the endpoint; only it may use it. */
  principal: string | undefined;
  /** `gov serve --protocol-version-mode strict`: judges the version its server negotiates. */
  version?: LegacyVersion | undefined;
}

/**
 * What a request's URL is to the sessions gov knows, matched as in legacy-endpoint-url.ts:
 * the endpoint of one of its principal's live sessions, another principal's, an ended
 * session's, more than one session's (refused: gov cannot tell which the server picks), or none.
 */
export type LegacyTarget =
  | { kind: 'none' }
  | { kind: 'session'; session: LegacySession }
  | { kind: 'foreign' | 'ended' | 'ambiguous' };

/** Endpoints of sessions gov ended, remembered (the oldest forgotten first) so they stay ended. */
const MAX_ENDED = 10_000;

/** Items filed by their endpoint's keys: a request meets only those it may reach. */
class EndpointShelf<T> {
  private readonly byKey = new Map<string, Set<T>>();
  /** Insertion order: the first is the oldest. */
  private readonly filed = new Map<T, { url: EndpointUrl; keys: string[] }>();

  add(item: T, url: EndpointUrl): void {
    const keys = filingKeys(url);
    this.filed.set(item, { url, keys });
    for (const k of keys) {
      const items = this.byKey.get(k);
      if (items) items.add(item);
      else this.byKey.set(k, new Set([item]));
    }
  }

  remove(item: T): void {
    const f = this.filed.get(item);
    if (!f) return;
    this.filed.delete(item);
    for (const k of f.keys) {
      const items = this.byKey.get(k);
      items?.delete(item);
      if (items?.size === 0) this.byKey.delete(k);
    }
  }

  has(item: T): boolean {
    return this.filed.has(item);
  }

  oldest(): T | undefined {
    return this.filed.keys().next().value;
  }

  get size(): number {
    return this.filed.size;
  }

  /** The items whose endpoint a request to `request` reaches, and how. */
  reachedBy(request: EndpointUrl): Array<{ item: T; ambiguous: boolean }> {
    const seen = new Set<T>();
    const reached: Array<{ item: T; ambiguous: boolean }> = [];
    for (const k of lookupKeys(request))
      for (const item of this.byKey.get(k) ?? []) {
        if (seen.has(item)) continue;
        seen.add(item);
        const m = matchEndpoint(this.filed.get(item)!.url, request);
        if (m !== 'no') reached.push({ item, ambiguous: m === 'ambiguous' });
      }
    return reached;
  }
}

const NONE: LegacyTarget = { kind: 'none' };

export class LegacySessions {
  private readonly live = new EndpointShelf<LegacySession>();
  /** Ended sessions' endpoints (each its own token: one may be spelled like another). */
  private readonly ended = new EndpointShelf<object>();

  /**
   * A stream announced `endpoint`; null when POSTs to it would reach a live session (a second
   * stream may not take another's endpoint over, and its POSTs stay with the first).
   */
  register(
    endpoint: string,
    inject: (m: GovResponse) => void,
    principal: string | undefined,
    version?: LegacyVersion,
  ): LegacySession | null {
    const url = parseEndpointUrl(endpoint);
    if (!url || this.live.reachedBy(url).length > 0) return null;
    // The server announced it anew: a session it names is no longer the ended one.
    for (const { item } of this.ended.reachedBy(url)) this.ended.remove(item);
    const s: LegacySession = { endpoint, inject, pending: new Map(), principal, version };
    this.live.add(s, url);
    return s;
  }

  unregister(s: LegacySession): void {
    this.live.remove(s);
  }

  /** gov ends session `s`: its endpoint is refused from now on, not passed to the server. */
  end(s: LegacySession): void {
    if (!this.live.has(s)) return;
    this.live.remove(s);
    this.ended.add({}, parseEndpointUrl(s.endpoint)!);
    if (this.ended.size > MAX_ENDED) this.ended.remove(this.ended.oldest()!);
  }

  /** Whether `s` is still live (its stream open, gov has not ended it). */
  isLive(s: LegacySession): boolean {
    return this.live.has(s);
  }

  /** What a request to `url` from `principal` is to the sessions gov knows. */
  target(url: string, principal: string | undefined): LegacyTarget {
    // Most requests, and every one when no 2024-11-05 session is about, stop here.
    if (this.live.size === 0 && this.ended.size === 0) return NONE;
    const request = parseEndpointUrl(url);
    if (!request) return NONE;
    const live = this.live.reachedBy(request);
    const ended = this.ended.reachedBy(request).length > 0;
    if (live.length === 0) return ended ? { kind: 'ended' } : NONE;
    // Another principal's session: its server cannot tell the two apart.
    if (live.some((r) => r.item.principal !== principal)) return { kind: 'foreign' };
    const only = live.length === 1 && !ended ? live[0]! : undefined;
    return only && !only.ambiguous ? { kind: 'session', session: only.item } : { kind: 'ambiguous' };
  }
}
