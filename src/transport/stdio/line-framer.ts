/**
 * Newline-delimited framing over a byte stream (the MCP stdio transport): chunks in, whole
 * lines out. A line may arrive split over many chunks, end in CRLF, or be absurdly long; a
 * line longer than the limit is dropped up to its newline (never buffered without bound)
 * and reported with a little of its head and tail so the caller can try to name its id.
 */
import { EDGE_CHARS, idAtEdges } from '../../mcp/recover-id.js';

export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

/** How much of an over-long line's head and tail is kept for the report. */
const EDGE_BYTES = EDGE_CHARS;

export interface OverlongLine {
  /** Bytes in the line (without its newline); a lower bound when the stream ended first. */
  bytes: number;
  /** The first bytes of the line. */
  head: Buffer;
  /** The last bytes of the line. */
  tail: Buffer;
}

export interface LineFramerOptions {
  maxLineBytes?: number;
  onLine: (line: Buffer) => void;
  onOverlong: (info: OverlongLine) => void;
}

export class LineFramer {
  readonly maxLineBytes: number;
  private readonly onLine: (line: Buffer) => void;
  private readonly onOverlong: (info: OverlongLine) => void;
  private parts: Buffer[] = [];
  private size = 0;
  // Discard mode: the current line went over the limit; count it and keep its edges only.
  private discarding = false;
  private discarded = 0;
  private head: Buffer = Buffer.alloc(0);
  private tail: Buffer = Buffer.alloc(0);

  constructor(o: LineFramerOptions) {
    this.maxLineBytes = o.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isInteger(this.maxLineBytes) || this.maxLineBytes < 1)
      throw new RangeError('maxLineBytes must be a positive integer');
    this.onLine = o.onLine;
    this.onOverlong = o.onOverlong;
  }

  /** The line in progress is already over the limit (it will be reported, not delivered). */
  get overLimit(): boolean {
    return this.discarding;
  }

  /** Bytes held for the line in progress (never more than maxLineBytes + 1). */
  get buffered(): number {
    return this.size;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      this.take(chunk.subarray(start, end));
      if (nl === -1) return;
      this.endLine();
      start = nl + 1;
    }
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    if (this.discarding || this.size > 0) this.endLine();
  }

  private take(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.discarding) {
      this.discarded += piece.length;
      this.keepTail(piece);
      return;
    }
    if (this.size + piece.length <= this.maxLineBytes + 1) {
      // +1: a trailing CR is not part of the line, so a line of exactly max bytes + CR fits.
      this.parts.push(piece);
      this.size += piece.length;
      return;
    }
    // Over the limit: keep the edges only (no copy of the whole line).
    const pieces = [...this.parts, piece];
    this.parts = [];
    this.discarding = true;
    this.discarded = this.size + piece.length;
    this.size = 0;
    const headParts: Buffer[] = [];
    let headLen = 0;
    for (const p of pieces) {
      if (headLen >= EDGE_BYTES) break;
      headParts.push(p.subarray(0, EDGE_BYTES - headLen));
      headLen += Math.min(p.length, EDGE_BYTES - headLen);
    }
    this.head = Buffer.concat(headParts);
    this.tail = Buffer.alloc(0);
    for (const p of pieces.slice(-8)) this.keepTail(p);
  }

  private keepTail(piece: Buffer): void {
    if (piece.length >= EDGE_BYTES) this.tail = Buffer.from(piece.subarray(piece.length - EDGE_BYTES));
    else this.tail = Buffer.concat([this.tail, piece]).subarray(-EDGE_BYTES);
  }

  private endLine(): void {
    if (this.discarding) {
      let bytes = this.discarded;
      let tail = this.tail;
      if (tail[tail.length - 1] === 0x0d) {
        tail = tail.subarray(0, -1);
        bytes--;
      }
      this.discarding = false;
      this.discarded = 0;
      const head = this.head;
      this.head = Buffer.alloc(0);
      this.tail = Buffer.alloc(0);
      this.onOverlong({ bytes, head, tail });
      return;
    }
    let line = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    if (line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
    if (line.length > this.maxLineBytes) {
      this.onOverlong({
        bytes: line.length,
        head: Buffer.from(line.subarray(0, EDGE_BYTES)),
        tail: Buffer.from(line.subarray(-EDGE_BYTES)),
      });
      return;
    }
    this.onLine(line);
  }
}

/** The JSON-RPC id of an over-long line, when its head or tail shows one; else null. */
export function recoverOverlongId(info: OverlongLine): string | number | null {
  return idAtEdges(info.head.toString('utf8'), info.tail.toString('utf8'));
}

/** A line of nothing but spaces, tabs and a CR: no message, skipped. */
export function isBlank(line: Buffer): boolean {
  for (const b of line) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  return true;
}
