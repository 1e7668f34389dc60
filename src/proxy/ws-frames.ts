import { Transform, type TransformCallback } from 'node:stream';

/** Largest client frame gov buffers to look into; a larger one closes the tunnel (1009). */
export const MAX_SCANNED_FRAME = 16 * 1024 * 1024;
/**
 * Bytes of earlier data payloads scanned again with the next one, so a value split across
 * frames is whole: at least this much, more when the longest text looked for is longer.
 */
const CARRY = 1024;

export interface FrameVerdict {
  /** WebSocket close code sent to the client. */
  code: number;
  reason: string;
}

/**
 * One half of a raw WebSocket tunnel, frame by frame (RFC 6455 §5.2): each frame is held
 * until it is complete, its payload unmasked (client frames are masked, server frames not)
 * and shown to `inspect` (a data frame with the tail of the data frames before it, at least
 * `longest` bytes of it), and only then forwarded. Frames gov cannot read — compressed
 * (RSV bits; the handshake offers no extension) or over MAX_SCANNED_FRAME — end the tunnel,
 * as does anything `inspect` refuses: the frames before it are forwarded, the stream ends
 * (so the upstream gets a FIN), and `onRefused` is told once.
 */
export function frameGuard(
  inspect: (bytes: Buffer) => string | null,
  onRefused: (v: FrameVerdict) => void,
  longest = 0,
): Transform {
  const carried = Math.max(CARRY, longest);
  let pending: Buffer = Buffer.alloc(0);
  let carry: Buffer = Buffer.alloc(0);
  let refused: FrameVerdict | null = null;
  /** One whole frame at the start of `b`: its length, or null when more bytes are needed. */
  const frameAt = (
    b: Buffer,
  ): { length: number; payload: Buffer; control: boolean } | null | FrameVerdict => {
    if (b.length < 2) return null;
    if ((b[0]! & 0x70) !== 0)
      return { code: 1003, reason: 'gov: compressed WebSocket frames cannot be inspected' };
    const masked = (b[1]! & 0x80) !== 0;
    let len = b[1]! & 0x7f;
    let at = 2;
    if (len === 126) {
      if (b.length < 4) return null;
      len = b.readUInt16BE(2);
      at = 4;
    } else if (len === 127) {
      if (b.length < 10) return null;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(MAX_SCANNED_FRAME))
        return { code: 1009, reason: 'gov: WebSocket frame too large to inspect' };
      len = Number(big);
      at = 10;
    }
    if (len > MAX_SCANNED_FRAME) return { code: 1009, reason: 'gov: WebSocket frame too large to inspect' };
    const key = masked ? at : -1;
    if (masked) at += 4;
    if (b.length < at + len) return null;
    const payload = Buffer.from(b.subarray(at, at + len));
    if (key >= 0) for (let i = 0; i < payload.length; i++) payload[i]! ^= b[key + (i & 3)]!;
    return { length: at + len, payload, control: (b[0]! & 0x08) !== 0 };
  };

  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      if (refused) return done();
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      const out: Buffer[] = [];
      for (;;) {
        const f = frameAt(pending);
        if (f === null) break;
        if ('code' in f) {
          refused = f;
          break;
        }
        // A control frame (ping, pong, close) may sit between a message's fragments: it is
        // seen on its own, and the fragments around it are seen together.
        const seen = f.control ? f.payload : Buffer.concat([carry, f.payload]);
        const why = inspect(seen);
        if (why !== null) {
          refused = { code: 1008, reason: why };
          break;
        }
        if (!f.control) carry = seen.subarray(Math.max(0, seen.length - carried));
        out.push(pending.subarray(0, f.length));
        pending = pending.subarray(f.length);
      }
      if (out.length) this.push(Buffer.concat(out));
      if (refused) {
        // The frames before the refused one go on; then the upstream half ends.
        pending = Buffer.alloc(0);
        this.push(null);
        onRefused(refused);
      }
      done();
    },
  });
}

/** A close frame from the server side (unmasked) with a code and a reason (trimmed to fit). */
export function closeFrame(v: FrameVerdict): Buffer {
  const reason = Buffer.from(v.reason).subarray(0, 123);
  const payload = Buffer.alloc(2 + reason.length);
  payload.writeUInt16BE(v.code, 0);
  reason.copy(payload, 2);
  return Buffer.concat([Buffer.from([0x88, payload.length]), payload]);
}
