/**
 * A `when` that reads `args.amount` sees nothing in `{"AMOUNT": 50000}`, yet a server whose
 * decoder ignores case (Go's encoding/json into a struct) reads that key as `amount`. So a
 * rule such as `has(args.amount) && args.amount > 1000` would let the call through. Reading
 * the key as `amount` instead would be wrong for a case-sensitive server (which ignores it),
 * so gov does neither: a call whose arguments spell, in another case, a name the rule reads
 * is denied by that rule (fail closed). Legitimate clients use the schema's spelling.
 */
import type { JsonValue } from '../types.js';
import { isPlainObject } from '../types.js';
import { foldKey } from '../key-fold.js';

/** Folded name → the spellings the expression uses. */
export type ReadNames = ReadonlyMap<string, ReadonlySet<string>>;

const STRING_LITERAL = /(["'])((?:\\.|(?!\1)[^\\])*)\1/g;
/** `.name` not followed by `(` (a method call). */
const MEMBER = /\.\s*([A-Za-z_]\w*)\b(?!\s*\()/g;
/** `["name"]`, `'name' in m`. */
const KEY_LITERAL = /(["'])((?:\\.|(?!\1)[^\\])*)\1\s*(?:\]|in\b)/g;

/**
 * The member names an expression may read: every `.name`, and every string literal used as a
 * key. Over-collecting is harmless: a name is only checked against keys that fold onto it.
 */
export function namesReadBy(source: string): ReadNames {
  const out = new Map<string, Set<string>>();
  if (!/\bargs\b/.test(source)) return out;
  const add = (name: string) => {
    const f = foldKey(name);
    let s = out.get(f);
    if (s === undefined) out.set(f, (s = new Set()));
    s.add(name);
  };
  for (const m of source.matchAll(KEY_LITERAL)) add(m[2] ?? '');
  for (const m of source.replace(STRING_LITERAL, '""').matchAll(MEMBER)) add(m[1] ?? '');
  return out;
}

/** The first key in `args` (at any depth) that folds onto a name read as another spelling. */
export function misspelledKey(args: JsonValue, names: ReadNames): { key: string; name: string } | null {
  if (names.size === 0) return null;
  if (Array.isArray(args)) {
    for (const x of args) {
      const r = typeof x === 'object' && x !== null ? misspelledKey(x, names) : null;
      if (r) return r;
    }
    return null;
  }
  if (!isPlainObject(args)) return null;
  for (const k of Object.keys(args)) {
    const spellings = names.get(foldKey(k));
    if (spellings !== undefined && !spellings.has(k)) {
      const [name = ''] = spellings;
      return { key: k, name };
    }
    const x = args[k];
    const r = typeof x === 'object' && x !== null ? misspelledKey(x, names) : null;
    if (r) return r;
  }
  return null;
}
