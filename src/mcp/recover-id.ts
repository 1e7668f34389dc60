/**
 * Naming the id of a message gov refuses without parsing it whole (over-long, too deep, not
 * strict JSON), so the client can still match the error to its request. Only an id in a
 * top-level position that a scan of the message's edges can see is trusted.
 */
import type { JsonValue } from '../types.js';

/** How much of a message's head and tail is looked at. */
export const EDGE_CHARS = 1024;

const ID = String.raw`(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|"(?:[^"\\\n]|\\.)*")`;
// `{"id":…` or `{"jsonrpc":"2.0","id":…` at the start; `"id":…}` as the last member at the end
// (where JSON.stringify of `{...request, jsonrpc, id}` puts it). Both are top-level positions.
const HEAD_ID = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${ID}\s*,`);
const TAIL_ID = new RegExp(String.raw`,\s*"id"\s*:\s*${ID}\s*\}\s*$`);

/** `v` as an id gov can echo exactly: a string, or a number JSON.parse held without change. */
export function exactId(v: JsonValue | undefined): string | number | null {
  if (typeof v === 'string') return v;
  if (typeof v !== 'number' || !Number.isFinite(v) || Object.is(v, -0)) return null;
  return Number.isInteger(v) && !Number.isSafeInteger(v) ? null : v;
}

/** The id at the head or the tail of a message's text; null when neither shows one. */
export function idAtEdges(head: string, tail: string): string | number | null {
  for (const [re, text] of [
    [HEAD_ID, head],
    [TAIL_ID, tail],
  ] as const) {
    const m = re.exec(text);
    if (!m) continue;
    try {
      const id = exactId(JSON.parse(m[1]!) as JsonValue);
      if (id !== null) return id;
    } catch {
      // not a readable id after all
    }
  }
  return null;
}
