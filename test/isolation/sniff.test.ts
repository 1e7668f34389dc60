import { describe, expect, it } from 'vitest';
import { connect as tlsConnect } from 'node:tls';
import { createServer } from 'node:net';
import { sniff } from '../../src/isolation/sniff.js';

/** The first bytes a real Node TLS client sends for this servername. */
function clientHello(servername: string | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = createServer((s) => {
      s.once('data', (d: Buffer) => {
        resolve(d);
        s.destroy();
        server.close();
      });
    }).listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      const c = tlsConnect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}) });
      c.on('error', () => undefined);
      c.on('close', () => c.destroy());
    });
    server.on('error', reject);
  });
}

describe('sniff: naming a captured connection from its first bytes', () => {
  it('reads the SNI of a real ClientHello, and asks for more when it is cut short', async () => {
    const hello = await clientHello('mcp.example.com');
    expect(sniff(hello)).toEqual({ kind: 'tls', serverName: 'mcp.example.com' });
    expect(sniff(hello.subarray(0, 40))).toEqual({ kind: 'need-more' });
  });

  it('reports a ClientHello without SNI (an IP literal) as unnamed TLS', async () => {
    expect(sniff(await clientHello(undefined))).toEqual({ kind: 'tls', serverName: undefined });
  });

  it('reads the Host header of plain HTTP once the head is complete', () => {
    const req =
      'POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nHost: api.example.com:8080\r\n\r\n{}';
    expect(sniff(Buffer.from(req))).toEqual({ kind: 'http', host: 'api.example.com:8080' });
    expect(sniff(Buffer.from('GET / HTTP/1.1\r\nHost: a'))).toEqual({ kind: 'need-more' });
    expect(sniff(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'))).toEqual({ kind: 'unknown' });
  });
});
