import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** The headers argument of `writeHead(status, [reason,] headers)`. */
export type HeaderArg = OutgoingHttpHeaders | Array<string | string[]> | string | undefined;

/** One header's value in a `writeHead` headers argument (name in lower case). */
export function headerIn(h: HeaderArg, name: string): string | undefined {
  if (h === undefined || typeof h === 'string') return undefined;
  if (Array.isArray(h)) {
    for (let i = 0; i + 1 < h.length; i += 2)
      if (String(h[i]).toLowerCase() === name) return String(h[i + 1]);
    return undefined;
  }
  for (const [k, v] of Object.entries(h))
    if (k.toLowerCase() === name && v !== undefined) return String(Array.isArray(v) ? v[0] : v);
  return undefined;
}

/**
 * Calls `onSession` with the `Mcp-Session-Id` a successful answer carries. The shared
 * handler writes headers with `writeHead(status, headers)`, which `getHeader` cannot see.
 */
export function observeSessionId(res: ServerResponse, onSession: (id: string) => void): void {
  const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
  res.writeHead = (status: number, ...rest: unknown[]) => {
    const headers = (
      rest.length > 1 ? rest[1] : typeof rest[0] === 'string' ? undefined : rest[0]
    ) as HeaderArg;
    const id = headerIn(headers, 'mcp-session-id') ?? (res.getHeader('mcp-session-id') as string | undefined);
    if (id !== undefined && status < 300) onSession(id);
    return writeHead(status, ...rest);
  };
}

/**
 * A `Location` the target answers with, as the client must follow it: one on the target's
 * origin is given as the route names it (`clientPath`), or withheld when it lies outside the
 * route (followed, it would reach another route's server through gov); one elsewhere stays.
 */
export function routeLocations(
  res: ServerResponse,
  upstreamUrl: string,
  clientPath: (url: string) => string | null,
): void {
  const origin = new URL(upstreamUrl).origin;
  const mapped = (location: string): string | null => {
    let u: URL;
    try {
      u = new URL(location, upstreamUrl);
    } catch {
      return null;
    }
    return u.origin === origin ? clientPath(u.href) : location;
  };
  const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
  res.writeHead = (status: number, ...rest: unknown[]) => {
    const headers = (
      rest.length > 1 ? rest[1] : typeof rest[0] === 'string' ? undefined : rest[0]
    ) as HeaderArg;
    if (headers && typeof headers === 'object' && !Array.isArray(headers))
      for (const k of Object.keys(headers)) {
        if (k.toLowerCase() !== 'location') continue;
        const to = mapped(String(headers[k]));
        if (to === null) delete headers[k];
        else headers[k] = to;
      }
    return writeHead(status, ...rest);
  };
}
