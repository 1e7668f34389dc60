import type { Readable } from 'node:stream';

export type BoundedBody =
  | { ok: true; body: Buffer }
  | { ok: false; tooLarge: true; received: number }
  | { ok: false; tooLarge: false; error: string };

/** Past the limit the rest is read and discarded (so the client can read our answer), up to this. */
export const DRAIN_CAP = 64 * 1024 * 1024;

/**
 * Read a whole stream, keeping at most `limit` bytes. An over-limit body is drained without
 * buffering (bounded by DRAIN_CAP, then the stream is destroyed) before resolving `tooLarge`.
 */
export function readBounded(stream: Readable, limit: number, declaredLength?: string): Promise<BoundedBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = declaredLength !== undefined && Number(declaredLength) > limit;
    let done = false;
    const finish = (r: BoundedBody) => {
      if (done) return;
      done = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      resolve(r);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (!over && size > limit) {
        over = true;
        chunks.length = 0;
      }
      if (over) {
        if (size > DRAIN_CAP) {
          stream.destroy();
          finish({ ok: false, tooLarge: true, received: size });
        }
        return;
      }
      chunks.push(c);
    };
    const onEnd = () =>
      finish(
        over
          ? { ok: false, tooLarge: true, received: size }
          : { ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) },
      );
    const onError = (e: Error) => finish({ ok: false, tooLarge: false, error: e.message });
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}
