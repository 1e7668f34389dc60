import { describe, expect, it } from 'vitest';
import { SseEventTooLargeError, SseParser, formatSseEvent, type SseEvent } from '../../src/mcp/sse.js';
import { VERSIONS, enc, fixture } from './corpus.js';

function parseAll(chunks: Uint8Array[], max = 1 << 20): SseEvent[] {
  const p = new SseParser({ maxEventBytes: max });
  const out: SseEvent[] = [];
  for (const c of chunks) out.push(...p.push(c));
  out.push(...p.end());
  return out;
}

/** Every way of cutting `bytes` in two, plus byte-at-a-time. */
function splits(bytes: Uint8Array): Uint8Array[][] {
  const out: Uint8Array[][] = [[bytes]];
  for (let i = 1; i < bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  out.push(Array.from(bytes, (b) => Uint8Array.of(b)));
  return out;
}

describe('SseParser', () => {
  it('parses fields, comments, multi-line data and unknown fields', () => {
    const s = ': hello\nevent: message\nid: 7\nretry: 1500\ndata: a\ndata:b\ndata\nfoo: bar\n\n';
    expect(parseAll([enc(s)])).toEqual([
      { event: 'message', id: '7', retry: 1500, data: 'a\nb\n', comments: [' hello'] },
    ]);
  });

  it('handles LF, CRLF and CR line endings identically, at every chunk boundary', () => {
    const base = 'event: message\ndata: {"x":"ü😀"}\ndata: 2\n\n: ka\n\nid: 3\ndata: z\n\n';
    const expected = parseAll([enc(base)]);
    expect(expected).toHaveLength(3);
    for (const eol of ['\n', '\r\n', '\r']) {
      const bytes = enc(base.replace(/\n/g, eol));
      for (const chunks of splits(bytes)) expect(parseAll(chunks)).toEqual(expected);
    }
  });

  it('does not mistake CR then LF in the next chunk for two line ends', () => {
    const p = new SseParser({ maxEventBytes: 100 });
    expect(p.push(enc('data: a\r'))).toEqual([]);
    expect(p.push(enc('\n\r'))).toEqual([{ data: 'a', comments: [] }]);
    expect(p.push(enc('\ndata: b\r\r'))).toEqual([{ data: 'b', comments: [] }]);
  });

  it('emits each event as soon as its blank line arrives', () => {
    const p = new SseParser({ maxEventBytes: 100 });
    expect(p.push(enc('data: 1\n'))).toEqual([]);
    expect(p.push(enc('\ndata: 2'))).toEqual([{ data: '1', comments: [] }]);
    expect(p.push(enc('\n\n'))).toEqual([{ data: '2', comments: [] }]);
  });

  it('reports blocks without data (keep-alives) and strips one leading space only', () => {
    expect(parseAll([enc(':\n\nid: 1\n\ndata:  two\n\n')])).toEqual([
      { data: '', comments: [''], hasData: false },
      { data: '', id: '1', comments: [], hasData: false },
      { data: ' two', comments: [] },
    ]);
  });

  it('strips a leading BOM, ignores invalid retry and ids with NUL', () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...enc('data: x\nretry: 1x\nid: a\u0000b\n\n')]);
    for (const chunks of splits(bom)) expect(parseAll(chunks)).toEqual([{ data: 'x', comments: [] }]);
  });

  it('discards an unterminated event at end of stream and says so', () => {
    const p = new SseParser({ maxEventBytes: 100 });
    expect(p.push(enc('data: 1\n\ndata: partial\n'))).toHaveLength(1);
    expect(p.end()).toEqual([]);
    expect(p.truncated).toBe(true);
  });

  it('refuses an event over the limit, keeping the events completed before it', () => {
    const p = new SseParser({ maxEventBytes: 32 });
    try {
      p.push(enc(`data: ok\n\ndata: ${'x'.repeat(100)}`));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SseEventTooLargeError);
      expect((e as SseEventTooLargeError).events).toEqual([{ data: 'ok', comments: [] }]);
    }
    expect(() => p.push(enc('\n\n'))).toThrow(SseEventTooLargeError);
  });

  it('limits by event, never buffering beyond one', () => {
    const p = new SseParser({ maxEventBytes: 64 });
    let n = 0;
    for (let i = 0; i < 1000; i++) {
      n += p.push(enc(`data: ${'y'.repeat(40)}\n\n`)).length;
      expect(p.bufferedBytes).toBeLessThanOrEqual(64);
    }
    expect(n).toBe(1000);
    const q = new SseParser({ maxEventBytes: 64 });
    expect(() => q.push(enc('data: 1234567890\n'.repeat(5)))).toThrow(SseEventTooLargeError);
  });

  it('parses the corpus streams', () => {
    for (const v of VERSIONS.filter((x) => x !== '2024-11-05')) {
      const evs = parseAll([fixture(v, 'tools-call-response.sse')]);
      expect(
        evs
          .filter((e) => e.data !== '' && (e.event === undefined || e.event === 'message'))
          .map((e) => JSON.parse(e.data) as unknown),
      ).toMatchObject([{ method: 'notifications/progress' }, { id: 2, result: {} }]);
      expect(evs[1]).toEqual({ data: '', comments: [' keep-alive'], hasData: false });
    }
  });
});

describe('formatSseEvent', () => {
  it('re-serialises so that parsing gives the same event', () => {
    const events: SseEvent[] = [
      { data: 'a\nb\n', comments: [' c'], event: 'message', id: '1', retry: 10 },
      { data: '', comments: [] },
      { data: '', comments: [''], hasData: false },
      { data: ' lead', comments: [], event: '' },
      { data: '{"jsonrpc":"2.0"}', comments: [] },
    ];
    for (const ev of events) expect(parseAll([enc(formatSseEvent(ev))])).toEqual([ev]);
    expect(formatSseEvent({ data: 'a\nb', comments: [] })).toBe('data: a\ndata: b\n\n');
  });

  it('cannot be used to inject fields', () => {
    const s = formatSseEvent({
      data: 'x\r\nevent: evil',
      event: 'message\ndata: injected',
      id: '1\r2',
      comments: ['a\nevent: e'],
    });
    const [ev] = parseAll([enc(s)]);
    expect(ev!.event).toBe('messagedata: injected');
    expect(ev!.id).toBe('12');
    expect(ev!.data).toBe('x\nevent: evil');
    expect(ev!.comments).toEqual(['a', 'event: e']);
  });

  it('hands over the own bytes of plain events that lie in one chunk, null for the rest', () => {
    const p = new SseParser({ maxEventBytes: 1 << 20 });
    const own: (Buffer | null)[] = [];
    const text = (b: Buffer | null) => (b === null ? null : b.toString());
    const plain = 'event: message\ndata: {"a":1}\n\n';
    const evs = p.push(
      enc(`${plain}data:x\ndata: y\n\n: keep-alive\ndata: c\n\nid: 1\ndata: i\n\ndata: sp`),
      own,
    );
    expect(evs.map((e) => e.data)).toEqual(['{"a":1}', 'x\ny', 'c', 'i']);
    expect(own.map(text)).toEqual([plain, 'data:x\ndata: y\n\n', null, null]);
    own.length = 0;
    // Begun in the previous chunk: re-formatted, not passed as bytes.
    expect(
      p.push(enc('lit\n\nevent: other\ndata: o\n\nretry: 5\ndata: r\n\nfoo: 1\ndata: f\n\n'), own),
    ).toHaveLength(4);
    expect(own).toEqual([null, null, null, null]);
  });

  it('never hands over bytes with CR line ends, a BOM or invalid UTF-8', () => {
    for (const [bytes, data] of [
      [enc('data: a\r\n\r\n'), 'a'],
      [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), enc('data: b\n\n')]), 'b'],
      [Buffer.concat([enc('data: '), Buffer.from([0xff]), enc('\n\n')]), '\ufffd'],
    ] as const) {
      const own: (Buffer | null)[] = [];
      expect(new SseParser({ maxEventBytes: 100 }).push(bytes, own).map((e) => e.data)).toEqual([data]);
      expect(own).toEqual([null]);
    }
  });

  it('hands over the bytes of every plain event whole, however the stream is cut', () => {
    const stream = 'data: 1\n\nevent: message\ndata: {"ü":"😀"}\n\n\n\ndata: 3\n\n';
    const expected = parseAll([enc(stream)]);
    for (const chunks of splits(enc(stream))) {
      const p = new SseParser({ maxEventBytes: 1 << 20 });
      const events: SseEvent[] = [];
      let relayed = '';
      for (const c of chunks) {
        const own: (Buffer | null)[] = [];
        const evs = p.push(c, own);
        expect(own).toHaveLength(evs.length);
        evs.forEach((e, i) => (relayed += own[i]?.toString() ?? formatSseEvent(e)));
        events.push(...evs);
      }
      expect(events).toEqual(expected);
      expect(parseAll([enc(relayed)])).toEqual(expected);
    }
  });
});
