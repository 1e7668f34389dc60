import { parseAuthority } from '../proxy/proxy-auth.js';
import { defaultPort, originOf, type Target } from '../transport/http/upstream.js';

/** One mounted server: requests under `prefix` go to `target`, the prefix replaced by `basePath`. */
export interface Route {
  prefix: string;
  target: Target;
  basePath: string;
  /** The server's URL as written (for logs). */
  url: string;
}

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** `https://h:8443/mcp` → a route mounted at `prefix`; a `what` names the flag in errors. */
export function routeTo(prefix: string, url: string): Route | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `'${url}' is not a URL`;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `'${url}' is not an http(s) URL`;
  if (u.search || u.hash) return `'${url}' has a query or fragment; give the server's path only`;
  if (u.username || u.password)
    return `'${url}' carries credentials; bind them in gov.yaml's credentials instead`;
  const scheme = u.protocol === 'https:' ? 'https' : 'http';
  const a = parseAuthority(u.host, defaultPort(scheme));
  if (!a) return `'${url}' has a bad host`;
  if (!prefix.startsWith('/')) return `route prefix '${prefix}' must start with '/'`;
  return {
    prefix: trimSlash(prefix),
    target: { scheme, host: a.host, port: a.port },
    basePath: trimSlash(u.pathname || '/'),
    url: originOf({ scheme, host: a.host, port: a.port }) + u.pathname,
  };
}

/** `--target URL`: served at the target's own path. */
export function targetRoute(url: string): Route | string {
  let path = '/';
  try {
    path = new URL(url).pathname || '/';
  } catch {
    // routeTo says why.
  }
  return routeTo(path, url);
}

/** `--route /prefix=URL`. */
export function parseRouteFlag(spec: string): Route | string {
  const eq = spec.indexOf('=');
  if (eq <= 0) return `'${spec}' is not /prefix=URL`;
  return routeTo(spec.slice(0, eq), spec.slice(eq + 1));
}

/**
 * The path (with query) a client of `route` uses for `url` on its target: the route's prefix
 * in place of the base path. Null when `url` is on another origin or outside the base path.
 */
export function clientPathFor(route: Route, url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.origin.toLowerCase() !== originOf(route.target).toLowerCase()) return null;
  const base = route.basePath === '/' ? '' : route.basePath;
  if (base && u.pathname !== base && !u.pathname.startsWith(base + '/')) return null;
  const prefix = route.prefix === '/' ? '' : route.prefix;
  return (prefix + u.pathname.slice(base.length) || '/') + u.search;
}

/** The request's path under its route: longest prefix wins, and only at a segment boundary. */
export function resolveRoute(
  routes: readonly Route[],
  requestPath: string,
): { route: Route; path: string } | null {
  const q = requestPath.indexOf('?');
  const pathname = q === -1 ? requestPath : requestPath.slice(0, q);
  const query = q === -1 ? '' : requestPath.slice(q);
  let best: Route | undefined;
  for (const r of routes) {
    const under = r.prefix === '/' || pathname === r.prefix || pathname.startsWith(r.prefix + '/');
    if (under && (!best || r.prefix.length > best.prefix.length)) best = r;
  }
  if (!best) return null;
  const rest = best.prefix === '/' ? pathname : pathname.slice(best.prefix.length);
  const base = best.basePath === '/' ? '' : best.basePath;
  const path = base + rest || '/';
  return { route: best, path: path + query };
}
