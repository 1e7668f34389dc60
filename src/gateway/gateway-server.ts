/**
 * `gov serve`'s listener: a reverse proxy that MCP clients reach as if it were the server.
 * It only admits (Host, Origin, edge authentication, protocol version, session) and routes;
 * each admitted request becomes an Exchange for the one HTTP handler that `gov run` uses,
 * so governance (policy, pins, approvals, credentials, redaction, audit) is never duplicated.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { GovError } from '../errors.js';
import type { Exchange, ExchangeHandler } from '../proxy/server.js';
import { sendJson, sendText } from '../transport/http/forward.js';
import { originOf } from '../transport/http/upstream.js';
import { authenticate, type AuthMode } from './edge-auth.js';
import type { TokenVerifier } from './serve-tokens.js';
import type { Revocations } from './revocation.js';
import type { VersionGate } from '../mcp/negotiated-version.js';
import {
  ASSUMED_VERSION,
  hostAllowed,
  originAllowed,
  requestVersion,
  versionAllowed,
  type VersionPolicy,
} from './request-checks.js';
import { requestPathRefusal } from '../transport/http/request-path.js';
import { clientPathFor, resolveRoute, type Route } from './routes.js';
import type { SessionTable } from './sessions.js';
import { observeSessionId, routeLocations } from './response-headers.js';
import type { SseReplay } from './sse-replay.js';
import { checkUpstreamVersion } from './upstream-version.js';
import {
  ConnectionGuard,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  type ConnectionLimits,
} from '../proxy/connection-guard.js';

export interface GatewayOptions {
  host: string;
  port: number;
  /** PEM texts; without them the listener is plain HTTP. */
  tls?: { cert: string; key: string; clientCa?: string } | undefined;
  auth: AuthMode;
  tokens: TokenVerifier | null;
  /** Where each authenticated request is tracked, so revoking its principal cuts it. */
  revocations?: Pick<Revocations, 'track'> | undefined;
  routes: Route[];
  allowedOrigins: string[];
  allowedHosts: string[];
  version: VersionPolicy;
  sessions: SessionTable;
  /** Idle timeout and connection cap (defaults as for gov run). */
  limits?: Partial<ConnectionLimits> | undefined;
  /** SSE event ids and `Last-Event-ID` replay; absent or disabled: streams pass as they are. */
  replay?: SseReplay | undefined;
  handler: ExchangeHandler;
  /** Told of every request refused here (never forwarded): for the audit and the log. */
  onRefused(r: RefusedRequest): void;
  onError(message: string): void;
}

export interface RefusedRequest {
  status: number;
  reason: string;
  path: string;
  principal?: string | undefined;
  /** The client's address (the TCP peer). */
  source: string;
  /** The request passed edge authentication (refused later, e.g. for its path or session). */
  authenticated: boolean;
}

export interface Gateway {
  port: number;
  url: string;
  /** Stop accepting, let in-flight requests finish (up to `deadlineMs`), then cut the rest. */
  drain(deadlineMs: number, beforeWait?: () => void): Promise<void>;
}

/** A refusal an MCP client can show: a JSON-RPC error body. */
function refuse(
  res: ServerResponse,
  status: number,
  message: string,
  extra: Record<string, string> = {},
): void {
  sendJson(res, status, { jsonrpc: '2.0', id: null, error: { code: -32600, message } }, extra);
}

export async function startGateway(o: GatewayOptions): Promise<Gateway> {
  const scheme = o.tls ? 'https' : 'http';
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  // Idle client connections are closed and their number is capped, as in gov run's proxy.
  const guard = new ConnectionGuard({
    idleTimeoutMs: o.limits?.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxConnections: o.limits?.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
  });

  const admit = (req: IncomingMessage, res: ServerResponse): void => {
    if (!guard.isAdmitted(req.socket)) {
      res.shouldKeepAlive = false;
      return refuse(
        res,
        503,
        `gov: too many connections (limit ${guard.maxConnections}) — retry later, or raise the limit with gov serve --max-connections N`,
      );
    }
    guard.begin(req.socket, res);
    const path = req.url ?? '/';
    const pathname = path.split('?')[0]!;
    // Health endpoints answer before authentication: a load balancer has no token.
    if (pathname === '/healthz') return sendText(res, 200, 'ok');
    if (pathname === '/readyz')
      return draining ? sendText(res, 503, 'draining') : sendText(res, 200, 'ready');
    const source = req.socket.remoteAddress ?? 'unknown';
    let authenticated = false;
    const refused = (
      status: number,
      reason: string,
      principal?: string,
      extra: Record<string, string> = {},
    ) => {
      o.onRefused({ status, reason, path: pathname, principal, source, authenticated });
      refuse(res, status, `gov: ${reason}`, extra);
    };
    if (!hostAllowed(req.headers.host, { hosts: o.allowedHosts }, o.port))
      return refused(
        403,
        `Host '${String(req.headers.host ?? '')}' is not served here (add it with --allowed-hosts)`,
      );
    const origin = req.headers.origin;
    if (!originAllowed(origin, o.allowedOrigins))
      return refused(403, `Origin '${origin}' is not allowed (add it with --allowed-origins)`);
    const auth = authenticate(req, o.auth, o.tokens);
    if (!auth.ok) return refused(401, auth.reason, undefined, { 'www-authenticate': auth.challenge });
    const { principal } = auth;
    authenticated = true;
    guard.authenticated(req.socket);
    if (principal !== undefined) o.revocations?.track(principal, res);
    const unclear = requestPathRefusal(path);
    if (unclear)
      return refused(
        400,
        `the request path ${pathname} ${unclear}: a server may route it outside the mounted path; refused`,
        principal,
      );
    const routed = resolveRoute(o.routes, path);
    if (!routed) return refused(404, `no server is mounted at ${pathname}`, principal);
    const accepted = `accepted: ${o.version.versions.join(', ')}`;
    const sessionId = header(req, 'mcp-session-id');
    const named = header(req, 'mcp-protocol-version');
    const version = requestVersion(named, sessionId);
    if (!versionAllowed(version, o.version))
      return refused(
        400,
        `MCP protocol version '${version}'${named === undefined ? ' (assumed: the request is in a session and names no MCP-Protocol-Version)' : ''} is not accepted here (${accepted})`,
        principal,
      );
    // A session is its route's: its id on another route (another server) is unknown there.
    const inRoute = (id: string) => `${routed.route.prefix}\n${id}`;
    if (sessionId !== undefined) {
      const s = o.sessions.check(inRoute(sessionId), principal);
      if (s !== 'ok')
        return refused(
          404,
          `session ${s === 'expired' ? 'expired' : 'not found'}; initialize again`,
          principal,
        );
      const spoken = o.version.mode === 'strict' ? o.sessions.negotiated(inRoute(sessionId)) : undefined;
      if (spoken !== undefined && version !== spoken)
        return refused(
          400,
          `this session negotiated MCP protocol version '${spoken}', not '${version}'`,
          principal,
        );
      if (req.method === 'DELETE') res.once('finish', () => o.sessions.end(inRoute(sessionId)));
    }
    /** The version an `initialize` result in this answer names, once accepted. */
    let negotiated: string | undefined;
    observeSessionId(res, (id) => o.sessions.open(inRoute(id), principal, negotiated));
    if (o.replay?.enabled) {
      const lastEventId = header(req, 'last-event-id');
      if (lastEventId !== undefined) {
        // gov numbers the events itself: the upstream never issued this id.
        stripHeader(req, 'last-event-id');
        if (req.method === 'GET') {
          const r = o.replay.resume(lastEventId, { principal, sessionId, route: routed.route.prefix }, res);
          if (r === 'resumed') return;
          if (r === 'foreign')
            return refused(404, 'no stream of this client has that Last-Event-ID; open a new one', principal);
          // An id gov no longer knows (expired, or from before a restart): a fresh stream.
        }
      }
      o.replay.track(res, { principal, sessionId, route: routed.route.prefix });
    }
    // Strict: the version a session speaks is the one the server's `initialize` result names.
    let versions: VersionGate | undefined;
    if (o.version.mode === 'strict') {
      const refuseUpstream = (reason: string): string => {
        o.onRefused({ status: 502, reason, path: pathname, principal, source, authenticated });
        return `gov: ${reason}`;
      };
      const refusal = (v: string): string | null =>
        o.version.versions.includes(v)
          ? null
          : refuseUpstream(
              `the server answered with MCP protocol version '${v}', which is not accepted here (${accepted})`,
            );
      let judged = false;
      versions = {
        refusal,
        unnamed: versionAllowed(ASSUMED_VERSION, o.version)
          ? null
          : `a request outside any session that names no MCP-Protocol-Version is taken as '${ASSUMED_VERSION}', which is not accepted here (${accepted})`,
        initializing: () => {
          if (judged) return;
          judged = true;
          checkUpstreamVersion(res, {
            refusal,
            unjudged: refuseUpstream,
            negotiated: (v) => (negotiated = v),
          });
        },
      };
    }
    // The client's credential is for gov; the target gets its own binding (gov.yaml) or nothing.
    stripHeader(req, 'authorization');
    // gov serve is the edge: what a client claims about the hops before it is not passed on.
    for (const h of FORWARDING_HEADERS) stripHeader(req, h);
    const { route } = routed;
    const clientPath = (upstreamUrl: string) => clientPathFor(route, upstreamUrl);
    const ex: Exchange = {
      req,
      res,
      target: route.target,
      path: routed.path,
      url: originOf(route.target) + routed.path,
      clientPath,
      route: route.prefix,
      ...(principal !== undefined ? { principal } : {}),
      ...(versions ? { versions } : {}),
    };
    routeLocations(res, ex.url, clientPath);
    if (draining) res.shouldKeepAlive = false;
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) idle?.();
    });
    o.handler(ex).catch((err: unknown) => {
      o.onError(`handler failed for ${ex.url}: ${(err as Error)?.message ?? String(err)}`);
      if (!res.headersSent) refuse(res, 502, 'gov: internal error while handling the request');
      else res.destroy();
    });
  };

  let server: Server;
  if (o.tls) {
    const mtls = o.auth === 'mtls' || o.auth === 'bearer_or_mtls';
    server = createHttpsServer(
      {
        cert: o.tls.cert,
        key: o.tls.key,
        ...(mtls ? { ca: o.tls.clientCa, requestCert: true, rejectUnauthorized: o.auth === 'mtls' } : {}),
        ...guard.serverOptions,
      },
      admit,
    );
    server.on('tlsClientError', (err: Error, s: TLSSocket) =>
      o.onRefused({
        status: 0,
        reason: `TLS handshake refused: ${err.message}`,
        path: '',
        source: s.remoteAddress ?? 'unknown',
        authenticated: false,
      }),
    );
    // Counted from the TCP accept, as unauthenticated: a handshake in progress holds a slot too.
    server.on('secureConnection', (s: TLSSocket) => {
      // Node's TLS server keeps the TCP socket it wrapped as `_parent` (untyped, stable since
      // Node 0.x); without it the TLS socket is not admitted and its requests get 503.
      const raw = (s as TLSSocket & { _parent?: Socket })._parent;
      if (raw) guard.link(raw, s);
    });
  } else {
    server = createHttpServer(guard.serverOptions, admit);
  }
  server.on('connection', (s: Socket) => guard.admit(s));
  server.on('clientError', (_err, socket: Socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        new GovError('config', `cannot listen on ${o.host}:${o.port} (${err.code ?? err.message})`, {
          hint: 'choose another --listen HOST:PORT',
        }),
      );
    server.once('error', onError);
    server.listen(o.port, o.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const hostText = o.host.includes(':') ? `[${o.host}]` : o.host;

  return {
    port,
    url: `${scheme}://${hostText}:${port}`,
    async drain(deadlineMs, beforeWait) {
      draining = true;
      server.close();
      server.closeIdleConnections();
      beforeWait?.();
      if (inFlight > 0)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deadlineMs);
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      server.closeAllConnections();
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const FORWARDING_HEADERS = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
];

function stripHeader(req: IncomingMessage, name: string): void {
  delete req.headers[name];
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i]!.toLowerCase() === name) raw.splice(i, 2);
}
