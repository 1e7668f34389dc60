import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { formatSseEvent, SseParser, type SseEvent } from '../../mcp/sse.js';
import { endpointFromEvent } from '../../mcp/legacy-sse.js';
import { jsonRpcError, type GovResponse } from '../../mcp/wire-errors.js';
import type { JsonObject } from '../../types.js';
import type { LegacySession, LegacySessions } from './legacy-sessions.js';
import { endpointReachedBy } from './legacy-endpoint-url.js';
import { LegacyVersion } from './legacy-versions.js';
import type { VersionGate } from '../../mcp/negotiated-version.js';
import type { ServerMessageProcessor } from '../../pipeline/server-messages.js';
import type { Exchange } from '../../proxy/server.js';
import type { UpstreamResponse } from './upstream.js';
import { clientWentAway, discardBody, responseHeaders, sendText } from './forward.js';
import { decodedStream } from '../../proxy/content-encoding.js';
import { streamOutlivesClient } from './outliving-streams.js';
import { WriteBatch } from './write-batch.js';

export interface SseRelayOptions {
  res: ServerResponse;
  status: number;
  headers: Record<string, string | string[]>;
  /** The response is already an open SSE stream (held-call heartbeats): only append events. */
  headersSent?: boolean;
  body: Readable;
  contentEncoding?: string | undefined;
  /** The stream's own URL (to resolve a legacy `endpoint`). */
  streamUrl: string;
  processor: ServerMessageProcessor;
  /** gov's own answers to send first (denied elements of a batch). */
  prepend?: GovResponse[];
  /**
   * The 2024-11-05 transport: a GET stream whose first event may announce a POST endpoint
   * (`endpoint`), owned by `owner` (the principal under gov serve).
   */
  legacy?: LegacySessions;
  owner?: string | undefined;
  /**
   * With `legacy`, `gov serve --protocol-version-mode strict`: an `initialize` result on the
   * stream in a version not accepted is replaced by an error, and the session ends.
   */
  versions?: VersionGate | undefined;
  /** gov serve: how a client names a URL of the target (see Exchange). */
  clientPath?: ((upstreamUrl: string) => string | null) | undefined;
  maxEventBytes: number;
  /** Called once the stream is over, however it ended. */
  onEnd?: () => void;
  /**
   * A time limit: when `signal` aborts, the stream ends with `answers()` as its final events
   * (gov's errors for the calls still unanswered) instead of being cut off.
   */
  cut?: { signal: AbortSignal; answers: () => GovResponse[] };
}

export function isEventStream(contentType: unknown): boolean {
  return typeof contentType === 'string' && contentType.toLowerCase().startsWith('text/event-stream');
}

/** Relay an upstream SSE response to the exchange's client (see relaySse). */
export function relayUpstreamSse(
  ex: Exchange,
  up: UpstreamResponse,
  o: Pick<
    SseRelayOptions,
    'processor' | 'maxEventBytes' | 'prepend' | 'legacy' | 'owner' | 'versions' | 'headersSent' | 'cut'
  >,
): Promise<void> {
  return relaySse({
    ...o,
    res: ex.res,
    status: up.status,
    headers: o.headersSent ? {} : responseHeaders(up.headers, o.processor.vaultScan),
    body: up.body,
    contentEncoding: up.headers['content-encoding'],
    streamUrl: ex.url,
    clientPath: ex.clientPath,
  });
}

export function sseEventFor(message: GovResponse | JsonObject): string {
  return formatSseEvent({ event: 'message', data: JSON.stringify(message), comments: [] });
}

/**
 * Relay an SSE response event by event: each complete event is scanned (and rewritten when
 * needed) and written at once, so the agent never waits for the stream to end and a secret
 * split across chunks is still seen whole. Backpressure flows from the client to the upstream.
 */
export function relaySse(o: SseRelayOptions): Promise<void> {
  const { res } = o;
  const headers = { ...o.headers };
  delete headers['content-length'];
  const source = decodedStream(o.body, o.contentEncoding);
  if (typeof source === 'string') {
    // Events gov cannot decode are events it cannot scan: refused, never relayed as they are.
    discardBody(o.body);
    o.processor.finish('response-undecodable');
    if (o.headersSent) res.end();
    else sendText(res, 502, `gov: the upstream event stream could not be scanned: ${source}; refused`);
    o.onEnd?.();
    return Promise.resolve();
  }
  delete headers['content-encoding'];
  // The headers go out with the first events when those are already here (one TLS record and
  // one syscall, not two); a stream whose first event is not gets them at the end of this turn.
  // (`res.headersSent` is true from writeHead on, sent or not: hence `wrote`.)
  let headersDue: NodeJS.Immediate | null = null;
  let wrote = false;
  if (!o.headersSent) {
    res.writeHead(o.status, headers);
    if (!o.prepend?.length)
      headersDue = setImmediate(() => {
        headersDue = null;
        if (!wrote && !res.writableEnded) res.flushHeaders();
      });
  }
  for (const m of o.prepend ?? []) res.write(sseEventFor(m));

  let session: LegacySession | undefined;
  /** The stream has had its endpoint event, or a message before any: no endpoint counts after. */
  let announced = false;
  const version = o.legacy && o.versions ? new LegacyVersion(o.versions) : undefined;
  /** The session's server negotiated a version not accepted: the stream ends after its error. */
  let refusedVersion = false;
  const parser = new SseParser({ maxEventBytes: o.maxEventBytes });

  // The first events of a turn of the event loop are written at once; those arriving later in
  // the same turn are written together at its end. A server that writes each event on its own
  // arrives as thousands of tiny chunks, and a write each would cost a TLS record and a
  // syscall per event. Events relayed as they came stay views into the upstream's chunks.
  const queued = new WriteBatch();
  let turn: NodeJS.Immediate | null = null;
  /** The client is behind: nothing more is read until it drains (backpressure to the upstream). */
  let blocked = false;
  let pump = () => {};
  const send = () => {
    const out = queued.take();
    if (out === null || res.writableEnded) return;
    wrote = true;
    if (!res.write(out) && !blocked) {
      blocked = true;
      res.once('drain', () => {
        blocked = false;
        pump();
      });
    }
  };
  const endTurn = () => {
    turn = null;
    send();
  };
  /** Writes what is queued now (before gov's own writes, and before the end). */
  const flush = () => {
    if (turn) clearImmediate(turn);
    turn = null;
    send();
  };
  const vault = o.processor.vaultScan;
  /** The fields around the data are the server's words too: a vault value there is redacted. */
  const scrubFields = (ev: SseEvent): SseEvent => {
    if (!vault || (ev.comments.length === 0 && ev.id === undefined && (ev.event ?? 'message') === 'message'))
      return ev;
    const one = (t: string) => vault.redactString(t).text;
    return {
      ...ev,
      comments: ev.comments.map(one),
      ...(ev.event !== undefined ? { event: one(ev.event) } : {}),
      ...(ev.id !== undefined ? { id: one(ev.id) } : {}),
    };
  };
  /** What goes to the client for one event: its own bytes (`verbatim`) when nothing changes. */
  const transform = (raw: SseEvent, own: Buffer | null): string | Buffer => {
    const ev = scrubFields(raw);
    if (ev.event === 'endpoint' && o.legacy) {
      // Only the first event of the stream names its endpoint: a later one (or one after the
      // stream's messages began) would move the client's POSTs away from where gov answers.
      if (session || announced) return '';
      announced = true;
      const found = endpointFromEvent(ev, o.streamUrl);
      // gov serve: the client reaches the server through its route, so the endpoint is named
      // there; one outside the route would send the client's POSTs to another route's server.
      const shown = o.clientPath ? (found ? o.clientPath(found) : null) : ev.data;
      if (shown === null) return '';
      // The stream's own URL (in any spelling) is where Streamable HTTP clients POST: never a
      // legacy endpoint.
      const endpoint = found && !endpointReachedBy(found, o.streamUrl) ? found : null;
      if (endpoint) {
        session =
          o.legacy.register(
            endpoint,
            (m) => {
              flush(); // after the events already queued
              if (!res.writableEnded) res.write(sseEventFor(m));
            },
            o.owner,
            version,
          ) ?? undefined;
        if (!session) return '';
      }
      // The endpoint URL never goes to the client with a vault value in it.
      return formatSseEvent({ ...ev, data: vault ? vault.redactString(shown).text : shown });
    }
    if (!ev.data) return own ?? formatSseEvent(ev);
    announced = true;
    const refused = version?.seen(ev.data);
    if (refused) {
      refusedVersion = true;
      const error = JSON.stringify(jsonRpcError(refused.id, -32603, refused.message));
      // Processed as the answer to the `initialize` call (its outcome is recorded).
      return formatSseEvent({
        event: 'message',
        data: o.processor.processText(error, session) ?? error,
        comments: [],
      });
    }
    const out = o.processor.processText(ev.data, session);
    return out === null ? (own ?? formatSseEvent(ev)) : formatSseEvent({ ...ev, data: out });
  };
  const verbatim: (Buffer | null)[] = [];

  return new Promise<void>((resolve) => {
    let finished = false;
    let adopted = false;
    const finish = () => {
      if (finished) return;
      verbatim.length = 0;
      finished = true;
      if (turn) clearImmediate(turn);
      if (headersDue) clearImmediate(headersDue);
      // A stream that outlived its client ends in the replay buffer, however it ended.
      if (adopted && !res.writableEnded) res.end();
      if (session && o.legacy) o.legacy.unregister(session);
      o.processor.finish(clientWentAway(res) ? 'cancelled' : 'no-response');
      o.onEnd?.();
      resolve();
    };
    /** gov ends the session: its endpoint is refused from now on, and the server's stream closed. */
    const endSession = () => {
      flush();
      if (session) o.legacy?.end(session);
      res.end();
      o.body.destroy();
      finish();
    };
    const write = (events: SseEvent[]) => {
      if (!events.length) return;
      for (let k = 0; k < events.length && !refusedVersion; k++)
        queued.add(transform(events[k]!, verbatim[k] ?? null));
      verbatim.length = 0;
      if (refusedVersion) return endSession();
      if (turn) return;
      turn = setImmediate(endTurn);
      send();
    };
    // Read, not 'data': read() hands over everything that arrived together as one buffer, so a
    // server writing an event at a time costs one parse, one scan and one write per batch.
    pump = () => {
      let chunk: Buffer | null;
      while (!finished && !blocked && (chunk = source.read() as Buffer | null) !== null) {
        try {
          write(parser.push(chunk, verbatim));
        } catch (err) {
          // An event over the limit cannot be scanned: end the stream rather than pass it unseen.
          flush();
          res.write(`: gov closed the stream: ${(err as Error).message}\n\n`);
          res.end();
          o.body.destroy();
          finish();
        }
      }
    };
    source.on('readable', pump);
    source.once('end', () => {
      try {
        write(parser.end());
      } catch {
        /* a torn final event is dropped */
      }
      flush();
      res.end();
      finish();
    });
    const cutOff = () => {
      if (finished) return;
      flush();
      if (!res.writableEnded) {
        for (const m of o.cut!.answers()) res.write(sseEventFor(m));
        res.end();
      }
      o.body.destroy();
      finish();
    };
    if (o.cut) {
      if (o.cut.signal.aborted) cutOff();
      else o.cut.signal.addEventListener('abort', cutOff, { once: true });
    }
    source.once('error', () => {
      if (o.cut?.signal.aborted) return cutOff();
      res.destroy();
      finish();
    });
    const stop = () => {
      o.body.destroy();
      finish();
    };
    res.once('close', () => {
      if (!res.writableFinished && streamOutlivesClient(res, stop)) return void (adopted = true);
      if (!res.writableFinished) o.body.destroy();
      finish();
    });
  });
}
