import { connect, createServer, type Server, type Socket } from 'node:net';
import { MAX_SNIFF_BYTES, sniff } from './sniff.js';
import type { SyntheticNames } from './dns-stub.js';

export interface RelayOptions {
  /** gov's proxy, reached through a filesystem socket (those cross network namespaces). */
  proxySocket: string;
  /** The loopback port named in the child's proxy variables (gov's proxy listens there itself). */
  proxyPort: number;
  /** `gov:<token>`, for the CONNECTs the relay sends on behalf of captured connections. */
  proxyAuth: string;
  /** TCP ports whose every connection, to any address, is captured and governed. */
  capturePorts: number[];
  names: SyntheticNames;
}

function listen(server: Server, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

const SILENT_CLIENT_MS = 3000;

function formatAuthority(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A captured connection: read its first bytes to learn the name it meant (TLS SNI, HTTP Host,
 * else the DNS stub's record of the synthetic address, else the address itself), then ask gov's
 * proxy for `CONNECT name:port` and hand the bytes over, so it is governed like proxied traffic.
 */
function capture(client: Socket, o: RelayOptions): void {
  client.setNoDelay(true);
  client.on('error', () => client.destroy());
  const address = (client.localAddress ?? '').replace(/^::ffff:/, '');
  const port = client.localPort ?? 0;
  let buffered = Buffer.alloc(0);
  // A client that waits for the server to speak first is named by its address.
  const silent = setTimeout(() => onData(Buffer.alloc(0), true), SILENT_CLIENT_MS);
  const onData = (d: Buffer, giveUp = false) => {
    buffered = Buffer.concat([buffered, d]);
    const s = sniff(buffered);
    if (!giveUp && s.kind === 'need-more' && buffered.length < MAX_SNIFF_BYTES) return;
    clearTimeout(silent);
    client.off('data', onData);
    client.pause();
    let name: string | undefined;
    if (s.kind === 'tls') name = s.serverName;
    else if (s.kind === 'http' && s.host) name = s.host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    name ??= o.names.nameFor(address) ?? address;
    forward(client, buffered, formatAuthority(name, port), o);
  };
  client.on('data', onData);
  client.once('close', () => clearTimeout(silent));
}

function forward(client: Socket, head: Buffer, authority: string, o: RelayOptions): void {
  const up = connect(o.proxySocket);
  const auth = Buffer.from(o.proxyAuth).toString('base64');
  up.write(
    `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nProxy-Authorization: Basic ${auth}\r\n\r\n`,
  );
  let reply = Buffer.alloc(0);
  const onReply = (d: Buffer) => {
    reply = Buffer.concat([reply, d]);
    const end = reply.indexOf('\r\n\r\n');
    if (end < 0) {
      if (reply.length > 8192) up.destroy();
      return;
    }
    up.off('data', onReply);
    if (!/^HTTP\/1\.[01] 200 /.test(reply.toString('latin1', 0, end))) {
      client.resetAndDestroy();
      up.destroy();
      return;
    }
    const rest = reply.subarray(end + 4);
    if (rest.length) client.write(rest);
    up.write(head);
    splice(client, up);
    client.resume();
  };
  up.on('data', onReply);
  up.on('error', () => client.resetAndDestroy());
  client.on('close', () => up.destroy());
}

/** Every listener of the sandbox's relay; a port that cannot be bound fails the setup. */
export async function startRelay(o: RelayOptions): Promise<Server[]> {
  const servers: Server[] = [];
  for (const port of o.capturePorts) {
    if (port === o.proxyPort) continue;
    servers.push(
      await listen(
        createServer((c) => capture(c, o)),
        port,
        '0.0.0.0',
      ),
    );
  }
  return servers;
}
