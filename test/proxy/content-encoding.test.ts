import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { decodeContent, decodedStream } from '../../src/proxy/content-encoding.js';

const body = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"shell_exec"}}');
const LIMIT = 4 * 1024 * 1024;

describe('decodeContent', () => {
  it('passes identity bodies through', async () => {
    for (const ce of [undefined, '', 'identity', ' Identity '])
      expect(await decodeContent(body, ce, LIMIT)).toEqual({ ok: true, body });
  });

  it('decodes gzip, x-gzip, deflate (zlib and raw) and br, case-insensitively', async () => {
    const cases: [string, Buffer][] = [
      ['gzip', zlib.gzipSync(body)],
      ['X-GZIP', zlib.gzipSync(body)],
      ['deflate', zlib.deflateSync(body)],
      ['deflate', zlib.deflateRawSync(body)],
      ['br', zlib.brotliCompressSync(body)],
    ];
    for (const [ce, data] of cases) expect(await decodeContent(data, ce, LIMIT)).toEqual({ ok: true, body });
  });

  it('undoes stacked encodings in reverse order of application', async () => {
    const data = zlib.brotliCompressSync(zlib.gzipSync(body)); // gzip applied first, then br
    expect(await decodeContent(data, 'gzip, br', LIMIT)).toEqual({ ok: true, body });
    expect((await decodeContent(data, 'br, gzip', LIMIT)).ok).toBe(false);
    expect(await decodeContent(zlib.gzipSync(body), 'identity, gzip', LIMIT)).toEqual({ ok: true, body });
    // Sent as two headers (undici hands over an array): one list, in the same order.
    expect(await decodeContent(data, ['gzip', 'br'], LIMIT)).toEqual({ ok: true, body });
    expect((await decodeContent(data, ['br', 'gzip'], LIMIT)).ok).toBe(false);
    expect(typeof decodedStream(Readable.from([data]), ['gzip', 'br'])).not.toBe('string');
  });

  it('refuses unknown encodings with 415', async () => {
    for (const ce of ['compress', 'zstd', 'gzip, zstd', 'x-custom', 'gzip;q=1'])
      expect(await decodeContent(body, ce, LIMIT)).toMatchObject({ ok: false, status: 415 });
    expect(await decodeContent(body, 'gzip, gzip, gzip, gzip, gzip', LIMIT)).toMatchObject({
      ok: false,
      status: 415,
    });
  });

  it('refuses oversized bodies with 413, stopping a zip bomb early', async () => {
    expect(await decodeContent(Buffer.alloc(11), undefined, 10)).toMatchObject({ ok: false, status: 413 });
    const bomb = zlib.gzipSync(Buffer.alloc(32 * 1024 * 1024), { level: 1 }); // ~140 KB compressed
    expect(await decodeContent(bomb, 'gzip', 1024 * 1024)).toMatchObject({ ok: false, status: 413 });
    const brBomb = zlib.brotliCompressSync(Buffer.alloc(16 * 1024 * 1024), {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 },
    });
    expect(await decodeContent(brBomb, 'br', 1024 * 1024)).toMatchObject({ ok: false, status: 413 });
    // exactly at the limit is fine
    expect(await decodeContent(zlib.gzipSync(Buffer.alloc(1000)), 'gzip', 1000)).toMatchObject({ ok: true });
  });

  it('refuses corrupt or truncated data with 400', async () => {
    const gz = zlib.gzipSync(body);
    expect(await decodeContent(gz.subarray(0, gz.length - 10), 'gzip', LIMIT)).toMatchObject({
      ok: false,
      status: 400,
    });
    expect(await decodeContent(body, 'gzip', LIMIT)).toMatchObject({ ok: false, status: 400 });
    expect(await decodeContent(body, 'br', LIMIT)).toMatchObject({ ok: false, status: 400 });
  });
});

describe('decodedStream', () => {
  const read = async (s: Readable): Promise<Buffer> => {
    const out: Buffer[] = [];
    for await (const c of s) out.push(c as Buffer);
    return Buffer.concat(out);
  };

  it('undoes stacked codings as the body streams, and passes an unencoded body as it is', async () => {
    const text = Buffer.from('x'.repeat(10_000) + ' end');
    const body = zlib.gzipSync(zlib.brotliCompressSync(text));
    const s = decodedStream(Readable.from([body.subarray(0, 10), body.subarray(10)]), 'br, gzip');
    expect(typeof s).not.toBe('string');
    expect((await read(s as Readable)).equals(text)).toBe(true);
    const plain = Readable.from([text]);
    expect(decodedStream(plain, 'identity')).toBe(plain);
  });

  it('names a coding it cannot undo, and reports corrupt data as an error on the stream', async () => {
    expect(decodedStream(Readable.from([]), 'compress')).toBe('unsupported Content-Encoding "compress"');
    const bad = decodedStream(Readable.from([Buffer.from('not gzip')]), 'gzip') as Readable;
    await expect(read(bad)).rejects.toThrow();
  });
});
