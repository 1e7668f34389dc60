import { describe, expect, it } from 'vitest';
import { redactTextBlobs } from '../../src/mcp/blob-redaction.js';
import type { JsonValue } from '../../src/types.js';

const SECRET = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
const redactString = (s: string): { text: string; counts: Record<string, number> } =>
  s.includes(SECRET)
    ? {
        text: s.split(SECRET).join('[REDACTED:github-token]'),
        counts: { 'github-token': s.split(SECRET).length - 1 },
      }
    : { text: s, counts: {} };
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

describe('redactTextBlobs', () => {
  it('redacts a text blob of a resource and re-encodes it; counts what it redacted', () => {
    const contents: JsonValue = { contents: [{ uri: 'file:///.env', blob: b64(`TOKEN=${SECRET}\n`) }] };
    const r = redactTextBlobs(contents, redactString);
    const blob = (r.value as { contents: Array<{ blob: string }> }).contents[0]!.blob;
    expect(Buffer.from(blob, 'base64').toString()).toBe('TOKEN=[REDACTED:github-token]\n');
    expect(r.counts).toEqual({ 'github-token': 1 });
  });

  it('leaves binary blobs, clean blobs, and `blob` keys outside resource contents as they are', () => {
    const binary = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), Buffer.from(SECRET)]);
    const value: JsonValue = {
      a: { uri: 'file:///x.bin', blob: b64(binary) },
      b: { uri: 'file:///ok.txt', blob: b64('nothing here') },
      c: { blob: b64(SECRET) },
    };
    const r = redactTextBlobs(value, redactString);
    expect(r.value).toBe(value);
    expect(r.counts).toEqual({});
  });

  it('keeps a __proto__ key a key', () => {
    const value = JSON.parse(
      `{"__proto__": {"x": 1}, "r": {"uri": "u", "blob": "${b64(SECRET)}"}}`,
    ) as JsonValue;
    const r = redactTextBlobs(value, redactString);
    expect(Object.keys(r.value as object)).toEqual(['__proto__', 'r']);
  });
});
