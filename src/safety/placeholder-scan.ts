/**
 * Finds credential placeholders in outgoing request text, raw or in the common encodings.
 * Pure (no node:*): unit-tested without sockets.
 *
 * What is searched for is each placeholder's random token (the 24 hex digits after
 * `gov-ph-<name>-`): it is what makes a placeholder unique, and the rest is guessable, so an
 * agent that sends only the token has sent the placeholder. Every encoded form of every
 * token is computed once, at start-up; a scan normalises the text once per encoding family
 * and runs one combined search over it, so its cost does not grow with the number of
 * placeholders. docs/credentials.md lists what is and is not detected.
 */

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const HEX = '0123456789abcdef';

/** The shortest token-derived form searched for (shorter ones could match by chance). */
const MIN_FORM = 20;

/**
 * The characters of an encoding of (unknown prefix + bytes + unknown suffix) that depend only
 * on `bytes`, for every bit alignment the bytes can have in the encoded stream. Radix
 * encodings (hex, base32, base64) map a fixed number of bits to each character.
 */
export function encodedCores(bytes: Uint8Array, alphabet: string): string[] {
  const bits = Math.log2(alphabet.length);
  // Alignments repeat once the byte offset's bit position repeats modulo `bits`.
  const alignments = bits === 4 ? 1 : bits === 6 ? 3 : 5;
  const out: string[] = [];
  for (let k = 0; k < alignments; k++) {
    const startBit = 8 * k;
    const endBit = 8 * (k + bytes.length);
    let s = '';
    for (let c = Math.ceil(startBit / bits); (c + 1) * bits <= endBit; c++) {
      let v = 0;
      for (let b = c * bits; b < (c + 1) * bits; b++) {
        const byte = bytes[Math.floor(b / 8) - k]!;
        v = (v << 1) | ((byte >> (7 - (b % 8))) & 1);
      }
      s += alphabet[v]!;
    }
    if (s.length >= MIN_FORM) out.push(s);
  }
  return out;
}

function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function utf16(s: string, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[2 * i + (littleEndian ? 0 : 1)] = c & 0xff;
    out[2 * i + (littleEndian ? 1 : 0)] = c >> 8;
  }
  return out;
}

/**
 * Finds any of a set of literal strings in one pass whatever their number (Rabin–Karp over
 * the shortest form's length, with a bit filter in front of the table). A regular
 * expression alternation of hundreds of forms costs seconds on a 4 MiB body; this costs
 * milliseconds.
 */
function literalMatcher(secretOf: Map<string, string>): (text: string, found: Set<string>) => void {
  const forms = [...secretOf.keys()];
  if (forms.length === 0) return () => {};
  const L = Math.min(...forms.map((f) => f.length));
  const B = 31;
  let top = 1; // B^(L-1), the weight of the character leaving the window
  for (let i = 1; i < L; i++) top = Math.imul(top, B);
  const hashOf = (t: string, from: number): number => {
    let h = 0;
    for (let i = from; i < from + L; i++) h = (Math.imul(h, B) + t.charCodeAt(i)) | 0;
    return h;
  };
  const MASK = 0xffff;
  const filter = new Uint8Array(MASK + 1);
  const byHash = new Map<number, string[]>();
  for (const f of forms) {
    const h = hashOf(f, 0);
    filter[h & MASK] = 1;
    byHash.set(h, [...(byHash.get(h) ?? []), f]);
  }
  return (text, found) => {
    if (text.length < L) return;
    let h = hashOf(text, 0);
    for (let i = 0; ; i++) {
      if (filter[h & MASK] === 1) {
        for (const f of byHash.get(h) ?? []) if (text.startsWith(f, i)) found.add(secretOf.get(f)!);
      }
      if (i + L >= text.length) return;
      h = (Math.imul(h - Math.imul(text.charCodeAt(i), top), B) + text.charCodeAt(i + L)) | 0;
    }
  };
}

/** One encoding family: how text is normalised for it, and a matcher for every form of every token in it. */
interface Family {
  normalise(text: string): string;
  match(text: string, found: Set<string>): void;
}

export interface PlaceholderScanner {
  /** The secret names whose placeholder occurs in `text`, in any detected form. */
  scan(text: string): Set<string>;
}

/** `gov-ph-<name>-<24 hex>` → the 24 hex digits. */
export function placeholderToken(placeholder: string): string {
  const m = /-([0-9a-f]{24})$/.exec(placeholder);
  if (!m) throw new Error('not a gov placeholder');
  return m[1]!;
}

function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (m) => {
    try {
      return decodeURIComponent(m);
    } catch {
      // Not UTF-8: each escape on its own, as a byte value.
      return m.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    }
  });
}

const JSON_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' };

/** JSON string escapes (and `\xHH`) undone wherever they appear; anything else kept. */
function unescapeBackslashes(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|[\s\S])/g, (_, e: string) => {
    if (e.length > 1) return String.fromCharCode(parseInt(e.slice(1), 16));
    return JSON_ESCAPES[e] ?? e;
  });
}

/** Entities `&#103;` / `&#x67;` decoded. */
function decodeNumericEntities(s: string): string {
  if (!s.includes('&#')) return s;
  return s.replace(/&#(x[0-9A-Fa-f]+|[0-9]+);?/g, (m, n: string) => {
    const code = n[0] === 'x' ? parseInt(n.slice(1), 16) : parseInt(n, 10);
    return code < 0x10000 ? String.fromCharCode(code) : m;
  });
}

/** Quoted-printable (a MIME part's `Content-Transfer-Encoding`): soft line breaks and `=HH` undone. */
function quotedPrintableDecode(s: string): string {
  if (!/=(?:[ \t]*\r?\n|[0-9A-Fa-f]{2})/.test(s)) return s;
  return s
    .replace(/=[ \t]*\r?\n/g, '')
    .replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export function createPlaceholderScanner(placeholders: Map<string, string>): PlaceholderScanner {
  const tokens = [...placeholders].map(([secret, ph]) => ({ secret, token: placeholderToken(ph) }));

  const family = (normalise: (t: string) => string, formsOf: (token: string) => string[]): Family => {
    const secretOf = new Map<string, string>();
    for (const { secret, token } of tokens) for (const f of formsOf(token)) secretOf.set(f, secret);
    return { normalise, match: literalMatcher(secretOf) };
  };
  // The token itself, any case; NULs dropped so UTF-16/UTF-32 text reads as ASCII.
  const raw = family(
    (t) => t.replace(/\0/g, '').toLowerCase(),
    (token) => [token],
  );
  // Hex of the token's UTF-8 / UTF-16LE / UTF-16BE bytes, any case, with or without separators.
  const hex = family(
    (t) => t.replace(/0[xX]|[^0-9a-fA-F]+/g, '').toLowerCase(),
    (token) => [ascii(token), utf16(token, true), utf16(token, false)].flatMap((b) => encodedCores(b, HEX)),
  );
  // base64 and base64url at every alignment, line breaks and other whitespace ignored. The
  // token's letters may have been upper-cased before encoding.
  const base64 = family(
    (t) => t.replace(/[\s=]/g, '').replace(/-/g, '+').replace(/_/g, '/'),
    (token) =>
      [token, token.toUpperCase()]
        .flatMap((s) => [ascii(s), utf16(s, true), utf16(s, false)])
        .flatMap((b) => encodedCores(b, BASE64)),
  );
  // base32 (RFC 4648) at every alignment, any case, whitespace and padding ignored.
  const base32 = family(
    (t) => t.replace(/[\s=]/g, '').toUpperCase(),
    (token) =>
      [token, token.toUpperCase()]
        .flatMap((s) => [ascii(s), utf16(s, true), utf16(s, false)])
        .flatMap((b) => encodedCores(b, BASE32)),
  );
  const families = [raw, hex, base64, base32];

  const search = (text: string, found: Set<string>): void => {
    for (const f of families) {
      const n = f.normalise(text);
      if (n.length >= MIN_FORM) f.match(n, found);
    }
  };

  return {
    scan(text) {
      const found = new Set<string>();
      if (tokens.length === 0 || text.length < MIN_FORM) return found;
      // Each transport-level escaping undone (alone and together), then every family searched.
      // (`+` for space needs no variant: no placeholder form contains a space.)
      const variants = new Set([text, percentDecode(text), quotedPrintableDecode(text)]);
      for (const v of [...variants]) variants.add(unescapeBackslashes(decodeNumericEntities(v)));
      for (const v of variants) search(v, found);
      return found;
    },
  };
}
