/**
 * Naming a captured connection from its first bytes (pure, no I/O): the SNI of a TLS
 * ClientHello, or the Host header of a plain HTTP request. `need-more` asks the caller to
 * read on; the caller bounds how much it buffers (MAX_SNIFF_BYTES).
 */
export const MAX_SNIFF_BYTES = 16 * 1024 + 5;

export type Sniffed =
  | { kind: 'tls'; serverName: string | undefined }
  | { kind: 'http'; host: string | undefined }
  | { kind: 'need-more' }
  | { kind: 'unknown' };

export function sniff(buf: Buffer): Sniffed {
  if (buf.length === 0) return { kind: 'need-more' };
  if (buf[0] === 0x16) return sniffTls(buf);
  return sniffHttp(buf);
}

function sniffHttp(buf: Buffer): Sniffed {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return buf.length >= MAX_SNIFF_BYTES ? { kind: 'unknown' } : { kind: 'need-more' };
  const head = buf.subarray(0, end).toString('latin1');
  if (!/^[A-Z]+ \S+ HTTP\/1\.[01]\r?$/.test(head.split('\n')[0] ?? '')) return { kind: 'unknown' };
  const m = /\r\nhost:[ \t]*([^\r\n]*)/i.exec(head);
  const host = m?.[1]?.trim();
  return { kind: 'http', host: host ? host : undefined };
}

/** TLS record → handshake → ClientHello → extensions → server_name (RFC 8446 §4.1.2, RFC 6066 §3). */
function sniffTls(buf: Buffer): Sniffed {
  if (buf.length < 5) return { kind: 'need-more' };
  const recordLen = buf.readUInt16BE(3);
  if (buf.length < 5 + recordLen) return { kind: 'need-more' };
  const hello = buf.subarray(5, 5 + recordLen);
  try {
    if (hello[0] !== 0x01) return { kind: 'unknown' };
    let p = 4 + 2 + 32; // handshake header, legacy_version, random
    p += 1 + hello[p]!; // session id
    p += 2 + hello.readUInt16BE(p); // cipher suites
    p += 1 + hello[p]!; // compression methods
    if (p + 2 > hello.length) return { kind: 'tls', serverName: undefined };
    const extEnd = Math.min(hello.length, p + 2 + hello.readUInt16BE(p));
    p += 2;
    while (p + 4 <= extEnd) {
      const type = hello.readUInt16BE(p);
      const len = hello.readUInt16BE(p + 2);
      p += 4;
      if (type === 0x0000) {
        // server_name_list: length(2), then entries of type(1) length(2) name.
        let q = p + 2;
        while (q + 3 <= p + len) {
          const nameType = hello[q]!;
          const nameLen = hello.readUInt16BE(q + 1);
          if (nameType === 0)
            return { kind: 'tls', serverName: hello.subarray(q + 3, q + 3 + nameLen).toString('ascii') };
          q += 3 + nameLen;
        }
      }
      p += len;
    }
    return { kind: 'tls', serverName: undefined };
  } catch {
    // A truncated or malformed hello: name it by address instead.
    return { kind: 'tls', serverName: undefined };
  }
}
