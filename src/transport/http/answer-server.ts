import type { Exchange } from '../../proxy/server.js';
import type { JsonObject } from '../../types.js';
import type { ServerRequestsShown } from '../../pipeline/server-requests-shown.js';
import type { ProcessorOptions } from '../../pipeline/server-messages.js';
import type { Upstream } from './upstream.js';

// Headers that describe the call's own body, not an answer to the server.
const BODY_HEADERS =
  /^(?:content-length|content-type|accept|transfer-encoding|mcp-method|mcp-name|mcp-param-.*)$/i;

/**
 * Whose answer a server request awaits (a ServerRequestsShown scope): the client (its route and
 * principal under gov serve) in one server session — a 2024-11-05 session's endpoint, else its
 * Mcp-Session-Id, else (no session) the server's origin. A session id is the server's own name
 * for the session and what it finds the session by, not the URL a client can spell many ways
 * (127.0.0.1 or localhost, /mcp or /mcp/) that reach the same session. A request is recorded
 * under the headers of the stream it came in (a GET stream, a call's POST) and its answer
 * looked up under those of the POST that carries it: the same client and session give both.
 */
export function answerScope(ex: Exchange, sessionId: string | undefined, endpoint?: string): string {
  const session =
    endpoint !== undefined
      ? ['endpoint', endpoint]
      : sessionId !== undefined
        ? ['session', sessionId]
        : ['origin', new URL(ex.url).origin];
  return JSON.stringify([ex.route ?? null, ex.principal ?? null, ...session]);
}

/**
 * How gov answers a request a server sent inside a call's stream or a GET stream, on the
 * client's behalf (a denial): POSTed where the client's own answer would go (the stream's
 * endpoint, or a 2024-11-05 session's announced endpoint) with the headers the stream was
 * opened with (session, protocol version, credentials). Best effort: a failure is logged, and
 * the server's request then times out on its side. A request gov relays instead is recorded in
 * `shown`: the client's answer to it (and only that) is forwarded, once.
 */
export function serverAnswerer(
  ex: Exchange,
  upstream: Upstream,
  callHeaders: Record<string, string | string[]>,
  o: { log: { warn(m: string): void }; shown: ServerRequestsShown },
): Pick<ProcessorOptions, 'answerServer' | 'relayedRequest'> {
  const { log, shown } = o;
  const sid = callHeaders['mcp-session-id'];
  const scope = (endpoint?: string) => answerScope(ex, Array.isArray(sid) ? sid[0] : sid, endpoint);
  const answerServer = (response: JsonObject, endpoint?: string): void => {
    shown.withheld(response['id'], scope(endpoint));
    // A 2024-11-05 session's client POSTs to the endpoint its stream announced.
    let path = ex.path;
    if (endpoint !== undefined) {
      const url = new URL(endpoint);
      if (url.origin !== new URL(ex.url).origin)
        return log.warn(
          'a server request was denied but not answered: its session endpoint is on another origin',
        );
      path = url.pathname + url.search;
    }
    const body = Buffer.from(JSON.stringify(response));
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(callHeaders)) if (!BODY_HEADERS.test(k)) headers[k] = v;
    headers['content-type'] = 'application/json';
    headers['accept'] = 'application/json, text/event-stream';
    headers['content-length'] = String(body.length);
    upstream.request({ target: ex.target, method: 'POST', path, headers, body }).then(
      (up) => up.body.resume(),
      (err: unknown) => log.warn(`could not send gov's answer to the server: ${(err as Error).message}`),
    );
  };
  return { answerServer, relayedRequest: (id, endpoint) => shown.shown(id, scope(endpoint)) };
}
