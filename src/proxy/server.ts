import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import {
  connect as tlsConnect,
  createSecureContext,
  rootCertificates,
  TLSSocket,
  type SecureContext,
} from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { LeafCertCache } from './leaf-cert-cache.js';
import { GovError } from '../errors.js';
import { checkProxyAuth, parseAuthority, PROXY_AUTH_REQUIRED } from './proxy-auth.js';
import { defaultPort, originOf, type Target } from './upstream.js';

/** One intercepted request, handed to the pipeline. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  target: Target;
  /** Origin-form path with query (`/mcp?x=1`). */
  path: string;
  /** Absolute URL: `scheme://host[:port]/path?query`. */
  url: string;
}

export type ExchangeHandler = (ex: Exchange) => Promise<void>;

export interface ProxyLog {
  debug(msg: string): void;
  warn(msg: string): void;
}

export interface ProxyServerOptions {
  token: string;
  port?: number;
  leafCerts: LeafCertCache;
  handler: ExchangeHandler;
  /** Hosts tunnelled without decryption. */
  isPassthrough?: (host: string, port: number) => boolean;
  /** Extra CA files for upstream TLS (used for upgraded connections; requests use Upstream). */
  upstreamCa?: string[];
  log: ProxyLog;
  /** Told of every request refused here, before any policy (421, bad request target…). */
  onRefused?: (r: { status: number; reason: string; target: string }) => void;
}

export interface ProxyServer {
  port: number;
  url(token: string): string;
  close(): Promise<void>;
}

const targets = new WeakMap<Socket, Target>();

/** An MCP client (Streamable HTTP or SSE) gets a JSON-RPC error it can show; others plain text. */
function looksLikeMcp(req: IncomingMessage | undefined): boolean {
  if (!req) return false;
  return (
    req.headers['mcp-protocol-version'] !== undefined ||
    req.headers['mcp-session-id'] !== undefined ||
    String(req.headers['accept'] ?? '').includes('text/event-stream')
  );
}

function refuse(res: ServerResponse, status: number, message: string, req?: IncomingMessage): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const mcp = looksLikeMcp(req);
  const body = mcp
    ? JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32600, message } })
    : message.endsWith('\n')
      ? message
      : message + '\n';
  res.writeHead(status, {
    'content-type': mcp ? 'application/json' : 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** The Host header must name the CONNECT target (or the plain-HTTP URL's authority). */
function hostAgrees(hostHeader: string | undefined, t: Target): boolean {
  if (hostHeader === undefined) return true;
  const a = parseAuthority(hostHeader, defaultPort(t.scheme));
  return a !== null && a.host === t.host && a.port === t.port;
}

/**
 * The MITM proxy core. It authenticates, terminates TLS with minted leaves, enforces that
 * requests go where the CONNECT said, and hands every request to one handler. No policy here.
 */
export async function startProxy(opts: ProxyServerOptions): Promise<ProxyServer> {
  const { log } = opts;
  let upstreamTls: SecureContext | undefined;
  const upstreamContext = () =>
    (upstreamTls ??= createSecureContext({
      ca: [...rootCertificates, ...(opts.upstreamCa ?? []).map((f) => readFileSync(f, 'utf8'))],
    }));
  const sockets = new Set<Duplex>();
  const track = (s: Duplex): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };

  const dispatch = (req: IncomingMessage, res: ServerResponse, target: Target, path: string): void => {
    const ex: Exchange = { req, res, target, path, url: originOf(target) + path };
    opts.handler(ex).catch((err: unknown) => {
      log.warn(`handler failed for ${ex.url}: ${(err as Error)?.message ?? String(err)}`);
      refuse(res, 502, 'gov: internal error while handling the request');
    });
  };

  // Requests arriving inside a CONNECT tunnel (decrypted, or plain HTTP over CONNECT).
  const inner: Server = createServer({ keepAliveTimeout: 60_000, requestTimeout: 0 }, (req, res) => {
    const target = targets.get(req.socket);
    if (!target) return refuse(res, 500, 'gov: lost the tunnel target');
    if (!hostAgrees(req.headers.host, target)) {
      const reason = `gov: Host header '${String(req.headers.host)}' disagrees with the CONNECT target ${target.host}:${target.port}; refused`;
      opts.onRefused?.({ status: 421, reason, target: `${target.host}:${target.port}` });
      return refuse(res, 421, reason, req);
    }
    const path = req.url && req.url.startsWith('/') ? req.url : '/';
    dispatch(req, res, target, path);
  });
  inner.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = targets.get(req.socket);
    if (!target || !hostAgrees(req.headers.host, target)) return socket.destroy();
    tunnelUpgrade(req, socket, head, target, upstreamContext(), log);
  });
  inner.on('clientError', (_err, socket) => socket.destroy());

  const outer: Server = createServer({ keepAliveTimeout: 60_000, requestTimeout: 0 }, (req, res) => {
    if (!checkProxyAuth(req.headers['proxy-authorization'], opts.token)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="gov"', 'content-type': 'text/plain' });
      res.end('gov: proxy authentication required (use the proxy URL gov set)\n');
      return;
    }
    let u: URL;
    try {
      u = new URL(req.url ?? '');
    } catch {
      return refuse(res, 400, 'gov: this is a proxy; send absolute-form requests');
    }
    if (u.protocol !== 'http:')
      return refuse(res, 400, `gov: unsupported scheme ${u.protocol} on a plain proxy request`);
    const a = parseAuthority(u.host, 80);
    if (!a) return refuse(res, 400, 'gov: bad request target');
    const target: Target = { scheme: 'http', host: a.host, port: a.port };
    if (!hostAgrees(req.headers.host, target)) {
      const reason = `gov: Host header '${String(req.headers.host)}' disagrees with the request URL; refused`;
      opts.onRefused?.({ status: 421, reason, target: `${target.host}:${target.port}` });
      return refuse(res, 421, reason, req);
    }
    dispatch(req, res, target, u.pathname + u.search);
  });
  outer.on('connection', (s: Socket) => {
    s.setNoDelay(true);
    track(s);
  });
  outer.on('clientError', (_err, socket) => socket.destroy());

  outer.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (!checkProxyAuth(req.headers['proxy-authorization'], opts.token)) {
      socket.end(PROXY_AUTH_REQUIRED);
      return;
    }
    const a = parseAuthority(req.url ?? '', 443);
    if (!a) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (opts.isPassthrough?.(a.host, a.port)) {
      const up = netConnect({ host: a.host, port: a.port }, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length) up.write(head);
        up.pipe(socket);
        socket.pipe(up);
      });
      track(up);
      up.on('error', () => {
        if (!socket.destroyed) socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
      });
      socket.on('close', () => up.destroy());
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) socket.unshift(head);
    // Peek: a TLS ClientHello starts with 0x16; anything else is plain HTTP inside the tunnel.
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) return socket.destroy();
      socket.unshift(first);
      if (first[0] !== 0x16) {
        targets.set(socket, { scheme: 'http', host: a.host, port: a.port });
        inner.emit('connection', socket);
        return;
      }
      opts.leafCerts.contextFor(a.host).then(
        (secureContext) => {
          const tls = new TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
          tls.on('error', (err) => {
            log.debug(`TLS with client for ${a.host} failed: ${err.message}`);
            tls.destroy();
          });
          track(tls);
          targets.set(tls as unknown as Socket, { scheme: 'https', host: a.host, port: a.port });
          inner.emit('connection', tls);
        },
        (err: unknown) => {
          log.warn(`cannot mint a certificate for ${a.host}: ${(err as Error).message}`);
          socket.destroy();
        },
      );
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE' || err.code === 'EACCES'
          ? new GovError('proxy', `cannot listen on 127.0.0.1:${opts.port ?? 0} (${err.code})`, {
              hint: 'choose another --port, or omit it for a random free port',
            })
          : err,
      );
    outer.once('error', onError);
    outer.listen(opts.port ?? 0, '127.0.0.1', () => {
      outer.off('error', onError);
      resolve();
    });
  });
  const addr = outer.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  return {
    port,
    url: (token: string) => `http://gov:${token}@127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        outer.close(() => resolve());
        inner.close();
        for (const s of sockets) s.destroy();
        outer.closeAllConnections();
      }),
  };
}

/** WebSocket and other upgrades inside an intercepted tunnel: verified TLS to the target, then raw bytes. */
function tunnelUpgrade(
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  t: Target,
  secureContext: SecureContext,
  log: ProxyLog,
): void {
  const up =
    t.scheme === 'https'
      ? tlsConnect({
          host: t.host,
          port: t.port,
          secureContext,
          ...(isIP(t.host) ? {} : { servername: t.host }),
        })
      : netConnect({ host: t.host, port: t.port });
  up.once(t.scheme === 'https' ? 'secureConnect' : 'connect', () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (/^proxy-/i.test(req.rawHeaders[i]!)) continue;
      lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    }
    up.write(lines.join('\r\n') + '\r\n\r\n');
    if (head.length) up.write(head);
    up.pipe(client);
    client.pipe(up);
  });
  up.on('error', (err) => {
    log.debug(`upgrade to ${t.host} failed: ${err.message}`);
    client.destroy();
  });
  client.on('error', () => up.destroy());
  client.on('close', () => up.destroy());
}
