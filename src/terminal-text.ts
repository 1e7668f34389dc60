/**
 * Untrusted text (tool names, arguments, reasons, server names — all chosen by an agent
 * or a server) is made inert before it reaches the terminal: no escape sequences that
 * move the cursor, recolour, set the title or hyperlink; no control characters; no bidi
 * overrides or invisible characters that make text read differently from what it is.
 */

// ESC-introduced sequences. String-type ones (OSC, DCS, SOS, PM, APC) run to BEL or ST,
// or to the end of the text when unterminated, so no payload leaks out as visible text.
const ESC_STRING = /\x1b[\]PX^_][\s\S]*?(?:\x07|\x1b\\|$)/g;
const ESC_CSI = /\x1b\[[0-?]*[ -/]*[@-~]?/g;
const ESC_OTHER = /\x1b[ -/]*[0-~]?/g;
// The same sequences in their 8-bit C1 forms.
const C1_STRING = /[\x90\x98\x9d\x9e\x9f][\s\S]*?(?:\x07|\x9c|\x1b\\|$)/g;
const C1_CSI = /\x9b[0-?]*[ -/]*[@-~]?/g;

// Bidi embeddings/overrides/isolates and marks, zero-width and other invisible format
// characters, Unicode "tag" characters (invisible text), and the line/paragraph separators.
// The class deliberately lists lone combining/format characters: they are what we strip.
export const INVISIBLE =
  // eslint-disable-next-line no-misleading-character-class
  /[\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb]|\udb40[\udc00-\udc7f]/g;
const LINE_SEPARATORS = /[\u2028\u2029\u0085]/g;

export interface SanitizeOptions {
  /** Keep `\n` (for pretty-printed blocks); otherwise newlines become spaces. */
  keepNewlines?: boolean;
}

/** Remove escape sequences, control, bidi and invisible characters. Never throws. */
export function stripUnsafe(text: string, opts: SanitizeOptions = {}): string {
  let s = text
    .replace(ESC_STRING, '')
    .replace(ESC_CSI, '')
    .replace(ESC_OTHER, '')
    .replace(C1_STRING, '')
    .replace(C1_CSI, '')
    .replace(INVISIBLE, '')
    .replace(LINE_SEPARATORS, '\n')
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, '  ');
  s = opts.keepNewlines
    ? s.replace(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/g, '')
    : s.replace(/\n/g, ' ').replace(/[\x00-\x1f\x7f-\x9f]/g, '');
  // Lone surrogates render as replacement boxes in some terminals and confuse width math.
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
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
