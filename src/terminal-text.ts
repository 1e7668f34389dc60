/**
 * Untrusted text (tool names, arguments, reasons, server names — all chosen by an agent
 * or a server) is made inert before it reaches the terminal: no escape sequences that
 * move the cursor, recolour, set the title or hyperlink; no control characters. Characters
 * that would make text read differently from what it is (bidi controls, invisible and
 * format characters) are neither acted on nor hidden: they are shown, escaped.
 */

// ESC-introduced sequences. String-type ones (OSC, DCS, SOS, PM, APC) run to BEL or ST,
// or to the end of the text when unterminated, so no payload leaks out as visible text.
const ESC_STRING = /\x1b[\]PX^_][\s\S]*?(?:\x07|\x1b\\|$)/g;
const ESC_CSI = /\x1b\[[0-?]*[ -/]*[@-~]?/g;
const ESC_OTHER = /\x1b[ -/]*[0-~]?/g;
// The same sequences in their 8-bit C1 forms.
const C1_STRING = /[\x90\x98\x9d\x9e\x9f][\s\S]*?(?:\x07|\x9c|\x1b\\|$)/g;
const C1_CSI = /\x9b[0-?]*[ -/]*[@-~]?/g;

// Characters that show as nothing, or as a plain space, so that two different texts look
// the same: every format character (\p{Cf}: bidi controls, zero-width characters, the soft
// hyphen, invisible operators, tags…), every Default_Ignorable_Code_Point (variation
// selectors, the combining grapheme joiner, Hangul fillers…), the spaces other than U+0020,
// and lone surrogates. (The bidi/zero-width/tag list gov used before is a subset.)
const INVISIBLE =
  /[\p{Cf}\p{Default_Ignorable_Code_Point}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\ud800-\udfff]/gu;
const LINE_SEPARATORS = /[\u2028\u2029\u0085]/g;

export interface SanitizeOptions {
  /** Keep `\n` (for pretty-printed blocks); otherwise newlines become spaces. */
  keepNewlines?: boolean;
}

const codePoint = (c: string) => c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');

/**
 * Invisible and format characters written visibly as `<U+XXXX>` (`a\u00adb` → `a<U+00AD>b`),
 * the spelling gov's tool-poisoning excerpts use too. A literal `<U+00AD>` in the text reads
 * the same; where values must be told apart exactly (arguments), use jsonForDisplay.
 */
export function escapeInvisible(text: string): string {
  return text.replace(INVISIBLE, (c) => `<U+${codePoint(c)}>`);
}

// JSON.stringify already writes C0 controls and lone surrogates as \uXXXX escapes; these are
// the characters it leaves raw that a terminal would act on or not show: DEL and C1 controls,
// the line/paragraph separators, and the invisible characters.
const JSON_ESCAPED = new RegExp(`[\\x7f-\\x9f\\u2028\\u2029]|${INVISIBLE.source}`, 'gu');

const escapeUnits = (s: string) =>
  Array.from({ length: s.length }, (_, i) => '\\u' + s.charCodeAt(i).toString(16).padStart(4, '0')).join('');

/**
 * JSON text that is safe to print and reads as what it is: every character a terminal would
 * act on or hide is written as its JSON escape (`\u202e`, `\u00ad`), so the text still parses
 * back to exactly `value`. `undefined` for what JSON.stringify cannot encode.
 */
export function jsonForDisplay(value: unknown, indent?: number): string | undefined {
  return JSON.stringify(value, null, indent)?.replace(JSON_ESCAPED, escapeUnits);
}

/** Printable ASCII and nothing else: none of the rewrites below applies (most call lines). */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Remove escape sequences and control characters; escape invisible ones. Never throws. */
export function stripUnsafe(text: string, opts: SanitizeOptions = {}): string {
  if (PRINTABLE_ASCII.test(text)) return text;
  let s = text
    .replace(ESC_STRING, '')
    .replace(ESC_CSI, '')
    .replace(ESC_OTHER, '')
    .replace(C1_STRING, '')
    .replace(C1_CSI, '')
    .replace(LINE_SEPARATORS, '\n')
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, '  ');
  s = opts.keepNewlines
    ? s.replace(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/g, '')
    : s.replace(/\n/g, ' ').replace(/[\x00-\x1f\x7f-\x9f]/g, '');
  return escapeInvisible(s);
}

/** Cut to at most `max` code points, marking the cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  if (max <= 0) return '';
  // Cheap check first: length in UTF-16 units is an upper bound on code points.
  if (text.length <= max) return text;
  const points = Array.from(text);
  if (points.length <= max) return text;
  return points.slice(0, Math.max(0, max - 1)).join('') + '…';
}

/** One safe line for display: stripped, newlines flattened, truncated. */
export function sanitizeInline(text: string, max = 200): string {
  return truncate(stripUnsafe(String(text)), max);
}
