import type { Readable } from 'node:stream';

export type BoundedBody = { ok: true; body: Buffer } | { ok: false; tooLarge: true; received: number } | { ok: false; tooLarge: false; error: string };

/** Read a whole stream, giving up (without buffering more) once it exceeds `limit` bytes. */
export function readBounded(stream: Readable, limit: number, declaredLength?: string | undefined): Promise<BoundedBody> {
  if (declaredLength !== undefined && Number(declaredLength) > limit) {
    stream.resume();
    return Promise.resolve({ ok: false, tooLarge: true, received: Number(declaredLength) });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
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
      if (size > limit) {
        stream.resume();
        finish({ ok: false, tooLarge: true, received: size });
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => finish({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    const onError = (e: Error) => finish({ ok: false, tooLarge: false, error: e.message });
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}
