/**
 * A vault value the WebSocket server sends to the agent must be seen by the
 * frame guard however the server splits it across frames (RFC 6455 lets control frames sit
 * between the fragments of a message, and a message may have any number of fragments).
 * The guard is wired exactly as src/pipeline/upgrade-gate.ts wires `inspectServer`.
 */
import { describe, expect, it } from 'vitest';
import { frameGuard, type FrameVerdict } from '../../src/proxy/ws-frames.js';
import { createRedactor } from '../../src/safety/redact.js';

/** An unmasked server frame with a 7- or 16-bit length. */
function serverFrame(payload: string | Buffer, first: number): Buffer {
  const data = Buffer.from(payload);
  const len =
    data.length < 126 ? Buffer.from([data.length]) : Buffer.from([126, data.length >> 8, data.length & 255]);
  return Buffer.concat([Buffer.from([first]), len, data]);
}
const TEXT_NOT_FIN = 0x01;
const CONT_NOT_FIN = 0x00;
const CONT_FIN = 0x80;
const PING = 0x89;

function guardFor(secret: string) {
  const scan = createRedactor({ vaultValues: new Map([['api-key', secret]]), vault: true, secrets: false });
  const refused: FrameVerdict[] = [];
  const out: Buffer[] = [];
  const g = frameGuard(
    (b) =>
      scan.scan(b.toString('latin1')).length ? 'gov: WebSocket frame blocked: it holds a vault value' : null,
    (v) => refused.push(v),
    scan.maxLiteralLength,
  );
  g.on('data', (d: Buffer) => out.push(d));
  return { g, refused, out };
}

/** What a WebSocket client reassembles from the forwarded bytes: the data frames' payloads. */
function reassembled(bytes: Buffer): string {
  let at = 0;
  let text = '';
  while (at + 2 <= bytes.length) {
    const op = bytes[at]! & 0x0f;
    let len = bytes[at + 1]! & 0x7f;
    let p = at + 2;
    if (len === 126) {
      len = bytes.readUInt16BE(at + 2);
      p = at + 4;
    }
    if (op < 8) text += bytes.subarray(p, p + len).toString('latin1');
    at = p + len;
  }
  return text;
}

describe('WebSocket server frames: a vault value split across frames', () => {
  it('is caught when a ping sits between the two fragments that carry it', () => {
    const secret = 'sk-live-0123456789abcdefghijklmnop';
    const { g, refused, out } = guardFor(secret);
    g.write(
      Buffer.concat([
        serverFrame('token=' + secret.slice(0, 16), TEXT_NOT_FIN),
        serverFrame('x', PING),
        serverFrame(secret.slice(16), CONT_FIN),
      ]),
    );
    // The ping's payload used to join the carried tail, so the fragments were never seen together.
    expect(reassembled(Buffer.concat(out))).not.toContain(secret);
    expect(refused.length).toBe(1);
  });

  it('is caught when a value longer than 1 KiB (a PEM key) comes in three fragments', () => {
    const secret = 'K'.repeat(10) + 'abcdefghij'.repeat(300); // 3,010 bytes
    const { g, refused, out } = guardFor(secret);
    const third = Math.ceil(secret.length / 3);
    g.write(
      Buffer.concat([
        serverFrame(secret.slice(0, third), TEXT_NOT_FIN),
        serverFrame(secret.slice(third, 2 * third), CONT_NOT_FIN),
        serverFrame(secret.slice(2 * third), CONT_FIN),
      ]),
    );
    expect(reassembled(Buffer.concat(out))).not.toContain(secret);
    expect(refused.length).toBe(1);
  });
});
