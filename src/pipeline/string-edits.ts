/**
 * Rewriting a JSON text in place when only string values changed (secrets redacted): the
 * upstream's text is kept and each changed string token is replaced, instead of serialising
 * the whole message again. A 10 MB tool result with one token in it then costs a scan, not a
 * JSON.stringify of 10 MB and another copy to encode it.
 *
 * Exact: the result parses to `after`. Each changed string token is replaced either by
 * JSON.stringify of its new value, or — for a long string whose new value is its old one with
 * spans replaced by redaction markers, checked character for character — by the markers
 * alone, placed at the raw offsets of those spans (an escape sequence counts as the one
 * character it stands for).
 * Anything else — a key, a type, a length changed, or a key twice in one object (which the
 * parsed value cannot show: re-serialising drops the copy nobody scanned) — is refused (null)
 * and the caller serialises the value as before.
 */
import { redactionMarker } from '../safety/redact.js';
import { SECRET_PATTERNS, VAULT_KIND } from '../safety/patterns.js';
import { isPlainObject, type JsonValue } from '../types.js';

export interface TextEdit {
  /** Character offsets in the original text; `text` replaces [start, end). */
  start: number;
  end: number;
  text: string;
}

/** Shorter changed strings are simply serialised again. */
const SPLICE_MIN_LENGTH = 4096;

interface Change {
  before: string;
  after: string;
  /** Raw token [start, end) including its quotes, once found. */
  token?: [number, number];
}

/** A subtree of the paths that changed: leaves are the changed strings. */
type Target = Map<string | number, Target | Change>;

/** Collects the string leaves that differ; false when anything else differs. */
function diff(before: JsonValue, after: JsonValue, into: Target, key: string | number): boolean {
  if (before === after) return true;
  if (typeof before === 'string' && typeof after === 'string') {
    into.set(key, { before, after });
    return true;
  }
  const sub: Target = new Map();
  if (Array.isArray(before) && Array.isArray(after)) {
    if (before.length !== after.length) return false;
    for (let i = 0; i < before.length; i++) if (!diff(before[i]!, after[i]!, sub, i)) return false;
  } else if (isPlainObject(before) && isPlainObject(after)) {
    const keys = Object.keys(before);
    if (keys.length !== Object.keys(after).length) return false;
    for (const k of keys) {
      if (!Object.hasOwn(after, k) || !diff(before[k]!, after[k]!, sub, k)) return false;
    }
  } else return false;
  if (sub.size) into.set(key, sub);
  return true;
}

class Refused extends Error {}

/** Reads the raw JSON text (already known to parse) to find the changed tokens and duplicate keys. */
class Walker {
  pos = 0;
  constructor(private readonly text: string) {}

  private ws(): void {
    const t = this.text;
    let c = t.charCodeAt(this.pos);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = t.charCodeAt(++this.pos);
  }

  /** Past the string token at pos (its closing quote is the first one not escaped). */
  private stringEnd(): number {
    const t = this.text;
    let from = this.pos + 1;
    for (;;) {
      const q = t.indexOf('"', from);
      if (q < 0) throw new Refused();
      let k = q - 1;
      while (t.charCodeAt(k) === 0x5c) k--;
      if ((q - 1 - k) % 2 === 0) return q + 1;
      from = q + 1;
    }
  }

  value(target: Target | Change | undefined): void {
    this.ws();
    const t = this.text;
    const c = t.charCodeAt(this.pos);
    if (c === 0x22) {
      const start = this.pos;
      this.pos = this.stringEnd();
      if (target && !(target instanceof Map)) target.token = [start, this.pos];
      return;
    }
    const sub = target instanceof Map ? target : undefined;
    if (c === 0x7b) return this.object(sub);
    if (c === 0x5b) return this.array(sub);
    // A number or literal: up to the next delimiter (`,` `}` `]` or white space).
    for (let d = t.charCodeAt(this.pos); d === d && d !== 0x2c && d !== 0x7d && d !== 0x5d && d > 0x20;)
      d = t.charCodeAt(++this.pos);
  }

  private object(target: Target | undefined): void {
    const t = this.text;
    const seen = new Set<string>();
    this.pos++;
    this.ws();
    if (t.charCodeAt(this.pos) === 0x7d) return void this.pos++;
    for (;;) {
      this.ws();
      const start = this.pos;
      this.pos = this.stringEnd();
      const raw = t.slice(start + 1, this.pos - 1);
      const key = raw.includes('\\') ? (JSON.parse(t.slice(start, this.pos)) as string) : raw;
      if (seen.has(key)) throw new Refused();
      seen.add(key);
      this.ws();
      this.pos++; // ':'
      this.value(target?.get(key));
      this.ws();
      if (t.charCodeAt(this.pos++) === 0x7d) return;
    }
  }

  private array(target: Target | undefined): void {
    const t = this.text;
    this.pos++;
    this.ws();
    if (t.charCodeAt(this.pos) === 0x5d) return void this.pos++;
    for (let i = 0; ; i++) {
      this.value(target?.get(i));
      this.ws();
      if (t.charCodeAt(this.pos++) === 0x5d) return;
    }
  }
}

/**
 * Whether an object in the JSON `text` names a key twice; `value` is what JSON.parse made of
 * it. JSON.parse keeps the last copy, so the others were never scanned, and a client that
 * keeps the first would read one. Told by counting: the key tokens in the text against the
 * keys in the value (a repeat is one key fewer), so the text is read a string at a time.
 */
export function hasRepeatedKey(text: string, value: JsonValue): boolean {
  try {
    return keyTokens(text) !== keyCount(value);
  } catch (err) {
    // Deeper than the stack: cannot tell, so assume the worst (the caller re-serialises).
    if (err instanceof RangeError) return true;
    throw err;
  }
}

/** Key tokens in a valid JSON text: closing quotes followed by a colon. */
function keyTokens(t: string): number {
  let n = 0;
  let inString = false;
  for (let from = 0; ;) {
    const q = t.indexOf('"', from);
    if (q < 0) return n;
    from = q + 1;
    if (!inString) {
      inString = true;
      continue;
    }
    let k = q - 1;
    while (t.charCodeAt(k) === 0x5c) k--;
    if ((q - 1 - k) % 2 === 1) continue; // an escaped quote, inside the string
    inString = false;
    let c = t.charCodeAt(from);
    for (let j = from; c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;) c = t.charCodeAt(++j);
    if (c === 0x3a) n++;
  }
}

function keyCount(v: JsonValue): number {
  if (Array.isArray(v)) {
    let n = 0;
    for (const x of v) if (x !== null && typeof x === 'object') n += keyCount(x);
    return n;
  }
  if (v === null || typeof v !== 'object') return 0;
  let n = 0;
  for (const k in v) {
    n++;
    const x = v[k]!;
    if (x !== null && typeof x === 'object') n += keyCount(x);
  }
  return n;
}

/**
 * Edits that turn `text` (which JSON.parse read as `before`) into a text that parses to
 * `after`; null when more than string values changed or the text repeats a key.
 */
export function stringEdits(text: string, before: JsonValue, after: JsonValue): TextEdit[] | null {
  const root: Target = new Map();
  if (!diff(before, after, root, 0)) return null;
  try {
    new Walker(text).value(root.get(0));
  } catch (err) {
    // Refused (a repeated key), or text deeper than the stack: serialised as before.
    if (err instanceof Refused || err instanceof RangeError) return null;
    throw err;
  }
  const edits: TextEdit[] = [];
  const collect = (node: Target | Change): boolean => {
    if (node instanceof Map) {
      for (const child of node.values()) if (!collect(child)) return false;
      return true;
    }
    if (!node.token) return false;
    for (const e of changeEdits(text, node as Required<Change>)) edits.push(e);
    return true;
  };
  const top = root.get(0);
  if (top === undefined || !collect(top)) return null;
  return edits.sort((a, b) => a.start - b.start);
}

/** The edits for one changed string token. */
function changeEdits(text: string, c: Required<Change>): TextEdit[] {
  const [start, end] = c.token;
  const spans = c.after.length < SPLICE_MIN_LENGTH ? null : redactedSpans(c.before, c.after);
  if (spans === null) return [{ start, end, text: JSON.stringify(c.after) }];
  const bounds = rawOffsets(
    text,
    start + 1,
    end - 1,
    spans.flatMap((s) => [s.start, s.end]),
  );
  return spans.map((s, i) => ({ start: bounds[2 * i]!, end: bounds[2 * i + 1]!, text: s.marker }));
}

const MARKER_HEAD = redactionMarker('').slice(0, -1);
/**
 * The markers redaction writes. Only these are read as markers in a redacted value: the
 * server's own text may hold `[REDACTED:…]` too, and what it holds there is decoded text,
 * which must not go back into the JSON as it is (`"` would end the string). These need no
 * escaping (test/pipeline/string-edits.test.ts).
 */
const REDACTION_MARKERS: ReadonlySet<string> = new Set(
  [VAULT_KIND, ...SECRET_PATTERNS.map((p) => p.kind)].map(redactionMarker),
);
/** How much of the text after a marker is searched for in `before` (the rest is compared). */
const PROBE_LENGTH = 32;

/**
 * Spans of `before` whose replacement by the redaction markers in `after` gives exactly
 * `after`; null when none are found, or when `after` holds `[REDACTED:…]` text that is not one
 * of gov's markers (the server's, to be serialised). Read off the two strings — each stretch between markers
 * is found again in `before` (by its first characters, then compared whole) — so no second
 * scan for secrets is needed: any spans that pass the comparison rebuild `after` exactly.
 */
function redactedSpans(
  before: string,
  after: string,
): { start: number; end: number; marker: string }[] | null {
  const same = (b: number, a: number, n: number) => before.slice(b, b + n) === after.slice(a, a + n);
  const out: { start: number; end: number; marker: string }[] = [];
  let a = 0;
  let b = 0;
  let m = after.indexOf(MARKER_HEAD);
  while (m >= 0) {
    const close = after.indexOf(']', m);
    if (close < 0 || !same(b, a, m - a)) return null;
    const from = b + (m - a);
    const marker = after.slice(m, close + 1);
    if (!REDACTION_MARKERS.has(marker)) return null;
    a = close + 1;
    m = after.indexOf(MARKER_HEAD, a);
    // Where `before` goes on as `after` does after this marker (checked on the next round).
    const resume =
      m < 0
        ? before.length - (after.length - a)
        : before.indexOf(after.slice(a, Math.min(m, a + PROBE_LENGTH)), from + 1);
    if (resume <= from) return null;
    out.push({ start: from, end: resume, marker });
    b = resume;
  }
  if (out.length === 0 || after.length - a !== before.length - b || !same(b, a, after.length - a))
    return null;
  // Adjacent markers leave where one span ends and the next begins open: the read-off may put
  // it between the halves of a surrogate pair, which has no place in the bytes (the caller
  // counts UTF-8 bytes per stretch).
  for (const s of out) if (splitsPair(before, s.start) || splitsPair(before, s.end)) return null;
  return out;
}

function splitsPair(s: string, i: number): boolean {
  const lo = s.charCodeAt(i);
  const hi = s.charCodeAt(i - 1);
  return lo >= 0xdc00 && lo <= 0xdfff && hi >= 0xd800 && hi <= 0xdbff;
}

/**
 * Raw offsets in text[contentStart, contentEnd) (a string token's content) of the given
 * ascending offsets into its decoded value: an escape sequence (`\n`, `\"`, `\u0041`) is one
 * character of the value.
 */
export function rawOffsets(
  text: string,
  contentStart: number,
  contentEnd: number,
  decoded: number[],
): number[] {
  const out: number[] = [];
  let raw = contentStart;
  let dec = 0;
  const nextEscape = (from: number): number => {
    const i = text.indexOf('\\', from);
    return i < 0 || i >= contentEnd ? contentEnd : i;
  };
  let esc = nextEscape(raw);
  for (const want of decoded) {
    for (;;) {
      const plain = esc - raw;
      if (want - dec <= plain) {
        raw += want - dec;
        dec = want;
        break;
      }
      dec += plain + 1;
      raw = esc + (text.charCodeAt(esc + 1) === 0x75 ? 6 : 2);
      esc = nextEscape(raw);
    }
    out.push(raw);
  }
  return out;
}

/** The text with the edits (sorted, disjoint) applied. */
export function applyEdits(text: string, edits: TextEdit[]): string {
  let out = '';
  let at = 0;
  for (const e of edits) {
    out += text.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + text.slice(at);
}

/**
 * The same for the text's bytes (`text` is their UTF-8 decoding, and they are valid UTF-8):
 * unchanged stretches are views, not copies, until one concat.
 */
export function applyEditsToBytes(text: string, bytes: Buffer, edits: TextEdit[]): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  let byteAt = 0;
  for (const e of edits) {
    const keep = Buffer.byteLength(text.slice(at, e.start));
    parts.push(bytes.subarray(byteAt, byteAt + keep), Buffer.from(e.text));
    byteAt += keep + Buffer.byteLength(text.slice(e.start, e.end));
    at = e.end;
  }
  parts.push(bytes.subarray(byteAt));
  return Buffer.concat(parts);
}
