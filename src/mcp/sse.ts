/**
 * Incremental Server-Sent Events parser (WHATWG HTML "event stream interpretation") for a
 * proxy: each event is handed over as soon as its blank line arrives so it can be scanned
 * and forwarded at once, and nothing beyond the event being assembled is ever held.
 *
 * Lines are split on raw bytes (CR and LF never occur inside a multi-byte UTF-8 sequence),
 * so a chunk may end anywhere — inside a character, or between the CR and LF of a CRLF —
 * and each complete line is decoded once.
 *
 * Unlike a browser, blocks without data (comment-only keep-alives, `id:`/`retry:` only)
 * are reported too, so the proxy can forward them; `hasData` tells them apart.
 *
 * A proxy that passes most events unchanged can also ask for each event's own bytes (see
 * `push`): writing those back costs no re-formatting and no re-encoding.
 */

import { isUtf8 } from 'node:buffer';

export interface SseEvent {
  /** The `event:` field; undefined when absent (the client treats that as "message"). */
  event?: string;
  /** Data lines joined with "\n". */
  data: string;
  id?: string;
  retry?: number;
  /** Comment lines (after the leading ':'), in order; keep-alives live here. */
  comments: string[];
  /** False when the block had no `data` field (a browser would not dispatch it). */
  hasData?: boolean;
}

export interface SseParserOptions {
  /** Largest event accepted, in bytes of raw stream (fields, line endings and comments). */
  maxEventBytes: number;
}

/** Thrown by push() when one event grows past maxEventBytes; carries the events completed before it. */
export class SseEventTooLargeError extends Error {
  readonly events: SseEvent[];
  constructor(limit: number, events: SseEvent[]) {
    super(`SSE event larger than ${limit} bytes`);
    this.name = 'SseEventTooLargeError';
    this.events = events;
  }
}

const LF = 0x0a;
const CR = 0x0d;

interface Pending {
  event?: string;
  data: string[];
  id?: string;
  retry?: number;
  comments: string[];
  fields: number;
}

function emptyPending(): Pending {
  return { data: [], comments: [], fields: 0 };
}

export class SseParser {
  private readonly max: number;
  /** Bytes of the current, unterminated line. */
  private line: Buffer[] = [];
  private lineBytes = 0;
  /** Bytes of complete lines already folded into `cur`. */
  private eventBytes = 0;
  private cur: Pending = emptyPending();
  private lastWasCr = false;
  private firstLine = true;
  private failed = false;
  /**
   * Where the current event's bytes start in the chunk being pushed; -1 when they do not lie
   * in it alone (begun in an earlier chunk) or the event is not `plain`.
   */
  private rawStart = 0;
  /** The current event has only `data` lines and `event: message`, each ended by LF. */
  private plain = true;

  constructor(opts: SseParserOptions) {
    this.max = opts.maxEventBytes;
  }

  /**
   * Feed bytes; returns every event completed by them. With `verbatim`, one entry per event
   * returned is appended to it: the event's own bytes (a view into `chunk`) when they lie in
   * this chunk and hold nothing but `data` lines and `event: message` ended by LF — written
   * back as they came, any spec-conforming client parses exactly the returned event — else null.
   */
  push(chunk: Uint8Array, verbatim?: (Buffer | null)[]): SseEvent[] {
    if (this.failed) throw new SseEventTooLargeError(this.max, []);
    const out: SseEvent[] = [];
    // Line ends are found with the native indexOf (one call per line, not a JS loop per byte).
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    // An event whose first bytes came earlier is not in this chunk alone.
    this.rawStart = this.lineBytes === 0 && this.eventBytes === 0 ? 0 : -1;
    let start = 0;
    let lf = buf.indexOf(LF, 0);
    let cr = buf.indexOf(CR, 0);
    while (lf !== -1 || cr !== -1) {
      const i = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      const b = buf[i]!;
      if (b === LF && this.lastWasCr && i === start && this.lineBytes === 0) {
        // The LF of a CRLF whose CR ended the previous line (possibly in the previous chunk).
        this.lastWasCr = false;
        start = i + 1;
        this.eventBytes += 1;
        this.plain = false;
      } else {
        this.lastWasCr = b === CR;
        if (b === CR) this.plain = false;
        this.appendLine(buf.subarray(start, i));
        // Checked before decoding, so a giant line is never copied or decoded.
        this.overflowCheck(out, 1);
        this.eventBytes += this.lineBytes + 1;
        const lineText = this.takeLine();
        start = i + 1;
        const ev = this.processLine(lineText);
        if (ev) {
          out.push(ev);
          // Invalid UTF-8 was decoded to U+FFFD for the scan: only valid bytes go out as they came.
          const own = this.plain && this.rawStart >= 0 ? buf.subarray(this.rawStart, start) : null;
          verbatim?.push(own && isUtf8(own) ? own : null);
        }
        if (lineText === '') {
          // A blank line ends the block (dispatched or not): the next one starts after it.
          this.rawStart = start;
          this.plain = true;
        }
      }
      if (b === LF) lf = buf.indexOf(LF, i + 1);
      else cr = buf.indexOf(CR, i + 1);
    }
    if (start < buf.length) {
      this.lastWasCr = false;
      // Copy: the caller may reuse its buffer.
      this.appendLine(Buffer.from(buf.subarray(start)));
      this.overflowCheck(out);
    }
    return out;
  }

  /**
   * End of stream. Per the SSE spec an event not terminated by a blank line is discarded;
   * `truncated` on the parser tells whether that happened.
   */
  end(): SseEvent[] {
    this.truncated = this.lineBytes > 0 || this.cur.fields > 0 || this.cur.comments.length > 0;
    this.line = [];
    this.lineBytes = 0;
    this.eventBytes = 0;
    this.cur = emptyPending();
    return [];
  }

  /** After end(): whether the stream stopped in the middle of an event. */
  truncated = false;

  /** Bytes currently held (one partial event at most). */
  get bufferedBytes(): number {
    return this.eventBytes + this.lineBytes;
  }

  private appendLine(part: Buffer): void {
    if (part.length === 0) return;
    this.line.push(part);
    this.lineBytes += part.length;
  }

  private overflowCheck(done: SseEvent[], terminator = 0): void {
    if (this.eventBytes + this.lineBytes + terminator > this.max) {
      this.failed = true;
      this.line = [];
      this.lineBytes = 0;
      throw new SseEventTooLargeError(this.max, done);
    }
  }

  private takeLine(): string {
    if (this.lineBytes === 0) {
      // A blank line (every event ends with one): nothing to join or decode.
      this.line.length = 0;
      this.firstLine = false;
      return '';
    }
    let bytes = this.line.length === 1 ? this.line[0]! : Buffer.concat(this.line, this.lineBytes);
    this.line.length = 0;
    this.lineBytes = 0;
    if (this.firstLine) {
      this.firstLine = false;
      if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
        bytes = bytes.subarray(3);
        this.plain = false;
      }
    }
    // Decoded like TextDecoder: invalid sequences become U+FFFD.
    return bytes.toString('utf8');
  }

  private processLine(line: string): SseEvent | null {
    if (line === '') return this.dispatch();
    if (line.charCodeAt(0) === 0x3a) {
      this.cur.comments.push(line.slice(1));
      this.plain = false;
      return null;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    switch (field) {
      case 'event':
        this.cur.event = value;
        if (value !== 'message') this.plain = false;
        break;
      case 'data':
        this.cur.data.push(value);
        break;
      case 'id':
        this.plain = false;
        if (!value.includes('\0')) this.cur.id = value;
        break;
      case 'retry':
        this.plain = false;
        if (/^[0-9]+$/.test(value)) this.cur.retry = Number(value);
        break;
      default:
        // Unknown fields are ignored, as by every client; their bytes are not relayed.
        this.plain = false;
        return null;
    }
    this.cur.fields++;
    return null;
  }

  private dispatch(): SseEvent | null {
    const c = this.cur;
    this.cur = emptyPending();
    this.eventBytes = 0;
    if (c.fields === 0 && c.comments.length === 0) return null;
    const ev: SseEvent = { data: c.data.join('\n'), comments: c.comments };
    if (c.data.length === 0) ev.hasData = false;
    if (c.event !== undefined) ev.event = c.event;
    if (c.id !== undefined) ev.id = c.id;
    if (c.retry !== undefined) ev.retry = c.retry;
    return ev;
  }
}

/** Whether `s` holds a CR or LF (checked before any regex: almost no field does). */
function hasLineBreak(s: string): boolean {
  return s.includes('\n') || s.includes('\r');
}

function oneLine(s: string): string {
  return hasLineBreak(s) ? s.replace(/[\r\n]/g, '') : s;
}

/**
 * Serialise an event so that a spec-conforming parser sees the same event: multi-line data
 * becomes several data lines; CR/LF in single-line fields are dropped (they would inject
 * fields). Always ends with the blank line that dispatches it.
 */
export function formatSseEvent(ev: SseEvent): string {
  let out = '';
  for (const c of ev.comments) for (const part of c.split(/\r\n|\r|\n/)) out += `:${part}\n`;
  if (ev.event !== undefined) out += `event: ${oneLine(ev.event)}\n`;
  if (ev.id !== undefined) out += `id: ${oneLine(ev.id).replaceAll('\0', '')}\n`;
  if (ev.retry !== undefined && Number.isInteger(ev.retry) && ev.retry >= 0) out += `retry: ${ev.retry}\n`;
  if (ev.hasData !== false) {
    if (!hasLineBreak(ev.data)) out += `data: ${ev.data}\n`;
    else for (const line of ev.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  }
  return `${out}\n`;
}
