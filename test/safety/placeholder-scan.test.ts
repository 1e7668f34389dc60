import { describe, expect, it } from 'vitest';
import { createPlaceholderScanner, encodedCores } from '../../src/safety/placeholder-scan.js';

const PH = 'gov-ph-api-token-0123456789abcdef01234567';
const OTHER = 'gov-ph-other-fedcba9876543210fedcba98';
const scanner = createPlaceholderScanner(
  new Map([
    ['api-token', PH],
    ['other', OTHER],
  ]),
);
const found = (text: string) => [...scanner.scan(text)];
const b32 = (buf: Buffer): string => {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const b of buf) bits += b.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += A[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return out + '='.repeat((8 - (out.length % 8)) % 8);
};

describe('placeholder scanner', () => {
  it('finds the placeholder raw, in any case, and its token alone', () => {
    expect(found(`x ${PH} y`)).toEqual(['api-token']);
    expect(found(PH.toUpperCase())).toEqual(['api-token']);
    expect(found('0123456789abcdef01234567')).toEqual(['api-token']);
    expect(found(`${PH} ${OTHER}`).sort()).toEqual(['api-token', 'other']);
  });

  it('finds percent-, JSON-, \\x- and entity-escaped forms', () => {
    const pct = [...PH].map((c) => '%' + c.charCodeAt(0).toString(16)).join('');
    expect(found(`/x?t=${pct}`)).toEqual(['api-token']);
    expect(found([...PH].map((c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')).join(''))).toEqual(
      ['api-token'],
    );
    expect(found([...PH].map((c) => '&#' + c.charCodeAt(0) + ';').join(''))).toEqual(['api-token']);
  });

  it('finds quoted-printable forms (soft line breaks, =HH escapes), as in a MIME part', () => {
    expect(
      found(
        `--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${PH.slice(0, 25)}=\r\n${PH.slice(25)}`,
      ),
    ).toEqual(['api-token']);
    expect(found(PH.replace(/[0-9]/g, (d) => `=3${d}`))).toEqual(['api-token']);
    expect(found('a=12&b=34&c=0123456789abcdef0123')).toEqual([]);
  });

  it('finds hex in either case, with or without separators, of UTF-8 and UTF-16', () => {
    const hex = Buffer.from(PH).toString('hex');
    expect(found(hex)).toEqual(['api-token']);
    expect(found(hex.toUpperCase())).toEqual(['api-token']);
    expect(found(hex.match(/../g)!.join(' '))).toEqual(['api-token']);
    expect(
      found(
        hex
          .match(/../g)!
          .map((h) => '\\x' + h)
          .join(''),
      ),
    ).toEqual(['api-token']);
    expect(
      found(
        hex
          .match(/../g)!
          .map((h) => '0x' + h)
          .join(','),
      ),
    ).toEqual(['api-token']);
    expect(found(Buffer.from(PH, 'utf16le').toString('hex'))).toEqual(['api-token']);
    expect(found(Buffer.from(PH, 'utf16le').swap16().toString('hex').toUpperCase())).toEqual(['api-token']);
  });

  it('finds base64 and base64url at every alignment, wrapped, and of upper-cased or UTF-16 text', () => {
    for (const pre of ['', 'a', 'ab', 'abc']) {
      for (const text of [PH, PH.toUpperCase()]) {
        const bytes = Buffer.from(`${pre}${text};tail`);
        expect(found(bytes.toString('base64')), pre).toEqual(['api-token']);
        expect(found(bytes.toString('base64url')), pre).toEqual(['api-token']);
        expect(found(bytes.toString('base64').replace(/(.{10})/g, '$1\r\n')), pre).toEqual(['api-token']);
        expect(found(JSON.stringify(bytes.toString('base64').replace(/(.{7})/g, '$1\n'))), pre).toEqual([
          'api-token',
        ]);
      }
      expect(found(Buffer.from(pre + PH, 'utf16le').toString('base64'))).toEqual(['api-token']);
      expect(
        found(
          Buffer.from(pre + PH, 'utf16le')
            .swap16()
            .toString('base64'),
        ),
      ).toEqual(['api-token']);
    }
  });

  it('finds base32 at every alignment, in either case, padded or not', () => {
    for (const pre of ['', 'a', 'ab', 'abc', 'abcd']) {
      const enc = b32(Buffer.from(`${pre}${PH}!`));
      expect(found(enc), pre).toEqual(['api-token']);
      expect(found(enc.toLowerCase().replace(/=/g, '')), pre).toEqual(['api-token']);
      expect(found(b32(Buffer.from(`${pre}${PH.toUpperCase()}`))), pre).toEqual(['api-token']);
      expect(found(b32(Buffer.from(pre + PH, 'utf16le'))), pre).toEqual(['api-token']);
    }
  });

  it('finds UTF-16 text (LE and BE) as decoded from raw bytes', () => {
    expect(found(Buffer.from(`{"t":"${PH}"}`, 'utf16le').toString('utf8'))).toEqual(['api-token']);
    expect(found(Buffer.from(`{"t":"${PH}"}`, 'utf16le').swap16().toString('utf8'))).toEqual(['api-token']);
  });

  it('passes ordinary traffic and near misses', () => {
    expect(found('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}')).toEqual([]);
    expect(found('gov-ph-api-token-0123456789abcdef0123456')).toEqual([]); // one digit short
    expect(found(Buffer.from('x'.repeat(4096)).toString('base64'))).toEqual([]);
    expect(found('')).toEqual([]);
  });

  it('encodedCores agree with Buffer encodings at every alignment', () => {
    const bytes = Buffer.from('0123456789abcdef01234567');
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const cores = encodedCores(bytes, B64);
    expect(cores).toHaveLength(3);
    for (const pre of ['', '1', '12']) {
      const enc = Buffer.concat([Buffer.from(pre), bytes]).toString('base64');
      expect(cores.some((c) => enc.includes(c))).toBe(true);
    }
    expect(encodedCores(bytes, '0123456789abcdef')).toEqual([bytes.toString('hex')]);
  });
});
