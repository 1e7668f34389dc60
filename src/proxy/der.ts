import { isIPv4 } from 'node:net';

/**
 * The few DER encodings a leaf certificate needs, written directly: minting a leaf for a
 * never-seen host is on that host's first request, and building it through the ASN.1 schema
 * objects cost 2–5 ms of CPU where these byte concatenations cost microseconds.
 */

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV: `tag`, the DER length, then the contents. */
export function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export const seq = (...items: Buffer[]): Buffer => tlv(0x30, ...items);
export const octets = (b: Buffer): Buffer => tlv(0x04, b);
export const bitString = (b: Buffer): Buffer => tlv(0x03, Buffer.from([0]), b);
export const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
export const TRUE = Buffer.from([0x01, 0x01, 0xff]);

/** A positive INTEGER from big-endian bytes whose top bit is clear. */
export const integer = (b: Buffer): Buffer => tlv(0x02, b);

export function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [a * 40 + b];
  for (const arc of rest) {
    const groups: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift(0x80 | (v & 0x7f));
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 §4.1.2.5). */
export function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(digits.slice(2), 'ascii'))
    : tlv(0x18, Buffer.from(digits, 'ascii'));
}

/** The 4 or 16 bytes of an IP literal (already validated by `isIP`). */
export function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  let text = ip;
  const tail: number[] = [];
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    tail.push(...v4[1].split('.').map(Number));
    text = text.slice(0, v4.index + 1) + '0:0';
  }
  const [head = '', rest] = text.split('::');
  const words = (s: string): number[] => (s === '' ? [] : s.split(':').map((w) => Number.parseInt(w, 16)));
  const left = words(head);
  const right = rest === undefined ? [] : words(rest);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  if (tail.length === 4) Buffer.from(tail).copy(out, 12);
  return out;
}

/**
 * Where the TLV at `at` has its contents, and where it ends; throws when it does not lie
 * inside `b` (the CA certificate is read back from disk).
 */
function element(b: Buffer, at: number): { start: number; end: number } {
  if (at + 2 > b.length) throw new Error('truncated DER');
  const first = b[at + 1]!;
  if (first < 0x80) return within(b, at + 2, at + 2 + first);
  const n = first & 0x7f;
  if (n > 4 || at + 2 + n > b.length) throw new Error('bad DER length');
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + b[at + 2 + i]!;
  return within(b, at + 2 + n, at + 2 + n + len);
}

function within(b: Buffer, start: number, end: number): { start: number; end: number } {
  if (end > b.length) throw new Error('truncated DER');
  return { start, end };
}

/** The subjectPublicKey bits of a SubjectPublicKeyInfo (after the BIT STRING's unused-bits byte). */
export function spkiKeyBits(spkiDer: Buffer): Buffer {
  const outer = element(spkiDer, 0);
  const algorithm = element(spkiDer, outer.start);
  const bits = element(spkiDer, algorithm.end);
  return spkiDer.subarray(bits.start + 1, bits.end);
}

/**
 * The subject Name and SubjectPublicKeyInfo of a certificate, as the DER bytes it carries:
 * TBSCertificate is version [0] (optional), serial, signature, issuer, validity, subject, SPKI.
 */
export function certificateSubject(certDer: Buffer): { subjectDer: Buffer; spkiDer: Buffer } {
  const cert = element(certDer, 0);
  const tbs = element(certDer, cert.start);
  let at = tbs.start;
  if (certDer[at] === 0xa0) at = element(certDer, at).end;
  for (let skip = 0; skip < 4; skip++) at = element(certDer, at).end; // serial … validity
  const subject = element(certDer, at);
  const spki = element(certDer, subject.end);
  return { subjectDer: certDer.subarray(at, subject.end), spkiDer: certDer.subarray(subject.end, spki.end) };
}
