/**
 * Request targets that servers may route somewhere other than where their spelling says.
 *
 * gov serve maps a route's prefix onto its server's base path and forwards the rest as it
 * came; gov run names a server (for policy and pins) by its URL path. The server (or a front
 * end before it) then normalises that path its own way: Tomcat, Jetty and Spring drop
 * `;params` from a segment before resolving dot segments (`/mcp/..;/admin` is `/admin`),
 * servers that parse with the WHATWG URL parser drop a `#fragment` and read `\` as `/`, some
 * decode twice (`%252e`), old decoders take overlong UTF-8 (`%c0%ae`) as `.`, and NFKC folds
 * `．` (U+FF0E) into `.`. A path whose reading could move it (above a route's base path, with
 * its credential; into another server's path) is refused, whatever the server. Pure.
 */

const HEX_ESCAPE = /%[0-9A-Fa-f]{2}/;
/** Segments of unreserved characters other than `.`: no server reads these any other way. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~-]+)*\/?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A segment's `%XX` escapes decoded once, as UTF-8; null when malformed or not UTF-8. */
function decodeSegment(raw: string): string | null {
  if (!raw.includes('%')) return raw;
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return null;
  const bytes = Buffer.from(
    raw.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  );
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Why one segment (between two `/`) may be read as something else; null when it cannot. */
function segmentRefusal(raw: string): string | null {
  const decoded = decodeSegment(raw);
  if (decoded === null) return 'a malformed or non-UTF-8 percent-encoding (such as overlong %c0%ae)';
  if (HEX_ESCAPE.test(decoded)) return 'a double percent-encoding (such as %252e)';
  for (const form of [decoded, decoded.normalize('NFKC')]) {
    if (/[/\\]/.test(form)) return 'an encoded / or \\';
    if (/[?#]/.test(form)) return 'an encoded ? or #';
    if (/[\x00-\x1f\x7f]/.test(form)) return 'an encoded control character (such as %00)';
    // `..;x`, `.%2e`, `．．`, `.. `: a dot segment once its parameters and padding are gone.
    if (/^\.+$/.test(form.split(';')[0]!.trim())) return 'a dot segment (such as .., ..;x or %2e%2e)';
  }
  return null;
}

/**
 * Why a request target may reach another path on its server than the one it spells; null
 * when servers agree on it. Only origin-form targets (`/path?query`) are served.
 */
export function requestPathRefusal(target: string): string | null {
  if (!target.startsWith('/')) return 'is not a path (gov serve takes /path requests, not proxy requests)';
  if (target.includes('#')) return 'has a fragment (#)';
  const q = target.indexOf('?');
  const pathname = q === -1 ? target : target.slice(0, q);
  if (PLAIN_PATH.test(pathname)) return null; // most requests: `/mcp`, `/v1/github/mcp`
  if (pathname.includes('\\')) return 'has a \\';
  const segments = pathname.split('/').slice(1);
  for (const [i, seg] of segments.entries()) {
    // `//` is merged by some servers and read as a scheme-relative URL by others; a
    // trailing `/` is an ordinary path.
    if (seg === '') {
      if (i < segments.length - 1) return 'has an empty segment (//)';
      continue;
    }
    const why = segmentRefusal(seg);
    if (why) return `has ${why}`;
  }
  return null;
}
