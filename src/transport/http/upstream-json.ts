import { isUtf8 } from 'node:buffer';
import type { IncomingHttpHeaders } from 'node:http';
import type { BoundedBody } from '../../proxy/body.js';
import { applyEdits, applyEditsToBytes } from '../../pipeline/string-edits.js';
import { decodeContent } from '../../proxy/content-encoding.js';
import { otherJsonReading } from '../../mcp/body-charset.js';
import type { GovResponse } from '../../mcp/wire-errors.js';
import type { JsonValue } from '../../types.js';
import type { ServerMessageProcessor } from '../../pipeline/server-messages.js';

export type ScannedBody =
  | {
      ok: true;
      text: string;
      /**
       * `text` encoded, when that costs no serialising: the decoded upstream bytes when they
       * passed unchanged, or those bytes with only the redacted stretches replaced.
       */
      bytes: Buffer | null;
    }
  | { ok: false; status: string; message: string };

/**
 * Scan an upstream answer read whole (bounded): undo its Content-Encoding and let the
 * processor scan it (filtering, redaction, outcome records). Anything that cannot be scanned
 * (too large, cut off, undecodable) is refused rather than passed on unseen.
 */
export async function scanWhole(
  up: { headers: IncomingHttpHeaders; whole: BoundedBody },
  processor: ServerMessageProcessor,
  limit: number,
): Promise<ScannedBody> {
  const r = up.whole;
  if (!r.ok) {
    return {
      ok: false,
      status: 'response-too-large',
      message: `Upstream response larger than ${limit} bytes cannot be scanned; refused by gov`,
    };
  }
  const encoding = up.headers['content-encoding'];
  // Most answers are not encoded: no decoding step (and no promise) for those.
  const dec =
    encoding === undefined
      ? { ok: true as const, body: r.body }
      : await decodeContent(r.body, encoding, limit);
  if (!dec.ok) {
    return {
      ok: false,
      status: 'response-undecodable',
      message: `Upstream response could not be decoded: ${dec.reason}`,
    };
  }
  const text = dec.body.toString('utf8');
  const other = otherJsonReading(dec.body, up.headers['content-type'], text);
  if (other !== null) {
    return {
      ok: false,
      status: 'response-not-utf8',
      message: `Upstream response ${other}; MCP answers are UTF-8, and gov scans them as such: refused by gov`,
    };
  }
  const out = text === '' ? null : processor.rewrite(text);
  if (out === null) return { ok: true, text, bytes: dec.body };
  if (typeof out === 'string') return { ok: true, text: out, bytes: null };
  // Byte offsets follow from the text's only where decoding replaced no invalid sequence.
  const bytes = isUtf8(dec.body) ? applyEditsToBytes(text, dec.body, out) : null;
  return { ok: true, text: applyEdits(text, out), bytes };
}

/** One body for the client: the upstream's answers plus gov's own for the denied elements. */
export function mergeDenied(text: string, denied: GovResponse[], batch: boolean): string {
  if (denied.length === 0) return text;
  if (text.trim() === '') return JSON.stringify(batch ? denied : denied[0]);
  let upstream: JsonValue[];
  try {
    const v = JSON.parse(text) as JsonValue;
    upstream = Array.isArray(v) ? v : [v];
  } catch {
    upstream = [];
  }
  return JSON.stringify([...upstream, ...denied]);
}
