/**
 * Spellings of a vault value that a server writes when it echoes one: HTML-escaped (an error
 * page quoting a header) and JSON with `\uXXXX` escapes beyond what JSON.stringify uses (Go,
 * Rails, Python's `ensure_ascii`, PHP, .NET), and the value in upper or lower case. Pure.
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
  if (value.length >= MIN_CASE_LENGTH) out.push(value.toLowerCase(), value.toUpperCase());
  return out;
}
