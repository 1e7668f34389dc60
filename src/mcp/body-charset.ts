/**
 * Other readings of a request body's bytes that a server could make. gov parses bodies as
 * UTF-8, but servers do not all agree: the MCP SDK's legacy SSE transport decodes with the
 * Content-Type's `charset` (through iconv-lite: UTF-16, UTF-7, …), and Python's `json.loads`
 * on bytes detects UTF-16 and UTF-32 by their BOM or NUL pattern. A JSON-RPC call written
 * that way is no JSON to gov's UTF-8 reading, so without these readings it would pass as
 * "not MCP" and the server would execute it ungoverned.
 */

/** Labels that mean the UTF-8 reading gov already makes (US-ASCII is a subset). */
const UTF8_LABELS = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8', 'us-ascii', 'ascii']);

/** Every `charset` parameter of a Content-Type (a parser may take the first or the last). */
export function declaredCharsets(contentType: string | undefined): string[] {
  if (!contentType) return [];
  const out: string[] = [];
  const re = /;\s*charset\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/gi;
  let m: RegExpExecArray | null;
  while ((m = re.exec(contentType)) !== null) {
    const v = m[1]!;
    out.push((v.startsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v).trim().toLowerCase());
  }
  return out;
}

function decodeUtf32(b: Uint8Array, littleEndian: boolean): string | null {
  if (b.length % 4 !== 0) return null;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let out = '';
  try {
    for (let i = 0; i < b.length; i += 4) out += String.fromCodePoint(view.getUint32(i, littleEndian));
  } catch {
    return null;
  }
  return out;
}

/** What Python's json.detect_encoding would pick for these bytes, when it is not UTF-8. */
function detectedUnicode(b: Uint8Array): string | null {
  const at = (i: number) => b[i] ?? -1;
  if (at(0) === 0 && at(1) === 0 && at(2) === 0xfe && at(3) === 0xff) return 'utf-32be';
  if (at(0) === 0xff && at(1) === 0xfe && at(2) === 0 && at(3) === 0) return 'utf-32le';
  if (at(0) === 0xfe && at(1) === 0xff) return 'utf-16be';
  if (at(0) === 0xff && at(1) === 0xfe) return 'utf-16le';
  if (b.length >= 4) {
    if (at(0) === 0) return at(1) ? 'utf-16be' : 'utf-32be';
    if (at(1) === 0) return at(2) || at(3) ? 'utf-16le' : 'utf-32le';
  } else if (b.length === 2) {
    if (at(0) === 0) return 'utf-16be';
    if (at(1) === 0) return 'utf-16le';
  }
  return null;
}

function decodeAs(label: string, b: Uint8Array): string | null {
  if (label === 'utf-32be' || label === 'utf-32le') {
    const bom = b.length >= 4 && (b[0] === 0xff || b[2] === 0xfe) ? 4 : 0;
    return decodeUtf32(b.subarray(bom), label === 'utf-32le');
  }
  // A BOM is dropped, as servers' decoders do.
  return new TextDecoder(label).decode(b);
}

/** `utf-32` names no byte order: the detected one, else little-endian. */
function labelFor(label: string, detected: string | null): string {
  if (label !== 'utf-32') return label;
  return detected?.startsWith('utf-32') ? detected : 'utf-32le';
}

/** Does a decoded prefix start (after a BOM and whitespace) like an object or an array? */
function startsLikeJson(prefix: string | null): boolean {
  if (prefix === null) return true; // not decodable in part: decide on the whole
  const c = prefix.replace(/^[\uFEFF\s]+/, '')[0];
  return c === undefined || c === '{' || c === '[';
}

export type OtherReadings =
  | { ok: true; texts: Array<{ encoding: string; text: string }> }
  /** A charset gov cannot decode: it cannot know what the server would read. */
  | { ok: false; charset: string };

/**
 * The texts other than UTF-8 that a server could read from this body: those that start like
 * JSON (what could be JSON-RPC), or every one with `anyText`.
 */
export function otherReadings(
  bytes: Uint8Array,
  contentType: string | undefined,
  opts: { anyText?: boolean } = {},
): OtherReadings {
  const texts: Array<{ encoding: string; text: string }> = [];
  const labels = new Set(declaredCharsets(contentType).filter((c) => !UTF8_LABELS.has(c)));
  const detected = detectedUnicode(bytes);
  if (detected) labels.add(detected);
  for (const label of labels) {
    let text: string | null;
    try {
      // Only an object or an array can be JSON-RPC: most bodies are ruled out by their start.
      if (!opts.anyText && !startsLikeJson(decodeAs(labelFor(label, detected), bytes.subarray(0, 64))))
        continue;
      text = decodeAs(labelFor(label, detected), bytes);
    } catch {
      return { ok: false, charset: label };
    }
    if (text !== null) texts.push({ encoding: label, text });
  }
  return { ok: true, texts };
}

/** The ASCII characters of a text: what an ASCII-compatible reading shares with any other. */
const asciiOf = (t: string): string => t.replace(/[^\0-\x7f]+/g, '');

/**
 * Why a server's answer must not be relayed because a client could read other text from it in
 * another encoding, or null. Clients decode answers with the declared charset (aiohttp) or
 * detect UTF-16/32 (Python's json.loads on bytes, requests); gov reads and scans UTF-8
 * (`utf8Text`). Not only JSON: a `text/plain` answer in UTF-16 that echoes a credential holds
 * it as bytes gov's UTF-8 scan never finds. A reading with the same ASCII characters (latin1
 * on UTF-8 text) has the same structure and the same ASCII secrets, so only one that differs
 * there is refused, as is a charset gov cannot decode.
 */
export function otherJsonReading(
  bytes: Uint8Array,
  contentType: string | undefined,
  utf8Text: string,
): string | null {
  const others = otherReadings(bytes, contentType, { anyText: true });
  if (!others.ok)
    // The label is the server's text (it may echo a credential there): never quoted back.
    return bytes.length > 0 ? 'is in a charset gov cannot decode, so cannot inspect' : null;
  if (others.texts.length === 0) return null;
  const mine = asciiOf(utf8Text);
  for (const { encoding, text } of others.texts)
    if (asciiOf(text) !== mine)
      return `reads as ${startsLikeJson(text.slice(0, 64)) ? 'JSON' : 'other text'} in ${encoding}`;
  return null;
}
