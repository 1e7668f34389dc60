import { describe, expect, it } from 'vitest';
import { answerQuery, SyntheticNames } from '../../src/isolation/dns-stub.js';

function query(name: string, type: number, id = 0x4242): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, type, 0, 1])]);
}

describe('DNS stub: every name gets a synthetic address that leads back to it', () => {
  it('answers A with a stable address from 198.18.0.0/15 and remembers the name', () => {
    const names = new SyntheticNames();
    const a = answerQuery(query('API.example.com', 1), names)!;
    expect(a.readUInt16BE(0)).toBe(0x4242);
    expect(a[2]! & 0x80).toBe(0x80); // a response
    expect(a[3]! & 0x0f).toBe(0); // NOERROR
    expect(a.readUInt16BE(6)).toBe(1); // one answer
    const addr = [...a.subarray(-4)].join('.');
    expect(addr).toMatch(/^198\.1[89]\./);
    expect(names.nameFor(addr)).toBe('api.example.com');
    expect(names.nameFor(`::ffff:${addr}`)).toBe('api.example.com');
    expect(names.addressFor('api.example.com.')).toBe(addr);
  });

  it('answers AAAA and other types with no data (so clients fall back to IPv4)', () => {
    const a = answerQuery(query('example.com', 28), new SyntheticNames())!;
    expect(a[3]! & 0x0f).toBe(0);
    expect(a.readUInt16BE(6)).toBe(0);
  });

  it('answers garbage with FORMERR and ignores responses', () => {
    const bad = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 200]);
    expect(answerQuery(bad, new SyntheticNames())![3]! & 0x0f).toBe(1);
    const response = query('example.com', 1);
    response[2] = 0x81;
    expect(answerQuery(response, new SyntheticNames())).toBeUndefined();
  });
});
