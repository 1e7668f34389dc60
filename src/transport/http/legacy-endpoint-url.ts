/**
 * Which POSTs go to a 2024-11-05 session's endpoint, however the client spells its URL.
 *
 * Servers route more loosely than an exact string: Express (the official SDK's examples)
 * matches paths case-insensitively and with or without a trailing slash, Tomcat, Jetty and
 * Spring drop `;params` from path segments, most frameworks decode percent-encoded path
 * characters before routing, front ends merge repeated slashes, and every query parser
 * ignores parameters it does not read and their order. A POST that
 * the server may route to a session counts as the session's: erring that way governs more,
 * never less. Pure: no I/O.
 */

/** A URL in the form gov compares endpoints in. */
export interface EndpointUrl {
  /** Origin and path, canonical: what every spelling of one endpoint shares. */
  place: string;
  /** The query's parameters: name (lower-cased, as ASP.NET reads them) → its decoded values. */
  params: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Whether a request reaches an endpoint: `ambiguous` when its query also names other values. */
export type EndpointMatch = 'no' | 'yes' | 'ambiguous';

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** `%6d` → `m` for unreserved characters; other escapes stay (a decoded `/` would move the path). */
function decodeUnreserved(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(c) ? c : escape;
  });
}

/**
 * The path as servers route it: unreserved escapes decoded, `;params` off each segment (as
 * Tomcat, Jetty and Spring drop them, `%3b` too) and the dot segments that uncovers
 * resolved, any case, `//` as `/`, no trailing `/`.
 */
function canonicalPath(pathname: string): string {
  const segments: string[] = [];
  for (const seg of decodeUnreserved(pathname).toLowerCase().split('/')) {
    const bare = seg.replace(/(?:;|%3b).*/, '');
    if (bare === '..') segments.pop();
    else if (bare !== '' && bare !== '.') segments.push(bare);
  }
  return '/' + segments.join('/');
}

/**
 * An absolute http(s) URL in comparable form; null when it is not one. The WHATWG parser
 * lower-cases the host, drops a default port and resolves dot segments (`%2e` ones too).
 */
export function parseEndpointUrl(url: string): EndpointUrl | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  const params = new Map<string, Set<string>>();
  for (const [name, value] of u.searchParams) {
    const key = name.toLowerCase();
    const values = params.get(key);
    if (values) values.add(value);
    else params.set(key, new Set([value]));
  }
  return { place: `${u.protocol}//${u.host}${canonicalPath(u.pathname)}`, params };
}

/**
 * Whether a request to `request` reaches `endpoint`: the same place, and each of the
 * endpoint's parameters with its values (others may come along, in any order). A request
 * that also gives one of those parameters another value is `ambiguous`: servers disagree on
 * which value they read.
 */
export function matchEndpoint(endpoint: EndpointUrl, request: EndpointUrl): EndpointMatch {
  if (endpoint.place !== request.place) return 'no';
  let match: EndpointMatch = 'yes';
  for (const [name, values] of endpoint.params) {
    const given = request.params.get(name);
    if (!given || ![...values].some((v) => given.has(v))) return 'no';
    if (given.size !== values.size || [...given].some((v) => !values.has(v))) match = 'ambiguous';
  }
  return match;
}

/** Whether a request to `url` reaches the endpoint `endpoint` (both absolute URLs). */
export function endpointReachedBy(endpoint: string, url: string): boolean {
  const e = parseEndpointUrl(endpoint);
  const u = parseEndpointUrl(url);
  return e !== null && u !== null && matchEndpoint(e, u) !== 'no';
}

const keyOf = (place: string, name: string, value: string): string =>
  `${place}?${encodeURIComponent(name)}=${encodeURIComponent(value)}`;

/**
 * Where an endpoint is filed so that requests meet only the endpoints they may reach: its
 * place and one of its parameters, the one with the longest value (a session id, in practice:
 * the most distinct, so endpoints sharing a path spread out). Any parameter would be correct.
 */
export function filingKeys(endpoint: EndpointUrl): string[] {
  let chosen: [string, ReadonlySet<string>] | undefined;
  let longest = -1;
  for (const [name, values] of endpoint.params)
    for (const v of values)
      if (v.length > longest) {
        longest = v.length;
        chosen = [name, values];
      }
  if (!chosen) return [endpoint.place];
  const [name, values] = chosen;
  return [...values].map((v) => keyOf(endpoint.place, name, v));
}

/**
 * The keys to look a request up under: every endpoint it may reach was filed under one of
 * them (an endpoint it reaches has the request's place and shares a value for each parameter).
 */
export function lookupKeys(request: EndpointUrl): string[] {
  const keys = [request.place];
  for (const [name, values] of request.params)
    for (const v of values) keys.push(keyOf(request.place, name, v));
  return keys;
}
