/**
 * SSE resumability for `gov serve` (MCP Streamable HTTP, "Resumability and Redelivery").
 *
 * Every SSE stream gov answers a client with gets gov's own event ids (`<stream>.<seq>`, the
 * stream part 128 random bits) and a priming event, and its events are kept in a bounded
 * buffer. The buffer holds the bytes as they left the pipeline — already filtered and
 * redacted — never the upstream's: a replay is a copy of what the client was sent or would
 * have been sent. The upstream's own ids are replaced, so a client's `Last-Event-ID` always
 * names gov's buffer and is never passed upstream.
 *
 * When the client drops mid-stream, the stream goes on into the buffer (the upstream request
 * is not cancelled) until the client resumes with `GET` + `Last-Event-ID`, or until
 * `maxAgeMs` passes without it; then the upstream stream is closed and forgotten.
 * A resume is served only to the principal and session (on its route) that opened the stream.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { formatSseEvent, SseParser, type SseEvent } from '../mcp/sse.js';
import { outliveClient } from '../transport/http/outliving-streams.js';
import { isEventStream } from '../transport/http/sse-relay.js';
import { headerIn, type HeaderArg } from './response-headers.js';

export interface ReplayLimits {
  /** Events kept per stream; the oldest go first. 0 turns resumability off. */
  maxEvents: number;
  /** How long an event is kept, and how long a dropped stream waits for its client. */
  maxAgeMs: number;
  /** Streams kept at once, and their events' total bytes: the oldest streams go first. */
  maxStreams: number;
  maxBytes: number;
}

export interface StreamOwner {
  principal: string | undefined;
  sessionId: string | undefined;
  /** The route it came through: a session id is only its server's name for the session. */
  route?: string;
}

interface Kept {
  seq: number;
  text: string;
  at: number;
}

interface Stream {
  id: string;
  owner: StreamOwner;
  seq: number;
  events: Kept[];
  ended: boolean;
  /** Where events go now; null while the client is away. */
  client: ServerResponse | null;
  /** Closes the upstream stream (given by the relay when the first client left). */
  stop?: () => void;
  expiry?: NodeJS.Timeout;
}

export type ResumeResult = 'resumed' | 'foreign' | 'unknown';

/** Events are formatted by gov itself: any size the relay let through is accepted here. */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

function isKeepAlive(ev: SseEvent): boolean {
  return ev.hasData === false && ev.event === undefined && ev.id === undefined && ev.retry === undefined;
}

/** What one principal's streams hold in the buffer. */
interface Usage {
  streams: number;
  bytes: number;
}

export class SseReplay {
  /** In the order they were opened. */
  private readonly streams = new Map<string, Stream>();
  private bytes = 0;
  /** By principal ('' without authentication): over budget, the heaviest gives way first. */
  private readonly usage = new Map<string, Usage>();

  constructor(
    private readonly limits: ReplayLimits,
    private readonly debug: (message: string) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.limits.maxEvents > 0;
  }

  /** Watch `res`: if it becomes an SSE stream, number, keep and relay its events. */
  track(res: ServerResponse, owner: StreamOwner): void {
    const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
    res.writeHead = (status: number, ...rest: unknown[]) => {
      const headers = (
        rest.length > 1 ? rest[1] : typeof rest[0] === 'string' ? undefined : rest[0]
      ) as HeaderArg;
      const out = writeHead(status, ...rest);
      const ct = headerIn(headers, 'content-type') ?? res.getHeader('content-type');
      if (status === 200 && isEventStream(ct)) {
        const sessionId = owner.sessionId ?? headerIn(headers, 'mcp-session-id');
        this.open(res, { ...owner, sessionId });
      }
      return out;
    };
  }

  private open(res: ServerResponse, owner: StreamOwner): void {
    const s: Stream = {
      id: randomBytes(16).toString('hex'),
      owner,
      seq: 0,
      events: [],
      ended: false,
      client: res,
    };
    this.streams.set(s.id, s);
    this.usageOf(s).streams++;
    const write = res.write.bind(res) as (chunk: unknown) => boolean;
    const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
    const parser = new SseParser({ maxEventBytes: NO_LIMIT });
    const numbered = (chunk: unknown): string => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return '';
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
      let text = '';
      for (const ev of parser.push(bytes)) {
        // Keep-alive comments are not messages: relayed, never numbered or kept.
        if (isKeepAlive(ev)) text += formatSseEvent(ev);
        else text += this.keep(s, formatSseEvent({ ...ev, id: `${s.id}.${++s.seq}` }));
      }
      return text;
    };
    res.write = ((chunk: unknown) => {
      const text = numbered(chunk);
      const to = s.client;
      if (!to || !text) return true;
      if (to === res) return write(text);
      // A resumed client's backpressure reaches the relay, which waits on this response.
      if (to.write(text)) return true;
      to.once('drain', () => res.emit('drain'));
      return false;
    }) as ServerResponse['write'];
    res.end = ((chunk?: unknown) => {
      const text = numbered(chunk);
      s.ended = true;
      // Kept a while even when its client was there: that connection may have died unnoticed.
      this.expireLater(s);
      if (s.client === res) return end(text || undefined);
      s.client?.end(text || undefined);
      return res;
    }) as ServerResponse['end'];
    res.once('close', () => this.left(s, res));
    outliveClient(res, (stop) => {
      if (s.ended || !this.streams.has(s.id)) return false;
      s.stop = stop;
      this.debug(`SSE stream ${s.id.slice(0, 8)} lost its client; kept for Last-Event-ID replay`);
      // A relay paused for backpressure resumes: its writes now go to the buffer.
      res.emit('drain');
      return true;
    });
    // Prime the client with an id before any message, so even a stream dropped at once resumes.
    write(this.keep(s, formatSseEvent({ id: `${s.id}.0`, data: '', comments: [] })));
  }

  /** Keep one numbered event (bounded by count, age and the total size); returns it. */
  private keep(s: Stream, text: string): string {
    // A stream pushed out of the buffer while its client stays connected goes on unkept: its
    // events must not count against the budget every other client's streams share.
    if (!this.streams.has(s.id)) return text;
    s.events.push({ seq: s.seq, text, at: this.now() });
    this.count(s, text.length);
    this.prune(s);
    this.evict(s);
    return text;
  }

  private usageOf(s: Stream): Usage {
    const who = s.owner.principal ?? '';
    let u = this.usage.get(who);
    if (u === undefined) this.usage.set(who, (u = { streams: 0, bytes: 0 }));
    return u;
  }

  private count(s: Stream, bytes: number): void {
    this.bytes += bytes;
    this.usageOf(s).bytes += bytes;
  }

  /**
   * Over the shared limits, the principal holding the most (bytes when bytes are over, else
   * streams) loses its oldest stream first: one client with many or large streams pushes out
   * its own, not every other client's. `keeping` (being written) goes only as a last resort,
   * by its oldest events.
   */
  private evict(keeping: Stream): void {
    const mine = keeping.owner.principal ?? '';
    while (this.bytes > this.limits.maxBytes || this.streams.size > this.limits.maxStreams) {
      const bytesOver = this.bytes > this.limits.maxBytes;
      const weight = (u: Usage) => (bytesOver ? u.bytes : u.streams);
      const order = [...this.usage].sort((a, b) => weight(b[1]) - weight(a[1])).map(([who]) => who);
      if (!order.some((who) => this.giveWay(who, keeping, bytesOver && who === mine))) return;
    }
  }

  /** Drop `who`'s oldest stream other than `keeping`, else (if allowed) `keeping`'s oldest event. */
  private giveWay(who: string, keeping: Stream, trimKeeping: boolean): boolean {
    for (const x of this.streams.values())
      if (x !== keeping && (x.owner.principal ?? '') === who) {
        this.drop(x);
        return true;
      }
    if (!trimKeeping || keeping.events.length <= 1) return false;
    this.count(keeping, -keeping.events.shift()!.text.length);
    return true;
  }

  private prune(s: Stream): void {
    const t = this.now();
    const e = s.events;
    while (e.length > 0 && (e.length > this.limits.maxEvents || t - e[0]!.at > this.limits.maxAgeMs))
      this.count(s, -e.shift()!.text.length);
  }

  /** `GET` with `Last-Event-ID`: replay what followed it on its stream, then follow the stream. */
  resume(lastEventId: string, owner: StreamOwner, res: ServerResponse): ResumeResult {
    const m = /^([0-9a-f]{32})\.(\d+)$/.exec(lastEventId.trim());
    const s = m ? this.streams.get(m[1]!) : undefined;
    if (!s) return 'unknown';
    const theirs = s.owner;
    if (
      theirs.principal !== owner.principal ||
      theirs.sessionId !== owner.sessionId ||
      theirs.route !== owner.route
    )
      return 'foreign';
    const after = Number(m![2]);
    this.prune(s);
    const previous = s.client;
    s.client = res;
    clearTimeout(s.expiry);
    // A client resuming a stream gov still thinks it is writing to: that connection is dead to it.
    if (previous && previous !== res) previous.destroy();
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const missing = (s.events[0]?.seq ?? s.seq + 1) - after - 1;
    if (missing > 0) res.write(`: gov: ${missing} event(s) after ${lastEventId} are no longer buffered\n\n`);
    for (const e of s.events) if (e.seq > after) res.write(e.text);
    res.once('close', () => this.left(s, res));
    if (s.ended) {
      res.end();
      this.expireLater(s);
    }
    return 'resumed';
  }

  /** Stop every stream's upstream and forget it (gov serve is shutting down; connections are closed). */
  stopAll(): void {
    for (const s of [...this.streams.values()]) this.drop(s);
  }

  /** Stop and forget `principal`'s streams: a client it cuts is not waited for (revoked). */
  stopAllOf(principal: string): void {
    for (const s of [...this.streams.values()]) if (s.owner.principal === principal) this.drop(s);
  }

  private left(s: Stream, res: ServerResponse): void {
    if (s.client !== res || res.writableFinished) return;
    s.client = null;
    this.expireLater(s);
  }

  private expireLater(s: Stream): void {
    clearTimeout(s.expiry);
    s.expiry = setTimeout(() => {
      if (!s.client || s.ended) this.drop(s);
    }, this.limits.maxAgeMs);
    s.expiry.unref();
  }

  private drop(s: Stream): void {
    this.forget(s);
    s.stop?.();
  }

  private forget(s: Stream): void {
    clearTimeout(s.expiry);
    if (!this.streams.delete(s.id)) return;
    for (const e of s.events) this.count(s, -e.text.length);
    s.events = [];
    const u = this.usageOf(s);
    if (--u.streams === 0) this.usage.delete(s.owner.principal ?? '');
  }
}
