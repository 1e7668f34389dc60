import { hash } from 'node:crypto';

/**
 * Canonical JSON in the spirit of RFC 8785 (JCS): object keys sorted by UTF-16 code units,
 * no whitespace, numbers in ECMAScript shortest round-trip form, strings escaped as
 * JSON.stringify does. The same value always yields the same bytes, so hashes over it are
 * stable across writers and readers (a record parsed back from disk re-canonicalises to
 * exactly what was hashed).
 *
 * `undefined` object members are omitted (as JSON.stringify does) because optional record
 * fields are often present-but-undefined in memory and absent on disk.
 */
export function canonicalJson(value: unknown): string {
  try {
    return JSON.stringify(sortedCopy(value, 0));
  } catch (err) {
    if (!(err instanceof IntegerLikeKey)) throw err;
    return write(value, 0);
  }
}

/**
 * The value with every object's keys in canonical order (the value itself when it already
 * is), so `JSON.stringify` of it is its canonical JSON. Throws `IntegerLikeKey` for a value
 * no object can hold in that order (the caller then takes `canonicalJson`).
 */
export function canonicalValue(value: unknown): unknown {
  return sortedCopy(value, 1);
}

const MAX_DEPTH = 256;

/**
 * Fast path: a copy with sorted keys, serialised by the native JSON.stringify (same string
 * and number forms as `write`). Objects put integer-like keys first whatever their insertion
 * order, so a value with such a key takes the slower hand-written path instead.
 */
export class IntegerLikeKey extends Error {}
const INDEX_KEY_SEEN = new IntegerLikeKey('canonical JSON: integer-like key');
const INDEX_KEY = /^(?:0|[1-9]\d{0,9})$/;

function isIndexKey(k: string): boolean {
  const c = k.charCodeAt(0);
  return c >= 48 && c <= 57 && INDEX_KEY.test(k) && Number(k) < 4294967295;
}

function sortedCopy(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new TypeError('canonical JSON: value nested too deeply');
  if (value === null) return null;
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return value;
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`canonical JSON: ${String(value)} is not a JSON number`);
      return value;
    case 'object': {
      if (Array.isArray(value)) {
        // Reused as it is unless an element needs a new form (fewer copies per audit record).
        let out: unknown[] | undefined;
        for (let i = 0; i < value.length; i++) {
          const v: unknown = value[i];
          const c = v === undefined ? null : sortedCopy(v, depth + 1);
          if (c !== v) out ??= value.slice(0, i);
          out?.push(c);
        }
        return out ?? value;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError('canonical JSON: only plain objects, arrays and primitives are allowed');
      }
      const obj = value as Record<string, unknown>;
      const own = Object.keys(obj);
      const keys = sortedKeys(own);
      // An object already in canonical order (call arguments are canonicalised when parsed)
      // is reused unless a member needs a new form.
      let reuse = proto === Object.prototype && keys === own;
      const members: unknown[] = new Array(keys.length);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        if (isIndexKey(k)) throw INDEX_KEY_SEEN;
        const v = obj[k];
        const c = v === undefined ? undefined : sortedCopy(v, depth + 1);
        if (c !== v) reuse = false;
        members[i] = c;
      }
      if (reuse) return obj;
      // A plain object (not a null-prototype dictionary): JSON.stringify serialises it
      // several times faster. Only `__proto__` needs defining rather than assigning.
      const out: Record<string, unknown> = {};
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        const c = members[i];
        if (c === undefined) continue;
        if (k === '__proto__')
          Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
        else out[k] = c;
      }
      return out;
    }
    default:
      throw new TypeError(`canonical JSON: cannot encode a ${typeof value}`);
  }
}

/**
 * `keys` in canonical order: `keys` itself when it already is (most objects gov records are
 * built in that order), else a sorted copy. A few keys are sorted by insertion, which, unlike
 * `Array#sort`, allocates nothing beyond the copy; `<` on strings compares UTF-16 code units,
 * as the default sort does.
 */
function sortedKeys(keys: string[]): string[] {
  let i = 1;
  while (i < keys.length && keys[i - 1]! < keys[i]!) i++;
  if (i >= keys.length) return keys;
  if (keys.length > 16) return keys.slice().sort();
  const out = keys.slice();
  for (; i < out.length; i++) {
    const k = out[i]!;
    let j = i - 1;
    while (j >= 0 && out[j]! > k) {
      out[j + 1] = out[j]!;
      j--;
    }
    out[j + 1] = k;
  }
  return out;
}

function write(value: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new TypeError('canonical JSON: value nested too deeply');
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`canonical JSON: ${String(value)} is not a JSON number`);
      // JSON.stringify uses Number::toString, which is the RFC 8785 number form (and maps -0 to 0).
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((v) => (v === undefined ? 'null' : write(v, depth + 1))).join(',')}]`;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError('canonical JSON: only plain objects, arrays and primitives are allowed');
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      const parts: string[] = [];
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue;
        parts.push(`${JSON.stringify(k)}:${write(v, depth + 1)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON: cannot encode a ${typeof value}`);
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  // One-shot: no Hash object per record (about 2 µs of a record's 20 µs).
  return hash('sha256', data, 'hex');
}

/** `sha256:<hex>` of the canonical JSON of a call's arguments (the audit `args_digest`). */
export function digestArgs(args: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(args ?? {}))}`;
}
