/**
 * The four glob dialects of gov.yaml, each compiled once into a matcher:
 * - tool/prompt/method names: `*` any run, `?` one character, case-sensitive;
 * - resource URIs: `**` any run including `/`, `*` any run without `/`, `?` one non-`/`;
 * - server URLs: `*` any run including `/` in the path, but never across the authority;
 * - hosts: `*.example.com` (subdomains), `host:port` (that port only), else any port.
 */
import { posix } from 'node:path';

export interface Glob {
  /** Set when the pattern has no wildcard: matching is string equality. */
  readonly literal: string | null;
  readonly pattern: string;
  test(s: string): boolean;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function build(pattern: string, source: string, flags = ''): Glob {
  const re = new RegExp(`^${source}$`, flags);
  return { literal: null, pattern, test: (s) => re.test(s) };
}

function literal(pattern: string): Glob {
  return { literal: pattern, pattern, test: (s) => s === pattern };
}

export function hasWildcard(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

/** Tool, prompt and method names. */
export function nameGlob(pattern: string): Glob {
  if (!hasWildcard(pattern)) return literal(pattern);
  let src = '';
  for (const ch of pattern) src += ch === '*' ? '[\\s\\S]*' : ch === '?' ? '[\\s\\S]' : escapeRe(ch);
  return build(pattern, src, 'u');
}

/**
 * A `file:` URI as the path a server reads from it, for matching (`uri:` rules): a server
 * decodes it as a file URL (Node's fileURLToPath, Python's url2pathname), so `%2Eenv`,
 * `.en%76`, `sub/../.env`, `file://localhost/`, a query or a fragment and `FILE:` all name the
 * same file as `file:///…/.env`. Other URIs, and file URIs that do not parse, are matched as
 * written.
 */
export function canonicalUri(uri: string): string {
  if (!/^file:/i.test(uri)) return uri;
  let u: URL;
  let path: string;
  try {
    u = new URL(uri);
    path = decodeURIComponent(u.pathname);
  } catch {
    return uri;
  }
  const host = u.hostname === 'localhost' ? '' : u.hostname;
  return `file://${host}${posix.normalize(path)}`;
}

/** Resource URIs; a `**` between two slashes also matches zero directories. */
export function uriGlob(pattern: string): Glob {
  if (!hasWildcard(pattern)) return literal(pattern);
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '*' && pattern[i + 1] === '*') {
      const slashBefore = pattern[i - 1] === '/';
      const slashAfter = pattern[i + 2] === '/';
      if (slashBefore && slashAfter) {
        src += '(?:[\\s\\S]*/)?';
        i += 2; // consume the second '*' and the '/'
      } else {
        src += '[\\s\\S]*';
        i += 1;
      }
    } else if (ch === '*') src += '[^/]*';
    else if (ch === '?') src += '[^/]';
    else src += escapeRe(ch);
  }
  return build(pattern, src, 'u');
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };

/**
 * `scheme://host[:port]/path`: lower-case scheme and canonical host, default port dropped,
 * no user info, query or fragment. Null when it is not an absolute URL.
 */
export function normalizeServerUrl(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (!u.host) return null;
  const port = u.port && DEFAULT_PORTS[u.protocol] !== u.port ? `:${u.port}` : '';
  const host = canonicalHost(u.hostname);
  return `${u.protocol}//${host.includes(':') ? `[${host}]` : host}${port}${u.pathname}`;
}

/**
 * A registry URL pattern. The authority is matched with `*` not crossing `/` (so
 * `https://*.example.com/*` cannot be satisfied by `https://evil.com/x.example.com/`);
 * in the path `*` crosses `/`. A pattern without a path covers the whole origin, and one
 * ending in `/*` also matches the path without its trailing slash. The path compares without
 * regard to case, and a path without a wildcard at its end with or without a trailing slash.
 */
export function serverUrlGlob(pattern: string): Glob {
  const trimmed = pattern.trim();
  const sep = trimmed.indexOf('://');
  const scheme = sep === -1 ? '*' : trimmed.slice(0, sep).toLowerCase();
  const rest = sep === -1 ? trimmed : trimmed.slice(sep + 3);
  const slash = rest.indexOf('/');
  let authority = (slash === -1 ? rest : rest.slice(0, slash)).toLowerCase();
  const path = slash === -1 ? '/*' : rest.slice(slash);
  const dp = DEFAULT_PORTS[`${scheme}:`];
  if (dp && authority.endsWith(`:${dp}`)) authority = authority.slice(0, -(dp.length + 1));
  authority = authority.replace(/\.+(?=:\d+$|$)/, ''); // as canonicalHost: no trailing dot
  const part = (s: string, star: string) => {
    let src = '';
    for (const ch of s) src += ch === '*' ? star : ch === '?' ? '[^/]' : escapeRe(ch);
    return src;
  };
  let pathSrc = part(path, '[\\s\\S]*');
  if (path.endsWith('/*') && path.length > 2)
    pathSrc = `${part(path.slice(0, -2), '[\\s\\S]*')}(?:/[\\s\\S]*)?`;
  // Servers commonly route `/mcp/` and `/MCP` to `/mcp` (Express does by default, Starlette
  // redirects the slash): a path a server would take for a registered one is that server.
  else if (!path.endsWith('*')) pathSrc = `${part(path.replace(/\/$/, ''), '[\\s\\S]*')}/?`;
  const src = `${part(scheme, '[a-z0-9+.-]*')}://${part(authority, '[^/]*')}${pathSrc}`;
  return build(pattern, src, 'iu');
}

export interface HostGlob {
  readonly pattern: string;
  test(host: string, port: number): boolean;
}

/** An IPv4-mapped IPv6 address, compressed as the URL parser writes it (`::ffff:7f00:1`). */
const V4_MAPPED = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * A host spelled one way per address it reaches: lower case, without IPv6 brackets, without
 * the DNS root's trailing dot (`pay.example.com.` is `pay.example.com`), an IPv6 address
 * compressed, and an IPv4-mapped one as the IPv4 address (`::ffff:127.0.0.1` is `127.0.0.1`).
 */
function canonicalHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (!h.includes(':')) return h.replace(/\.+$/, '');
  try {
    h = new URL(`http://[${h}]/`).hostname.slice(1, -1);
  } catch {
    return h; // no IPv6 address: left as it is, and so unlike any registered host
  }
  const mapped = V4_MAPPED.exec(h);
  if (!mapped) return h;
  const hi = parseInt(mapped[1]!, 16);
  const lo = parseInt(mapped[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** `host`, `host:port`, `[v6]` or `[v6]:port`; a bare IPv6 address (several colons) has no port. */
export function splitHostPort(pattern: string): { host: string; port: number | null } {
  const p = pattern.trim().toLowerCase();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(p);
  if (bracket) return { host: bracket[1] as string, port: bracket[2] ? Number(bracket[2]) : null };
  const m = /^([^:]+):(\d+)$/.exec(p);
  if (m) return { host: m[1] as string, port: Number(m[2]) };
  return { host: p, port: null };
}

export function hostGlob(pattern: string): HostGlob {
  const split = splitHostPort(pattern);
  const port = split.port;
  const p = canonicalHost(split.host);
  let src = '';
  for (const ch of p) src += ch === '*' ? '[^/:@\\s]*' : ch === '?' ? '[^/:@\\s.]' : escapeRe(ch);
  const re = new RegExp(`^${src}$`, 'u');
  return {
    pattern,
    test: (host, hostPort) => (port === null || port === hostPort) && re.test(canonicalHost(host)),
  };
}
