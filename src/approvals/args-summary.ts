import type { HeldCall, JsonValue } from '../types.js';

/**
 * Held calls leave their run summarised: a listing of many calls with megabytes of arguments
 * each must stay small enough to send, read and show. A call whose arguments serialise to
 * more than LISTED_ARGS_BYTES has them shrunk (long strings cut, long arrays and objects
 * shortened) with a visible `…(truncated, …)` marker where something was cut, and carries
 * `args_truncated: true` and `args_bytes`; the control socket's `get` op returns it whole.
 */
export const LISTED_ARGS_BYTES = 4096;
const STRING_CHARS = 256;
const ARRAY_ITEMS = 16;
const OBJECT_KEYS = 32;
const DEPTH = 6;

/** `3.1 MiB`, `12 KiB`, `512 B`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const kib = n / 1024;
  if (kib < 1024) return `${kib < 10 ? kib.toFixed(1) : Math.round(kib)} KiB`;
  const mib = kib / 1024;
  return `${mib < 10 ? mib.toFixed(1) : Math.round(mib)} MiB`;
}

const cut = (what: string) => `…(truncated, ${what})`;

function shrink(v: JsonValue, depth: number): JsonValue {
  if (typeof v === 'string') {
    if (v.length <= STRING_CHARS) return v;
    return v.slice(0, STRING_CHARS) + cut(formatBytes(Buffer.byteLength(v.slice(STRING_CHARS))));
  }
  if (v === null || typeof v !== 'object') return v;
  if (depth >= DEPTH) return cut(formatBytes(Buffer.byteLength(JSON.stringify(v))));
  if (Array.isArray(v)) {
    const items = v.slice(0, ARRAY_ITEMS).map((x) => shrink(x, depth + 1));
    if (v.length > ARRAY_ITEMS) items.push(cut(`${v.length - ARRAY_ITEMS} more items`));
    return items;
  }
  const keys = Object.keys(v);
  const entries: Array<[string, JsonValue]> = keys
    .slice(0, OBJECT_KEYS)
    .map((k) => [k, shrink(v[k]!, depth + 1)]);
  if (keys.length > OBJECT_KEYS) entries.push(['…', cut(`${keys.length - OBJECT_KEYS} more keys`)]);
  return Object.fromEntries(entries);
}

/** The call as listed: unchanged when its arguments are small, else summarised and marked. */
export function summariseHeldCall<T extends Pick<HeldCall, 'args' | 'args_truncated' | 'args_bytes'>>(
  call: T,
  budget = LISTED_ARGS_BYTES,
): T {
  const full = JSON.stringify(call.args);
  const bytes = Buffer.byteLength(full);
  if (bytes <= budget) return call;
  let args = shrink(call.args, 0);
  if (Buffer.byteLength(JSON.stringify(args)) > budget) args = cut(formatBytes(bytes));
  return { ...call, args, args_truncated: true, args_bytes: bytes };
}
