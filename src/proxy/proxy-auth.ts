import { timingSafeEqual } from 'node:crypto';

/** The per-run proxy credential travels as Basic auth (`http://gov:<token>@127.0.0.1:port`). */
export function checkProxyAuth(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return false;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return false;
  const given = Buffer.from(decoded.slice(colon + 1));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

const AUTH_BODY = 'gov: proxy authentication required (use the proxy URL gov set)\n';
export const PROXY_AUTH_REQUIRED =
  'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="gov"\r\n' +
  `Content-Type: text/plain\r\nConnection: close\r\nContent-Length: ${AUTH_BODY.length}\r\n\r\n` +
  AUTH_BODY;

/** Parse an authority (`host:port`, `[v6]:port`, `host`) into a host without brackets and a port. */
export function parseAuthority(
  authority: string,
  fallbackPort: number,
): { host: string; port: number } | null {
  const a = authority.trim();
  let host: string;
  let portText: string | undefined;
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    if (end === -1) return null;
    host = a.slice(1, end);
    const rest = a.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return null;
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const parts = a.split(':');
    if (parts.length > 2) return null;
    host = parts[0]!;
    portText = parts[1];
  }
  if (!host || /[\s/?#@]/.test(host)) return null;
  const port = portText === undefined ? fallbackPort : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host: host.toLowerCase(), port };
}
