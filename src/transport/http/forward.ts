import type { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Exchange } from '../../proxy/server.js';
import {
  describeUpstreamError,
  forwardableHeaders,
  HOP_BY_HOP,
  type Upstream,
  type UpstreamRequest,
  type UpstreamResponse,
} from './upstream.js';
import { streamOutlivesClient } from './outliving-streams.js';
import { scrubbingStream, scrubHeaders } from './vault-scrub.js';
import type { VaultScan } from '../../pipeline/stages.js';
import { decodedStream } from '../../proxy/content-encoding.js';
import type { Readable } from 'node:stream';

/**
 * Response headers the client may see: hop-by-hop ones are the proxy's own business, and
 * vault values in the others are redacted (a server may echo the credential gov injected).
 */
export function responseHeaders(
  h: IncomingHttpHeaders,
  scan: VaultScan | undefined,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    out[k] = v;
  }
  return scan ? scrubHeaders(out, scan) : out;
}

/** A whole response gov answers itself; a response already under way is cut off instead. */
function sendBody(
  res: ServerResponse,
  status: number,
  body: string,
  contentType: string,
  extra: Record<string, string>,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    ...extra,
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  extra: Record<string, string> = {},
): void {
  sendBody(res, status, text.endsWith('\n') ? text : text + '\n', 'text/plain; charset=utf-8', extra);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  extra: Record<string, string> = {},
): void {
  sendBody(res, status, JSON.stringify(value), 'application/json', extra);
}

/**
 * Cancellation is closing the response stream: when the client goes away before its answer
 * is complete, the upstream request must stop at once (waiting for headers, reading a JSON
 * body or streaming events alike). undici accepts any EventEmitter as a request's signal and
 * aborts on its 'abort' event, so the response itself serves — no AbortController per call.
 */
export function abortOnClientClose(
  res: ServerResponse,
  deadline?: { signal: AbortSignal; cancel(): void },
): AbortSignal | EventEmitter {
  res.once('close', () => {
    if (res.writableFinished || streamOutlivesClient(res)) return;
    closedEarly.add(res);
    if (deadline) deadline.cancel();
    else res.emit('abort');
  });
  // With a time limit its signal carries both: the limit, and the client going away.
  return deadline ? deadline.signal : res;
}

// Responses whose client left before the answer was complete. `res.destroyed` is not enough:
// a response inside a CONNECT tunnel can emit 'close' without being marked destroyed.
const closedEarly = new WeakSet<ServerResponse>();

/** The client closed its response stream before gov finished answering. */
export function clientWentAway(res: ServerResponse): boolean {
  return closedEarly.has(res) || (res.destroyed && !res.writableFinished);
}

export interface OpenOptions {
  body?: Buffer | null;
  headers?: Record<string, string | string[]>;
  signal?: AbortSignal | EventEmitter;
  /** Report a failure here instead of answering the client with 502/504. */
  onError?: (status: number, message: string) => void;
}

/** The upstream request for an exchange: its body (or the client's, streamed) and headers. */
export function upstreamRequest(ex: Exchange, opts: OpenOptions): UpstreamRequest {
  const headers = opts.headers ?? forwardableHeaders(ex.req.headers);
  let body: Buffer | NodeJS.ReadableStream | null;
  if (opts.body !== undefined) {
    body = opts.body;
    if (body) headers['content-length'] = String(body.length);
  } else {
    const hasBody =
      ex.req.headers['content-length'] !== undefined || ex.req.headers['transfer-encoding'] !== undefined;
    body = hasBody ? ex.req : null;
  }
  return {
    target: ex.target,
    method: ex.req.method ?? 'GET',
    path: ex.path,
    headers,
    body: body as Buffer | null,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
}

/** An upstream request failed: answer 502/504 (or tell `onError`). */
export function upstreamFailed(ex: Exchange, err: unknown, onError: OpenOptions['onError']): null {
  const { status, message } = describeUpstreamError(err, ex.target);
  if (onError) onError(status, message);
  else sendText(ex.res, status, message);
  return null;
}

/** Open the upstream request for an exchange; on failure answer 502/504 and return null. */
export async function openUpstream(
  ex: Exchange,
  upstream: Upstream,
  opts: OpenOptions = {},
): Promise<UpstreamResponse | null> {
  try {
    return await upstream.request(upstreamRequest(ex, opts));
  } catch (err) {
    return upstreamFailed(ex, err, opts.onError);
  }
}

/** Drop an upstream body unread (undici reports the abort as an 'error' on it). */
export function discardBody(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

/**
 * Stream an upstream response to the client (never buffered): unchanged, or, when the vault
 * holds values, with those redacted as they stream (its Content-Encoding undone for that;
 * one gov cannot undo is refused).
 */
export async function relayResponse(
  ex: Exchange,
  up: UpstreamResponse,
  scan: VaultScan | undefined,
): Promise<void> {
  const headers = responseHeaders(up.headers, scan);
  let body: Readable = up.body;
  // A HEAD answer, a 204 or a 304 has no body: its length and encoding headers stay as they are.
  const bodiless = ex.req.method === 'HEAD' || up.status === 204 || up.status === 304;
  if (scan && !bodiless) {
    const decoded = decodedStream(up.body, up.headers['content-encoding']);
    if (typeof decoded === 'string') {
      discardBody(up.body);
      return sendText(ex.res, 502, `gov: the upstream response could not be scanned: ${decoded}; refused`);
    }
    body = decoded.pipe(scrubbingStream(scan));
    decoded.once('error', (err) => body.destroy(err));
    delete headers['content-encoding'];
    delete headers['content-length'];
  }
  ex.res.writeHead(up.status, headers);
  ex.res.flushHeaders();
  try {
    await pipeline(body, ex.res);
  } catch {
    ex.res.destroy();
    discardBody(up.body);
  }
}
