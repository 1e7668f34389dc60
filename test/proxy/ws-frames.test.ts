import { describe, expect, it } from 'vitest';
import { frameGuard, closeFrame, type FrameVerdict } from '../../src/proxy/ws-frames.js';

/** A masked client frame (RFC 6455 §5.2) with a 7- or 16-bit length. */
function clientFrame(payload: string, first = 0x81): Buffer {
  const data = Buffer.from(payload);
  const mask = Buffer.from([1, 2, 3, 4]);
  const len =
    data.length < 126
      ? Buffer.from([0x80 | data.length])
      : Buffer.from([0x80 | 126, data.length >> 8, data.length & 255]);
  return Buffer.concat([Buffer.from([first]), len, mask, data.map((b, i) => b ^ mask[i & 3]!)]);
}

function run(chunks: Buffer[], inspect: (b: Buffer) => string | null = () => null) {
  const refused: FrameVerdict[] = [];
  const out: Buffer[] = [];
  const guard = frameGuard(inspect, (v) => refused.push(v));
  guard.on('data', (d: Buffer) => out.push(d));
  for (const c of chunks) guard.write(c);
  return { refused, out: Buffer.concat(out) };
}

describe('frameGuard', () => {
  it('forwards frames whole, however the bytes are split, after showing each payload unmasked', () => {
    const a = clientFrame('hello');
    const b = clientFrame('x'.repeat(300));
    const bytes = Buffer.concat([a, b]);
    const seen: string[] = [];
    const r = run(
      [...bytes].map((x) => Buffer.from([x])),
      (p) => (seen.push(p.toString()), null),
    );
    expect(r.out.equals(bytes)).toBe(true);
    expect(seen[0]).toBe('hello');
    expect(seen[1]).toBe('hello' + 'x'.repeat(300));
    expect(r.refused).toEqual([]);
  });

  it('stops at the refused frame: the ones before it pass, nothing after', () => {
    const r = run([Buffer.concat([clientFrame('ok'), clientFrame('bad'), clientFrame('later')])], (p) =>
      p.toString().endsWith('bad') ? 'no' : null,
    );
    expect(r.out.equals(clientFrame('ok'))).toBe(true);
    expect(r.refused).toEqual([{ code: 1008, reason: 'no' }]);
  });

  it('refuses compressed frames and frames too large to look into', () => {
    expect(run([clientFrame('z', 0xc1)]).refused[0]!.code).toBe(1003);
    const huge = Buffer.from([0x82, 0x80 | 127, 0, 0, 0, 0, 0x10, 0, 0, 0]);
    expect(run([huge]).refused[0]!.code).toBe(1009);
  });

  it('builds a close frame with the code and a reason cut to fit', () => {
    const f = closeFrame({ code: 1008, reason: 'r'.repeat(300) });
    expect(f[0]).toBe(0x88);
    expect(f[1]).toBe(125);
    expect(f.readUInt16BE(2)).toBe(1008);
  });
});
