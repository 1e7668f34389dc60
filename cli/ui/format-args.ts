import type { JsonValue } from '../../src/types.js';
import { stripUnsafe, truncate } from './sanitize.js';

export interface FormatArgsOptions {
  /** Most lines returned; the last one says how many were left out. */
  maxLines?: number;
  /** Longest string value or key shown, in code points. */
  maxString?: number;
  /** Deeper structure is shown as `…`. */
  maxDepth?: number;
  /** Most entries shown per object or array. */
  maxEntries?: number;
}

const ELIDED = '…';

/**
 * Copy `value` with every key and string sanitised and cut, and the structure bounded,
 * so a hostile argument object can neither inject escapes nor make the UI do unbounded
 * work. Control characters in strings are dropped here, before JSON.stringify, because
 * JSON escaping would turn them into visible `\u001b` noise and leave bidi chars intact.
 */
function bounded(value: JsonValue, depth: number, o: Required<FormatArgsOptions>): JsonValue {
  // Newlines survive here; JSON.stringify shows them as the two characters `\n`.
  if (typeof value === 'string') return truncate(stripUnsafe(value, { keepNewlines: true }), o.maxString);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= o.maxDepth) return ELIDED;
  if (Array.isArray(value)) {
    const out = value.slice(0, o.maxEntries).map((v) => bounded(v, depth + 1, o));
    if (value.length > o.maxEntries) out.push(`${ELIDED} ${value.length - o.maxEntries} more`);
    return out;
  }
  const out: { [k: string]: JsonValue } = {};
  let n = 0;
  const keys = Object.keys(value);
  for (const k of keys) {
    if (n++ >= o.maxEntries) {
      out[ELIDED] = `${keys.length - o.maxEntries} more`;
      break;
    }
    let key = truncate(stripUnsafe(k), o.maxString);
    while (Object.prototype.hasOwnProperty.call(out, key)) key += '\u00b7';
    out[key] = bounded(value[k] as JsonValue, depth + 1, o);
  }
  return out;
}

/** Pretty-print tool arguments (2-space JSON, sanitised) as at most `maxLines` lines. */
export function formatArgs(args: JsonValue | undefined, opts: FormatArgsOptions = {}): string[] {
  const o: Required<FormatArgsOptions> = {
    maxLines: opts.maxLines ?? 12,
    maxString: opts.maxString ?? 200,
    maxDepth: opts.maxDepth ?? 8,
    maxEntries: opts.maxEntries ?? 50,
  };
  if (args === undefined) return [];
  const text = JSON.stringify(bounded(args, 0, o), null, 2) ?? 'null';
  // Belt and braces: the stringified form must be inert too.
  const lines = stripUnsafe(text, { keepNewlines: true }).split('\n');
  if (lines.length <= o.maxLines) return lines;
  const keep = Math.max(1, o.maxLines - 1);
  return [...lines.slice(0, keep), `${ELIDED} (${lines.length - keep} more lines)`];
}
