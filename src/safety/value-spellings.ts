/**
 * Spellings of a vault value that a server writes when it echoes one: HTML-escaped (an error
 * page quoting a header), JSON with `\uXXXX` escapes beyond what JSON.stringify uses (Go,
 * Rails, Python's `ensure_ascii`, PHP, .NET), percent-encoded the ways other URL encoders do
 * (a redirect carrying it), and the value in upper or lower case. Pure.
 */

/** HTML escapers agree on `&amp;`, `&lt;`, `&gt;` but write quotes their own way. */
const HTML_QUOTES: Array<[string, string]> = [
  ['&quot;', '&#39;'], // escape-html (Express), lodash
  ['&quot;', '&#x27;'], // Python html.escape
  ['&#34;', '&#39;'], // Go html.EscapeString, html/template, MarkupSafe
  ['&quot;', '&#039;'], // PHP htmlspecialchars
];

function htmlEscaped(v: string, [dq, sq]: [string, string]): string {
  return v.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? dq : sq,
  );
}

interface JsonEscaper {
  /** Code units written as `\uXXXX`. */
  escapes(c: number): boolean;
  upperHex: boolean;
}

const JSON_ESCAPERS: JsonEscaper[] = [
  // Go encoding/json, Rails to_json: HTML-safe.
  { escapes: (c) => c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029, upperHex: false },
  // Python json.dumps (ensure_ascii), PHP json_encode: everything outside printable ASCII.
  { escapes: (c) => c > 0x7e, upperHex: false },
  // .NET System.Text.Json's default encoder: HTML-sensitive characters and non-ASCII.
  { escapes: (c) => c > 0x7e || '"&\'+<>`'.includes(String.fromCharCode(c)), upperHex: true },
];

function jsonEscaped(v: string, e: JsonEscaper): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (e.escapes(c)) {
      const hex = c.toString(16).padStart(4, '0');
      out += '\\u' + (e.upperHex ? hex.toUpperCase() : hex);
    } else if (c >= 0xd800 && c <= 0xdfff) out += v[i];
    else out += JSON.stringify(v[i]).slice(1, -1);
  }
  return out;
}

/**
 * Characters URL encoders leave as they are, beyond letters and digits: RFC 3986's unreserved
 * set (Go's QueryEscape, Python's quote_plus), that and `/` (Python's quote, for paths), the
 * form-urlencoded set (URLSearchParams, WHATWG), and encodeURIComponent's (which the redactor
 * already looks for, here in lower-case hex as .NET's HttpUtility writes it).
 */
const URL_KEPT = [/[-._~]/, /[-._~/]/, /[-._*]/, /[-._~!*'()]/];

function percentEncoded(v: string, kept: RegExp, lowerHex: boolean): string {
  let out = '';
  for (const b of new TextEncoder().encode(v)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9]/.test(c) || kept.test(c)) out += c;
    else {
      const hex = b.toString(16).padStart(2, '0');
      out += '%' + (lowerHex ? hex : hex.toUpperCase());
    }
  }
  return out;
}

/** Values at least this long are also looked for in another letter case. */
const MIN_CASE_LENGTH = 8;

/** The spellings of `value` other than the ones JSON.stringify and encodeURIComponent give. */
export function echoedSpellings(value: string): string[] {
  const out: string[] = [];
  if (/[&<>"']/.test(value)) for (const q of HTML_QUOTES) out.push(htmlEscaped(value, q));
  for (const e of JSON_ESCAPERS) {
    const s = jsonEscaped(value, e);
    out.push(s, s.replace(/\//g, '\\/'));
  }
  for (const kept of URL_KEPT)
    for (const lowerHex of [false, true]) {
      const s = percentEncoded(value, kept, lowerHex);
      out.push(s, s.replace(/%20/g, '+'));
    }
  if (value.length >= MIN_CASE_LENGTH) out.push(value.toLowerCase(), value.toUpperCase());
  return out;
}
