import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../../src/safety/redact.js';
import { scrubbingStream, scrubHeaders } from '../../../src/transport/http/vault-scrub.js';

const SECRET = 'sk-scrub-test-value-9Zq4Lm';
const scan = createRedactor({ vaultValues: new Map([['k', SECRET]]), vault: true, secrets: false });

async function through(chunks: Buffer[]): Promise<Buffer> {
  const s = scrubbingStream(scan);
  const out: Buffer[] = [];
  s.on('data', (d: Buffer) => out.push(d));
  const done = new Promise((r) => s.on('end', r));
  for (const c of chunks) s.write(c);
  s.end();
  await done;
  return Buffer.concat(out);
}

describe('scrubbingStream', () => {
  const text = Buffer.concat([
    Buffer.from(`a ${SECRET} b ${encodeURIComponent(SECRET)} `),
    Buffer.from([0, 255, 128, 10]),
    Buffer.from(` ${Buffer.from(SECRET).toString('base64')} end ${SECRET}`),
  ]);
  const whole = Buffer.from(scan.redactString(text.toString('latin1')).text, 'latin1');

  it('gives the same bytes as redacting the whole body, however it is chunked', async () => {
    expect(whole.toString('latin1')).not.toContain(SECRET);
    for (const size of [1, 2, 3, 7, 25, 26, 27, 64, text.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.subarray(i, i + size));
      expect((await through(chunks)).equals(whole), `chunks of ${size}`).toBe(true);
    }
  });

  it('passes bytes that hold no value unchanged', async () => {
    const bin = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37) & 255));
    expect((await through([bin.subarray(0, 1000), bin.subarray(1000)])).equals(bin)).toBe(true);
  });

  it('redacts header values, repeated ones too', () => {
    const h = scrubHeaders({ location: `/x?t=${SECRET}`, 'set-cookie': ['a=1', `b=${SECRET}`] }, scan);
    expect(h).toEqual({ location: '/x?t=[REDACTED:vault]', 'set-cookie': ['a=1', 'b=[REDACTED:vault]'] });
  });

  it('drops a header whose name holds a value (a marker is no header name)', () => {
    const h = scrubHeaders({ [`x-seen-${SECRET}`]: '1', 'x-ok': '2' }, scan);
    expect(h).toEqual({ 'x-ok': '2' });
  });
});
