import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  connect as netConnect,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { LeafCertCache } from './leaf-cert-cache.js';
import { upstreamTrust } from './upstream-trust.js';
import { GovError } from '../errors.js';
import { checkProxyAuth, parseAuthority, PROXY_AUTH_REQUIRED } from './proxy-auth.js';
import { defaultPort, originOf, type Target } from '../transport/http/upstream.js';
import type { VersionGate } from '../mcp/negotiated-version.js';
import { handleUpgrade, refuseUpgrade, type UpgradeGate } from './upgrade.js';
import {
  ConnectionGuard,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  type ConnectionLimits,
} from './connection-guard.js';

/** One intercepted request, handed to the pipeline. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  target: Target;
  /** Origin-form path with query (`/mcp?x=1`). */
  path: string;
  /** Absolute URL: `scheme://host[:port]/path?query`. */
  url: string;
  /** `gov serve`: the client its edge authentication let in. */
  principal?: string;
  /** `gov serve`: the prefix of the route the request came through. */
  route?: string;
  /** `gov serve --protocol-version-mode strict`: judges the versions sessions negotiate. */
  versions?: VersionGate;
  /**
   * `gov serve`: the path (and query) a client uses for a URL on the target, its route's
   * prefix in place of the base path; null when the URL is not under the route.
   */
  clientPath?: (upstreamUrl: string) => string | null;
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
  /** Decides Upgrade requests (WebSocket tunnels); without it every upgrade is refused. */
  upgradeGate?: UpgradeGate;
  /** Extra CA files for upstream TLS (used for upgraded connections; requests use Upstream). */
  upstreamCa?: string[];
  limits?: Partial<ConnectionLimits>;
  /** Also accept proxy connections on this filesystem socket (an isolation sandbox's way out). */
  unixSocket?: string;
  log: ProxyLog;
  /** Told of every request refused here, before any policy (421, bad request target…). */
  onRefused?: (r: { status: number; reason: string; target: string }) => void;
  /** Told when a client starts TLS inside a tunnel to `host:port` (gov opens its upstream connection then). */
  onTlsTunnel?: (target: { host: string; port: number }) => void;
}

export interface ProxyServer {
  port: number;
  url(token: string): string;
  /** Also accept proxy connections from this listener (one opened inside an isolation sandbox). */
  acceptFrom(listener: NetServer): void;
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
    (upstreamTls ??= upstreamTrust((opts.upstreamCa ?? []).map((f) => readFileSync(f, 'utf8'))));
  const sockets = new Set<Duplex>();
  const guard = new ConnectionGuard({
    idleTimeoutMs: opts.limits?.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxConnections: opts.limits?.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
  });
  const overCapacity = `gov: too many connections (limit ${guard.maxConnections}) — retry later, or raise the limit with gov run --max-connections N`;
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, target: Target, path: string): void =>
    void handleUpgrade({
      gate: opts.upgradeGate,
      u: { req, target, path, url: originOf(target) + path },
      socket,
      head,
      secureContext: upstreamContext,
      log,
    });
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
  const { serverOptions } = guard;
  const inner: Server = createServer(serverOptions, (req, res) => {
    guard.begin(req.socket, res);
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
  // Every request carrying `Connection: upgrade` + `Upgrade` lands here, body and pipelined
  // bytes unread: the gate decides, and nothing is forwarded raw unless it says tunnel.
  inner.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = targets.get(req.socket);
    if (!target) return socket.destroy();
    if (!hostAgrees(req.headers.host, target))
      return refuseUpgrade(
        socket,
        421,
        `gov: Host header disagrees with the CONNECT target ${target.host}:${target.port}; refused`,
      );
    const path = req.url && req.url.startsWith('/') ? req.url : '/';
    upgrade(req, socket, head, target, path);
  });
  inner.on('clientError', (_err, socket) => socket.destroy());

  /** An absolute-form plain-HTTP request: authenticated, with its target; or why not. */
  const plainTarget = (
    req: IncomingMessage,
  ):
    | { ok: true; target: Target; path: string }
    | { ok: false; status: number; message: string; target?: string } => {
    if (!guard.isAdmitted(req.socket)) return { ok: false, status: 503, message: overCapacity };
    if (!checkProxyAuth(req.headers['proxy-authorization'], opts.token))
      return {
        ok: false,
        status: 407,
        message: 'gov: proxy authentication required (use the proxy URL gov set)',
      };
    guard.authenticated(req.socket);
    let u: URL;
    try {
      u = new URL(req.url ?? '');
    } catch {
      return { ok: false, status: 400, message: 'gov: this is a proxy; send absolute-form requests' };
    }
    if (u.protocol !== 'http:')
      return {
        ok: false,
        status: 400,
        message: `gov: unsupported scheme ${u.protocol} on a plain proxy request`,
      };
    const a = parseAuthority(u.host, 80);
    if (!a) return { ok: false, status: 400, message: 'gov: bad request target' };
    const target: Target = { scheme: 'http', host: a.host, port: a.port };
    if (!hostAgrees(req.headers.host, target)) {
      const message = `gov: Host header '${String(req.headers.host)}' disagrees with the request URL; refused`;
      return { ok: false, status: 421, message, target: `${target.host}:${target.port}` };
    }
    return { ok: true, target, path: u.pathname + u.search };
  };

  const outer: Server = createServer(serverOptions, (req, res) => {
    guard.begin(req.socket, res);
    const t = plainTarget(req);
    if (t.ok) return dispatch(req, res, t.target, t.path);
    if (t.status === 407) res.setHeader('proxy-authenticate', 'Basic realm="gov"');
    if (t.status === 503) res.shouldKeepAlive = false;
    if (t.target !== undefined) opts.onRefused?.({ status: t.status, reason: t.message, target: t.target });
    refuse(res, t.status, t.message, req);
  });
  outer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const t = plainTarget(req);
    if (!t.ok) return refuseUpgrade(socket, t.status, t.message);
    upgrade(req, socket, head, t.target, t.path);
  });
  outer.on('connection', (s: Socket) => {
    s.setNoDelay(true);
    track(s);
    guard.admit(s);
  });
  outer.on('clientError', (_err, socket) => socket.destroy());

  outer.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (!guard.isAdmitted(socket)) return refuseUpgrade(socket, 503, overCapacity);
    if (!checkProxyAuth(req.headers['proxy-authorization'], opts.token)) {
      socket.end(PROXY_AUTH_REQUIRED);
      return;
    }
    guard.authenticated(socket);
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
    // Mint while the client prepares its ClientHello (a never-seen host's leaf is on the path).
    const leaf = opts.leafCerts.contextFor(a.host);
    leaf.catch(() => undefined);
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
      opts.onTlsTunnel?.({ host: a.host, port: a.port });
      leaf.then(
        (secureContext) => {
          const tls = new TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
          tls.on('error', (err: Error) => {
            log.debug(`TLS with client for ${a.host} failed: ${err.message}`);
            tls.destroy();
          });
          track(tls);
          guard.link(socket, tls);
          targets.set(tls, { scheme: 'https', host: a.host, port: a.port });
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
  // Same server, same token check: the socket is only another door into the one proxy.
  const unix = opts.unixSocket ? createNetServer((s) => outer.emit('connection', s)) : undefined;
  if (unix && opts.unixSocket) {
    const path = opts.unixSocket;
    await new Promise<void>((resolve, reject) => {
      unix.once('error', reject);
      unix.listen(path, () => resolve());
    });
  }

  const extraListeners: NetServer[] = [];
  return {
    port,
    url: (token: string) => `http://gov:${token}@127.0.0.1:${port}`,
    acceptFrom: (listener) => {
      extraListeners.push(listener);
      listener.on('connection', (s: Socket) => outer.emit('connection', s));
    },
    close: () =>
      new Promise<void>((resolve) => {
        outer.close(() => resolve());
        unix?.close();
        for (const l of extraListeners) l.close();
        inner.close();
        for (const s of sockets) s.destroy();
        outer.closeAllConnections();
      }),
  };
}
