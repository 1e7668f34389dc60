import type { Exchange } from '../../proxy/server.js';
import type { JsonObject } from '../../types.js';
import type { Upstream } from './upstream.js';

// Headers that describe the call's own body, not an answer to the server.
const BODY_HEADERS =
  /^(?:content-length|content-type|accept|transfer-encoding|mcp-method|mcp-name|mcp-param-.*)$/i;

/**
 * How gov answers a request a server sent inside a call's stream or a GET stream, on the
 * client's behalf (a denial): POSTed where the client's own answer would go (the stream's
 * endpoint, or a 2024-11-05 session's announced endpoint) with the headers the stream was
 * opened with (session, protocol version, credentials). Best effort:
 * a failure is logged, and the server's request then times out on its side.
 */
export function serverAnswerer(
  ex: Exchange,
  upstream: Upstream,
  callHeaders: Record<string, string | string[]>,
  log: { warn(m: string): void },
): (response: JsonObject, endpoint?: string) => void {
  return (response, endpoint) => {
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
}
