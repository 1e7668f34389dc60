/**
 * Resource contents sent as base64 (`{ uri, blob }` in `resources/read` results and embedded
 * resources) hide text from a scan of the JSON strings. A blob that decodes to UTF-8 text is
 * scanned like text and re-encoded with its secrets redacted. A binary blob is passed as it is:
 * secret patterns are text, and rewriting bytes inside a binary format would corrupt it.
 */
import { isPlainObject, type JsonValue } from '../types.js';

type Counts = Record<string, number>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function textOf(blob: string): string | null {
  try {
    return utf8.decode(Buffer.from(blob, 'base64'));
  } catch {
    return null;
  }
}

export function redactTextBlobs(
  value: JsonValue,
  redactString: (s: string) => { text: string; counts: Counts },
): { value: JsonValue; counts: Counts } {
  const counts: Counts = {};
  const walk = (v: JsonValue): JsonValue => {
    if (Array.isArray(v)) {
      const out = v.map(walk);
      return out.some((x, i) => x !== v[i]) ? out : v;
    }
    if (!isPlainObject(v)) return v;
    let changed = false;
    const out: [string, JsonValue][] = [];
    for (const [k, child] of Object.entries(v)) {
      let r = walk(child);
      if (k === 'blob' && typeof child === 'string' && typeof v['uri'] === 'string') {
        const text = textOf(child);
        const red = text === null ? null : redactString(text);
        if (red && Object.keys(red.counts).length) {
          for (const [kind, n] of Object.entries(red.counts)) counts[kind] = (counts[kind] ?? 0) + n;
          r = Buffer.from(red.text, 'utf8').toString('base64');
        }
      }
      if (r !== child) changed = true;
      out.push([k, r]);
    }
    // fromEntries, not assignment: a `__proto__` key must stay a key (as in redact.ts).
    return changed ? Object.fromEntries<JsonValue>(out) : v;
  };
  return { value: walk(value), counts };
}
