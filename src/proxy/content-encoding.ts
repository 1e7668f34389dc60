/**
 * Decode a request body's Content-Encoding before the connector inspects it (SPEC §5): a
 * compressed body must not smuggle a call past policy, and a zip bomb must not exhaust
 * memory. Supported: identity, gzip/x-gzip, deflate (zlib-wrapped, or raw as some clients
 * send it), br; stacked encodings are undone in reverse order of application (RFC 9110
 * §8.4). Anything else is refused with 415. Output past the limit stops inflation at once
 * (zlib's maxOutputLength) and is refused with 413. Corrupt data is refused with 400.
 */
import * as zlib from 'node:zlib';
import { pipeline, type Readable } from 'node:stream';
import { promisify } from 'node:util';

export type DecodeResult =
  { ok: true; body: Buffer } | { ok: false; status: 400 | 413 | 415; reason: string };

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const brotli = promisify(zlib.brotliDecompress);

/** More layers than this is an attack, not a client. */
const MAX_LAYERS = 4;

type Coding = 'gzip' | 'deflate' | 'br';

/** Registered codings gov does not undo: only these are named back in a refusal. */
const KNOWN_UNSUPPORTED = new Set([
  'compress',
  'x-compress',
  'zstd',
  'aes128gcm',
  'dcb',
  'dcz',
  'exi',
  'pack200-gzip',
]);

/**
 * An unsupported coding as a refusal names it. A server's Content-Encoding is its own text
 * (one that echoes the request's Authorization there would have gov quote the credential):
 * only a registered coding's name is repeated.
 */
function unsupported(token: string): string {
  return KNOWN_UNSUPPORTED.has(token)
    ? `unsupported Content-Encoding ${JSON.stringify(token)}`
    : 'unsupported Content-Encoding (not a registered coding)';
}

/** A response's Content-Encoding as undici hands it over: sent twice, it is an array. */
type ContentEncodingHeader = string | string[] | undefined;

function parseCodings(header: ContentEncodingHeader): Coding[] | string {
  const out: Coding[] = [];
  // Two headers are one list of codings, applied in order (RFC 9110 §5.3).
  const list = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const raw of list.split(',')) {
    const token = raw.trim().toLowerCase();
    if (token === '' || token === 'identity') continue;
    if (token === 'gzip' || token === 'x-gzip') out.push('gzip');
    else if (token === 'deflate') out.push('deflate');
    else if (token === 'br') out.push('br');
    else return token;
  }
  return out;
}

/** RFC 1950 header check: CM=8 and the 16-bit header divisible by 31. */
function looksZlibWrapped(b: Buffer): boolean {
  return b.length >= 2 && (b[0]! & 0x0f) === 8 && ((b[0]! << 8) | b[1]!) % 31 === 0;
}

function isTooLarge(err: unknown): boolean {
  return (
    err instanceof RangeError ||
    (typeof err === 'object' && err !== null && (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
  );
}

async function decodeOne(coding: Coding, body: Buffer, limit: number): Promise<Buffer> {
  // maxOutputLength must be >= 1; a zero limit still allows an empty body to pass below.
  const opts = { maxOutputLength: Math.max(1, limit) };
  switch (coding) {
    case 'gzip':
      return gunzip(body, opts);
    case 'deflate':
      return looksZlibWrapped(body) ? inflate(body, opts) : inflateRaw(body, opts);
    case 'br':
      return brotli(body, opts);
  }
}

export async function decodeContent(
  body: Buffer,
  contentEncoding: ContentEncodingHeader,
  limitBytes: number,
): Promise<DecodeResult> {
  const codings = parseCodings(contentEncoding);
  if (typeof codings === 'string') return { ok: false, status: 415, reason: unsupported(codings) };
  if (codings.length > MAX_LAYERS)
    return { ok: false, status: 415, reason: `too many Content-Encoding layers (${codings.length})` };
  if (body.length > limitBytes)
    return { ok: false, status: 413, reason: `body larger than ${limitBytes} bytes` };
  let cur = body;
  for (let k = codings.length - 1; k >= 0; k--) {
    const coding = codings[k]!;
    try {
      cur = await decodeOne(coding, cur, limitBytes);
    } catch (err) {
      if (isTooLarge(err))
        return { ok: false, status: 413, reason: `decoded body larger than ${limitBytes} bytes` };
      const msg = err instanceof Error ? err.message : String(err);
      return { ok: false, status: 400, reason: `invalid ${coding} data: ${msg}` };
    }
    if (cur.length > limitBytes)
      return { ok: false, status: 413, reason: `decoded body larger than ${limitBytes} bytes` };
  }
  return { ok: true, body: cur };
}

/**
 * A response body with its Content-Encoding undone as it streams, for bodies gov scans on the
 * way through; the body itself when it is not encoded. An unknown coding, or too many, is
 * the reason as a string: a body gov cannot decode is a body it cannot scan. A decoding error
 * surfaces as an 'error' on the returned stream.
 */
export function decodedStream(body: Readable, contentEncoding: ContentEncodingHeader): Readable | string {
  const codings = parseCodings(contentEncoding);
  if (typeof codings === 'string') return unsupported(codings);
  if (codings.length > MAX_LAYERS) return `too many Content-Encoding layers (${codings.length})`;
  if (codings.length === 0) return body;
  const decoders = codings
    .reverse()
    .map((c) =>
      c === 'gzip'
        ? zlib.createGunzip()
        : c === 'deflate'
          ? zlib.createInflate()
          : zlib.createBrotliDecompress(),
    );
  const last = decoders[decoders.length - 1]!;
  // pipeline() destroys every stage on a failure, so the last one reports it to the reader.
  pipeline([body, ...decoders], (err) => {
    if (err && !last.destroyed) last.destroy(err);
  });
  return last;
}
