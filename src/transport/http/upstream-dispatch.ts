import type { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { DRAIN_CAP, type BoundedBody } from '../../proxy/body.js';
import type { UpstreamResponse } from './upstream.js';

/**
 * The answer to a governed call: an event stream (`body`), relayed as it comes, or any other
 * answer read whole and bounded (`whole`), which is what gov scans.
 */
export type GovernedResponse =
  | (UpstreamResponse & { whole?: undefined })
  | { status: number; headers: IncomingHttpHeaders; body?: undefined; whole: BoundedBody };

type Controller = Dispatcher.DispatchController;

function noop(): void {}

/**
 * One governed call's upstream exchange, driven by undici's dispatcher directly: a body read
 * whole is collected straight from the parser (no stream, no promise per chunk), and only an
 * event stream gets a Readable. Failures and aborts mean what they mean with `request()`: a
 * failure before the response's head rejects; after it, the whole body ends `ok: false`
 * and a stream is destroyed with the error; the signal aborts the request at any point.
 */
export class GovernedHandler implements Dispatcher.DispatchHandler {
  private resolve: (r: GovernedResponse) => void = noop;
  private reject: (err: Error) => void = noop;
  private controller: Controller | null = null;
  private abortedEarly = false;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private stream: DispatchedStream | null = null;
  private chunks: Buffer[] = [];
  private size = 0;
  private over = false;
  private settled = false;
  private readonly onAbort = (): void => {
    if (this.controller) this.controller.abort(this.reason());
    else this.abortedEarly = true;
  };

  constructor(
    private readonly limit: number,
    /** Whether a response with these headers is relayed as a stream rather than read whole. */
    private readonly streams: (headers: IncomingHttpHeaders) => boolean,
    private readonly signal: AbortSignal | EventEmitter | undefined,
    /** undici's RequestAbortedError: what a stream destroyed before its end reports, as undici's own. */
    private readonly aborted: new () => Error,
  ) {
    if (!signal) return;
    if ('addEventListener' in signal) {
      if (signal.aborted) this.abortedEarly = true;
      else signal.addEventListener('abort', this.onAbort, { once: true });
    } else signal.once('abort', this.onAbort);
  }

  /** The answer. Called before the handler is dispatched (undici may fail it at once). */
  settle(): Promise<GovernedResponse> {
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  private reason(): Error {
    // An EventEmitter signal (the client's response) has no reason: given none, undici makes
    // its own abort error.
    return (this.signal as { reason?: Error } | undefined)?.reason as Error;
  }

  private unlisten(): void {
    const s = this.signal;
    if (!s) return;
    if ('removeEventListener' in s) s.removeEventListener('abort', this.onAbort);
    else s.removeListener('abort', this.onAbort);
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.abortedEarly) controller.abort(this.reason());
  }

  onResponseStart(controller: Controller, status: number, headers: IncomingHttpHeaders): void {
    if (status < 200) return; // 1xx: informational, the answer follows
    this.status = status;
    this.headers = headers;
    if (!this.streams(headers)) return;
    this.stream = new DispatchedStream(controller, this.aborted);
    this.settled = true;
    this.resolve({ status, headers, body: this.stream });
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.stream) {
      if (!this.stream.push(chunk)) controller.pause();
      return;
    }
    this.size += chunk.length;
    if (!this.over && this.size > this.limit) {
      // Past the limit the rest is read and dropped (the connection stays usable), up to a cap.
      this.over = true;
      this.chunks = [];
    }
    if (!this.over) this.chunks.push(chunk);
    else if (this.size > DRAIN_CAP) {
      this.answerWhole({ ok: false, tooLarge: true, received: this.size });
      controller.abort(new this.aborted());
    }
  }

  onResponseEnd(): void {
    this.unlisten();
    if (this.stream) {
      this.stream.ended = true;
      this.stream.push(null);
      return;
    }
    const { chunks, size } = this;
    this.answerWhole(
      this.over
        ? { ok: false, tooLarge: true, received: size }
        : { ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) },
    );
  }

  onResponseError(_controller: Controller, err: Error): void {
    this.unlisten();
    if (this.stream) {
      this.stream.ended = true;
      this.stream.on('error', noop).destroy(err);
    } else if (this.status === 0) {
      this.settled = true;
      this.reject(err);
    } else this.answerWhole({ ok: false, tooLarge: false, error: err.message });
  }

  private answerWhole(whole: BoundedBody): void {
    if (this.settled) return;
    this.settled = true;
    this.chunks = [];
    this.resolve({ status: this.status, headers: this.headers, whole });
  }
}

/** An event stream's body: undici's parser pushes, the reader's pace pauses and resumes it. */
class DispatchedStream extends Readable {
  /** The response ended or failed: destroying the stream no longer aborts anything. */
  ended = false;

  constructor(
    private readonly controller: Controller,
    private readonly aborted: new () => Error,
  ) {
    // undici's own body buffers this much before it pauses the parser.
    super({ highWaterMark: 64 * 1024 });
  }

  override _read(): void {
    this.controller.resume();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // As undici's own body: destroyed before its end, the request is aborted and that is an error.
    if (!this.ended) {
      this.ended = true;
      err ??= new this.aborted();
      this.controller.abort(err);
    }
    callback(err);
  }
}
