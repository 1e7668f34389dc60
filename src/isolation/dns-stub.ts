import { createSocket, type Socket } from 'node:dgram';

/**
 * The sandbox's only resolver. Every A query is answered with a synthetic address from
 * 198.18.0.0/15 (RFC 2544 benchmarking space, never routed) that leads only to the capture
 * relay, which maps it back to the name; nothing is ever asked of a real resolver.
 */
export class SyntheticNames {
  private readonly byName = new Map<string, string>();
  private readonly byAddress = new Map<string, string>();
  private next = 1;

  addressFor(name: string): string | undefined {
    const key = name.toLowerCase().replace(/\.$/, '');
    const known = this.byName.get(key);
    if (known) return known;
    if (this.next >= 0x20000 - 1) return undefined; // the /15 is exhausted
    const n = this.next++;
    const addr = `198.${18 + (n >> 16)}.${(n >> 8) & 0xff}.${n & 0xff}`;
    this.byName.set(key, addr);
    this.byAddress.set(addr, key);
    return addr;
  }

  nameFor(address: string): string | undefined {
    return this.byAddress.get(address.replace(/^::ffff:/, ''));
  }
}

const TYPE_A = 1;
const CLASS_IN = 1;
const RCODE_FORMERR = 1;
const RCODE_SERVFAIL = 2;

interface Question {
  name: string;
  type: number;
  cls: number;
  /** Byte offset just past the question section. */
  end: number;
}

function readQuestion(msg: Buffer): Question | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let p = 12;
  while (p < msg.length) {
    const len = msg[p]!;
    if (len === 0) break;
    if (len > 63 || p + 1 + len > msg.length) return undefined; // no compression in a question
    labels.push(msg.subarray(p + 1, p + 1 + len).toString('latin1'));
    p += 1 + len;
  }
  if (p + 5 > msg.length) return undefined;
  return { name: labels.join('.'), type: msg.readUInt16BE(p + 1), cls: msg.readUInt16BE(p + 3), end: p + 5 };
}

/** The answer to one DNS query message, or undefined when it is not worth answering. */
export function answerQuery(msg: Buffer, names: SyntheticNames): Buffer | undefined {
  if (msg.length < 12 || (msg[2]! & 0x80) !== 0) return undefined; // not a query
  const q = readQuestion(msg);
  const header = Buffer.from(msg.subarray(0, 12));
  header[2] = 0x80 | (msg[2]! & 0x01); // QR, keep RD
  header[3] = 0x80; // RA
  header.writeUInt16BE(0, 6);
  header.writeUInt16BE(0, 8);
  header.writeUInt16BE(0, 10);
  if (!q) {
    header[3] = 0x80 | RCODE_FORMERR;
    header.writeUInt16BE(0, 4);
    return header;
  }
  const question = msg.subarray(12, q.end);
  if (q.type !== TYPE_A || q.cls !== CLASS_IN) return Buffer.concat([header, question]); // NOERROR, no data
  const addr = names.addressFor(q.name);
  if (!addr) {
    header[3] = 0x80 | RCODE_SERVFAIL;
    return Buffer.concat([header, question]);
  }
  header.writeUInt16BE(1, 6);
  const rr = Buffer.alloc(16);
  rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
  rr.writeUInt16BE(TYPE_A, 2);
  rr.writeUInt16BE(CLASS_IN, 4);
  rr.writeUInt32BE(60, 6); // TTL
  rr.writeUInt16BE(4, 10);
  addr.split('.').forEach((o, i) => (rr[12 + i] = Number(o)));
  return Buffer.concat([header, question, rr]);
}

/** UDP port 53 on every address: with every IPv4 address local, any nameserver lands here. */
export function startDnsStub(names: SyntheticNames): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.on('message', (msg, rinfo) => {
      const reply = answerQuery(msg, names);
      if (reply) sock.send(reply, rinfo.port, rinfo.address);
    });
    sock.once('error', reject);
    sock.bind(53, '0.0.0.0', () => {
      sock.off('error', reject);
      sock.on('error', () => undefined);
      resolve(sock);
    });
  });
}
