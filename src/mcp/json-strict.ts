/**
 * Strict JSON (RFC 8259) for bodies gov must judge: a message that two parsers could read
 * differently must be refused, never guessed at. So on top of RFC 8259 we reject what
 * lenient parsers silently "fix": invalid UTF-8 (replaced by U+FFFD elsewhere), duplicate
 * object keys (first-wins in some parsers, last-wins in others; compared after unescaping,
 * so `"name"` and `"na\u006de"` collide), escaped lone surrogates (dropped or replaced by
 * some decoders) and absurd nesting.
 *
 * One validating scan finds those; JSON.parse then builds the value (fast, native). The scan
 * validates the full grammar too, so JSON.parse only runs on text that is known good.
 */
import type { JsonValue } from '../types.js';

/**
 * On failure `value` is set when the text is valid JSON whose numbers JavaScript cannot hold
 * exactly (the message can then still be answered under its id).
 */
export type StrictJsonResult =
  { ok: true; value: JsonValue } | { ok: false; reason: string; value?: JsonValue };

export interface StrictJsonOptions {
  /** Maximum container nesting (top-level object or array is depth 1). Default 128. */
  maxDepth?: number;
}

export const DEFAULT_MAX_DEPTH = 128;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decode bytes as strict UTF-8; null when invalid. A BOM is kept (and then rejected by the grammar). */
export function decodeUtf8Strict(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Same rules for text that is already decoded. */
export function parseStrictJsonText(text: string, opts: StrictJsonOptions = {}): StrictJsonResult {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const fast = parsedPlainly(text, maxDepth);
  if (fast !== undefined) return { ok: true, value: fast };
  const scan = validate(text, maxDepth);
  if (typeof scan === 'string') return { ok: false, reason: scan };
  try {
    const value = JSON.parse(text) as JsonValue;
    return scan.inexactNumber === null
      ? { ok: true, value }
      : { ok: false, reason: scan.inexactNumber, value };
  } catch (err) {
    // Unreachable when the validator is right; kept so a validator bug fails closed.
    return { ok: false, reason: `invalid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * The fast path, for the usual body: no backslash (so no escapes, no lone surrogates, and
 * every quote opens or closes a string). Native JSON.parse checks the grammar; one walk of
 * the value checks depth and numbers, and the number of keys in the text must equal the
 * number of keys parsed (a repeated key collapses into one). Anything unusual — a parse
 * error, a number that may not be exact, a repeated key — returns undefined, and the
 * validating scan then gives the precise answer.
 */
/** Below 2.5e-324 a double is 0: written out, that is a point and at least 323 zeros. */
const UNDERFLOW_ZEROS = `.${'0'.repeat(320)}`;

function parsedPlainly(text: string, maxDepth: number): JsonValue | undefined {
  if (text.includes('\\')) return undefined;
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
  const walk = { keys: 0, zero: false };
  if (!plainValue(value, 1, maxDepth, walk)) return undefined;
  // A literal like 1e-400, or 0. and 400 zeros and a 1, parses to 0: only a zero in a text with
  // a negative exponent or that many zeros after a point is doubtful.
  if (walk.zero && (/\d[eE]-/.test(text) || text.includes(UNDERFLOW_ZEROS))) return undefined;
  return keysInText(text) === walk.keys ? value : undefined;
}

function plainValue(
  v: JsonValue,
  depth: number,
  maxDepth: number,
  walk: { keys: number; zero: boolean },
): boolean {
  if (typeof v === 'number') {
    if (v === 0) {
      if (Object.is(v, -0)) return false;
      walk.zero = true;
    }
    return Number.isSafeInteger(v) || (Number.isFinite(v) && !Number.isInteger(v));
  }
  if (v === null || typeof v !== 'object') return true;
  if (depth > maxDepth) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (!plainValue(x, depth + 1, maxDepth, walk)) return false;
    return true;
  }
  for (const k in v) {
    walk.keys += 1;
    if (!plainValue(v[k]!, depth + 1, maxDepth, walk)) return false;
  }
  return true;
}

/** Members in a JSON text without backslashes: closing quotes followed (after whitespace) by a colon. */
function keysInText(text: string): number {
  let keys = 0;
  let open = text.indexOf('"');
  while (open !== -1) {
    const close = text.indexOf('"', open + 1);
    let j = close + 1;
    while (isWs(text.charCodeAt(j))) j++;
    if (text.charCodeAt(j) === C.Colon) keys++;
    open = text.indexOf('"', j);
  }
  return keys;
}

const C = {
  Tab: 0x09,
  Lf: 0x0a,
  Cr: 0x0d,
  Space: 0x20,
  Quote: 0x22,
  Plus: 0x2b,
  Comma: 0x2c,
  Minus: 0x2d,
  Dot: 0x2e,
  Zero: 0x30,
  Nine: 0x39,
  Colon: 0x3a,
  LBracket: 0x5b,
  Backslash: 0x5c,
  RBracket: 0x5d,
  LBrace: 0x7b,
  RBrace: 0x7d,
} as const;

function isWs(c: number): boolean {
  return c === C.Space || c === C.Lf || c === C.Cr || c === C.Tab;
}

function isDigit(c: number): boolean {
  return c >= C.Zero && c <= C.Nine;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function at(pos: number): string {
  return ` at position ${pos}`;
}

function quoteForReason(key: string): string {
  const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
  return JSON.stringify(shown);
}

const MAX_SAFE_DIGITS = String(Number.MAX_SAFE_INTEGER).length;

function shortLexeme(lexeme: string): string {
  return lexeme.length > 32 ? `${lexeme.slice(0, 32)}…` : lexeme;
}

/**
 * Why a number literal cannot be held exactly by a JavaScript number, or null. Such a value
 * would reach policy and audit as something else than what the server would read (a parser
 * with big integers reads 9007199254740993 exactly; JSON.parse reads …992), and could not be
 * re-serialised as sent (1e400 → Infinity → null, -0 → 0, 1e-400 → 0), so it is refused.
 * Ordinary fractions (0.1) are fine: every IEEE-754 parser reads them as the same double.
 */
function inexactNumber(lexeme: string, integer: boolean): string | null {
  if (integer) {
    if (lexeme === '-0') return 'negative zero (-0) cannot be forwarded faithfully';
    const digits = lexeme.startsWith('-') ? lexeme.length - 1 : lexeme.length;
    if (digits < MAX_SAFE_DIGITS || Number.isSafeInteger(Number(lexeme))) return null;
    return `integer ${shortLexeme(lexeme)} is beyond 2^53 and cannot be represented exactly`;
  }
  const v = Number(lexeme);
  if (!Number.isFinite(v)) return `number out of range: ${shortLexeme(lexeme)}`;
  if (v !== 0) return null;
  const mantissa = lexeme.split(/[eE]/)[0]!;
  if (/[1-9]/.test(mantissa)) return `number out of range (underflows to 0): ${shortLexeme(lexeme)}`;
  return lexeme.startsWith('-') ? 'negative zero (-0) cannot be forwarded faithfully' : null;
}

/**
 * Returns why `text` is not one RFC 8259 JSON text within the depth limit, with no duplicate
 * keys and no lone surrogate escapes; else the first number JavaScript cannot hold exactly
 * (`inexactNumber`, null when there is none).
 */
function validate(text: string, maxDepth: number): string | { inexactNumber: string | null } {
  const n = text.length;
  let inexact: string | null = null;
  // One frame per open container: a key set for objects, null for arrays.
  const stack: (Set<string> | null)[] = [];
  let i = 0;

  // Scans a string starting at the opening quote; returns the index after the closing quote
  // or a negative value / string reason on error. `hasEscape` reports whether decoding is needed.
  let hasEscape = false;
  const scanString = (start: number): number | string => {
    hasEscape = false;
    let j = start + 1;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === C.Quote) return j + 1;
      if (c < 0x20) return `control character in string${at(j)}`;
      if (c !== C.Backslash) {
        j++;
        continue;
      }
      hasEscape = true;
      const e = text.charCodeAt(j + 1);
      if (e === 0x75 /* u */) {
        const cp = readHex4(text, j + 2);
        if (cp < 0) return `invalid \\u escape${at(j)}`;
        if (cp >= 0xdc00 && cp <= 0xdfff) return `lone surrogate escape \\u${hex(cp)}${at(j)}`;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          const lo =
            text.charCodeAt(j + 6) === C.Backslash && text.charCodeAt(j + 7) === 0x75
              ? readHex4(text, j + 8)
              : -1;
          if (lo < 0xdc00 || lo > 0xdfff) return `lone surrogate escape \\u${hex(cp)}${at(j)}`;
          j += 12;
        } else {
          j += 6;
        }
        continue;
      }
      // " \ / b f n r t
      if (
        e === 0x22 ||
        e === 0x5c ||
        e === 0x2f ||
        e === 0x62 ||
        e === 0x66 ||
        e === 0x6e ||
        e === 0x72 ||
        e === 0x74
      ) {
        j += 2;
        continue;
      }
      return `invalid escape${at(j)}`;
    }
    return `unterminated string${at(start)}`;
  };

  const scanNumber = (start: number): number | string => {
    let j = start;
    if (text.charCodeAt(j) === C.Minus) j++;
    const first = text.charCodeAt(j);
    if (first === C.Zero) j++;
    else if (isDigit(first)) while (isDigit(text.charCodeAt(j))) j++;
    else return `invalid number${at(start)}`;
    const intEnd = j;
    if (text.charCodeAt(j) === C.Dot) {
      j++;
      if (!isDigit(text.charCodeAt(j))) return `invalid number${at(start)}`;
      while (isDigit(text.charCodeAt(j))) j++;
    }
    const e = text.charCodeAt(j);
    if (e === 0x65 || e === 0x45) {
      j++;
      const s = text.charCodeAt(j);
      if (s === C.Plus || s === C.Minus) j++;
      if (!isDigit(text.charCodeAt(j))) return `invalid number${at(start)}`;
      while (isDigit(text.charCodeAt(j))) j++;
    }
    if (inexact === null) {
      const problem = inexactNumber(text.slice(start, j), j - start === intEnd - start);
      if (problem !== null) inexact = `${problem}${at(start)}`;
    }
    return j;
  };

  const skipWs = (): void => {
    while (i < n && isWs(text.charCodeAt(i))) i++;
  };

  // Parse a value at i (after whitespace). Containers push a frame and return; the main
  // loop then handles members/elements iteratively so depth never touches the JS stack.
  const openValue = (): string | null => {
    if (i >= n) return 'unexpected end of input';
    const c = text.charCodeAt(i);
    if (c === C.LBrace || c === C.LBracket) {
      if (stack.length >= maxDepth) return `nesting deeper than ${maxDepth}`;
      stack.push(c === C.LBrace ? new Set<string>() : null);
      i++;
      return null;
    }
    if (c === C.Quote) {
      const r = scanString(i);
      if (typeof r === 'string') return r;
      i = r;
      return null;
    }
    if (c === C.Minus || isDigit(c)) {
      const r = scanNumber(i);
      if (typeof r === 'string') return r;
      i = r;
      return null;
    }
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return null;
      }
    }
    return `unexpected character ${JSON.stringify(text[i])}${at(i)}`;
  };

  // After `{` or `,` in an object: read `"key" :` and open the value.
  const openMember = (keys: Set<string>): string | null => {
    skipWs();
    if (text.charCodeAt(i) !== C.Quote) return `expected a string key${at(i)}`;
    const start = i;
    const r = scanString(i);
    if (typeof r === 'string') return r;
    const key = hasEscape ? (JSON.parse(text.slice(start, r)) as string) : text.slice(start + 1, r - 1);
    if (keys.has(key)) return `duplicate key ${quoteForReason(key)}`;
    keys.add(key);
    i = r;
    skipWs();
    if (text.charCodeAt(i) !== C.Colon) return `expected ':'${at(i)}`;
    i++;
    skipWs();
    return openValue();
  };

  skipWs();
  let err = openValue();
  if (err) return err;
  // `justOpened` is true right after `{`/`[`, where `}`/`]` may close an empty container.
  let justOpened = stack.length > 0;
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    skipWs();
    const c = text.charCodeAt(i);
    const close = frame === null ? C.RBracket : C.RBrace;
    if (c === close) {
      stack.pop();
      i++;
      justOpened = false;
      continue;
    }
    if (i >= n) return 'unexpected end of input';
    if (!justOpened) {
      if (c !== C.Comma) return `expected ',' or '${String.fromCharCode(close)}'${at(i)}`;
      i++;
    }
    const depthBefore = stack.length;
    if (frame === null) {
      skipWs();
      err = openValue();
    } else {
      err = openMember(frame);
    }
    if (err) return err;
    justOpened = stack.length > depthBefore;
  }
  skipWs();
  if (i < n) return `unexpected data after the JSON value${at(i)}`;
  return { inexactNumber: inexact };
}

function readHex4(text: string, start: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const h = hexValue(text.charCodeAt(start + k));
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

function hex(cp: number): string {
  return cp.toString(16).toUpperCase().padStart(4, '0');
}
