import { createHash } from 'node:crypto';

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
  return write(value, 0);
}

const MAX_DEPTH = 256;

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
  return createHash('sha256').update(data).digest('hex');
}

/** `sha256:<hex>` of the canonical JSON of a call's arguments (the audit `args_digest`). */
export function digestArgs(args: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(args ?? {}))}`;
}
