import { describe, expect, it } from 'vitest';
import {
  LineFramer,
  recoverOverlongId,
  type OverlongLine,
} from '../../../src/transport/stdio/line-framer.js';

function framer(maxLineBytes?: number) {
  const lines: string[] = [];
  const overlong: OverlongLine[] = [];
  const f = new LineFramer({
    ...(maxLineBytes !== undefined ? { maxLineBytes } : {}),
    onLine: (l) => lines.push(l.toString('utf8')),
    onOverlong: (o) => overlong.push(o),
  });
  return { f, lines, overlong };
}

describe('LineFramer', () => {
  it('joins a line split over many chunks and splits many lines in one chunk', () => {
    const { f, lines } = framer();
    for (const c of ['{"a"', ':1', '}\n{"b":2}\n{"c"', ':3}\n']) f.push(Buffer.from(c));
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('strips the CR of CRLF line ends and keeps empty lines for the caller to skip', () => {
    const { f, lines } = framer();
    f.push(Buffer.from('one\r\n\r\ntwo\r'));
    f.push(Buffer.from('\n'));
    expect(lines).toEqual(['one', '', 'two']);
  });

  it('splits multi-byte UTF-8 only at newlines, never inside a character', () => {
    const { f, lines } = framer();
    const bytes = Buffer.from('"héllo ✓"\n');
    for (const b of bytes) f.push(Buffer.from([b]));
    expect(lines).toEqual(['"héllo ✓"']);
  });

  it('delivers a last line without a newline when the stream ends', () => {
    const { f, lines } = framer();
    f.push(Buffer.from('a\nb'));
    expect(lines).toEqual(['a']);
    f.end();
    expect(lines).toEqual(['a', 'b']);
  });

  it('accepts a line of exactly the limit (with or without CR) and refuses one byte more', () => {
    const { f, lines, overlong } = framer(8);
    f.push(Buffer.from('12345678\n12345678\r\n123456789\nok\n'));
    expect(lines).toEqual(['12345678', '12345678', 'ok']);
    expect(overlong.map((o) => o.bytes)).toEqual([9]);
  });

  it('drops an over-long line up to its newline without buffering it, then carries on', () => {
    const { f, lines, overlong } = framer(1024);
    f.push(Buffer.from('{"jsonrpc":"2.0","id":"big","method":"x","params":{"p":"'));
    for (let i = 0; i < 100; i++) {
      f.push(Buffer.alloc(10_000, 0x61));
      expect(f.buffered).toBeLessThanOrEqual(1025);
    }
    f.push(Buffer.from('"}}\r\n{"after":true}\n'));
    expect(lines).toEqual(['{"after":true}']);
    expect(overlong).toHaveLength(1);
    expect(overlong[0]!.bytes).toBe(56 + 1_000_000 + 3);
    expect(recoverOverlongId(overlong[0]!)).toBe('big');
  });

  it('reports an over-long line cut off by the end of the stream', () => {
    const { f, overlong } = framer(4);
    f.push(Buffer.from('abcdefgh'));
    f.end();
    expect(overlong.map((o) => o.bytes)).toEqual([8]);
  });

  it('rejects a nonsensical limit', () => {
    expect(() => framer(0)).toThrow(RangeError);
  });
});

describe('recoverOverlongId', () => {
  const edges = (text: string): OverlongLine => ({
    bytes: text.length,
    head: Buffer.from(text.slice(0, 1024)),
    tail: Buffer.from(text.slice(-1024)),
  });
  const filler = 'x'.repeat(5000);

  it('reads the id when it is the first member', () => {
    expect(recoverOverlongId(edges(`{"id":7,"jsonrpc":"2.0","params":{"t":"${filler}"}}`))).toBe(7);
    expect(recoverOverlongId(edges(`{"jsonrpc":"2.0","id":"a\\"b","params":{"t":"${filler}"}}`))).toBe('a"b');
  });

  it('reads the id when it is the last member (where the SDKs put it)', () => {
    expect(
      recoverOverlongId(edges(`{"method":"tools/call","params":{"t":"${filler}"},"jsonrpc":"2.0","id":42}`)),
    ).toBe(42);
  });

  it('does not mistake a nested id or an id inside a string for the message id', () => {
    expect(recoverOverlongId(edges(`{"method":"x","params":{"t":"${filler}","id":5}}`))).toBeNull();
    expect(recoverOverlongId(edges(`{"method":"x","params":{"t":"${filler},\\"id\\":5}"}}`))).toBeNull();
    expect(recoverOverlongId(edges(`[{"id":1,"t":"${filler}"}]`))).toBeNull();
  });
});
