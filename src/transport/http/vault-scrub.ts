/**
 * Vault values only (no secret formats) are what gov redacts in bytes it relays without parsing
 * them — response headers, and the bodies of responses that are not MCP messages. A server
 * that echoes the credential gov injected (an error page, a `Location`, a header dump) must
 * not hand it to the agent; well-known token formats are left alone there, because a
 * non-MCP API may legitimately return one.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { applySpans } from '../../safety/redact.js';
import type { VaultScan } from '../../pipeline/stages.js';

/**
 * Header values with every vault value redacted. A header whose name holds one (a server
 * reflecting the credential into `x-seen-<token>`) is dropped: a marker is no header name.
 */
export function scrubHeaders(
  h: Record<string, string | string[]>,
  scan: VaultScan,
): Record<string, string | string[]> {
  const one = (v: string) => scan.redactString(v).text;
  for (const [k, v] of Object.entries(h)) {
    if (scan.scan(k).length) delete h[k];
    else h[k] = Array.isArray(v) ? v.map(one) : one(v);
  }
  return h;
}

/**
 * A body stream with every vault value redacted, read as latin1 so any bytes pass unchanged.
 * The tail that could still be the start of a value is held back until the next chunk, so a
 * value split across chunks is still found whole.
 */
export function scrubbingStream(scan: VaultScan): Transform {
  const hold = Math.max(0, scan.maxLiteralLength - 1);
  let carry = '';
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      const s = carry + chunk.toString('latin1');
      const spans = scan.scan(s);
      let cut = Math.max(0, s.length - hold);
      // A value that starts before the cut is complete (it is at most `hold + 1` long): take it whole.
      for (const sp of spans) if (sp.start < cut && sp.end > cut) cut = sp.end;
      carry = s.slice(cut);
      done(null, Buffer.from(applySpans(s, spans, {}, cut), 'latin1'));
    },
    flush(done: TransformCallback) {
      done(null, Buffer.from(scan.redactString(carry).text, 'latin1'));
    },
  });
}
