import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Agent } from 'undici';
import type undiciRequest from 'undici/lib/api/api-request.js';
import type * as UndiciParts from './undici-parts.js';
import { installPath } from '../../install-path.js';
import { GovernedHandler, type GovernedResponse } from './upstream-dispatch.js';
import { upstreamTrust } from '../../proxy/upstream-trust.js';
import { PreconnectedSockets, type ConnectOptions, type Connector } from './upstream-preconnect.js';

/** Where an intercepted request is going: always the CONNECT target (or plain-HTTP URL host). */
export interface Target {
  scheme: 'http' | 'https';
  /** Host name or IP literal, without brackets. */
  host: string;
  port: number;
}

export function defaultPort(scheme: 'http' | 'https'): number {
  return scheme === 'https' ? 443 : 80;
}

/** `scheme://host[:port]` with the port only when not the default and IPv6 in brackets. */
export function originOf(t: Target): string {
  const h = t.host.includes(':') ? `[${t.host}]` : t.host;
  return t.port === defaultPort(t.scheme) ? `${t.scheme}://${h}` : `${t.scheme}://${h}:${t.port}`;
}

export interface UpstreamRequest {
  target: Target;
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer | Readable | null;
  /** Aborts the request (a client gone, a call's time limit reached); an EventEmitter aborts
   * it when it emits 'abort' (undici's contract). */
  signal?: AbortSignal | EventEmitter;
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/**
 * Headers that describe one hop and never travel on. `expect` too: gov's own server has
 * already answered `100 Continue`, and the upstream request is sent whole.
 */
export const HOP_BY_HOP = new Set([
  'connection',
  'expect',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/**
 * Headers some servers and frameworks route by instead of the request line (Symfony and IIS
 * `X-Original-URL`/`X-Rewrite-URL`, nginx `X-Original-URI`, Traefik `X-Forwarded-Uri`, Spring
 * `X-Forwarded-Prefix`, Envoy `X-Envoy-Original-Path`): from a client, they would move a
 * request to a path gov never judged (another route, another server's rules). Never forwarded.
 */
const PATH_OVERRIDES = new Set([
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-forwarded-uri',
  'x-forwarded-prefix',
  'x-forwarded-path',
  'x-envoy-original-path',
]);

/** A request's headers as they go upstream: without hop-by-hop ones and path overrides. */
export function forwardableHeaders(raw: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connection = raw['connection'];
  // Headers the client's Connection header names are hop-by-hop too (`keep-alive` alone is the common case).
  const named =
    connection === undefined || HOP_BY_HOP.has(connection.toLowerCase())
      ? null
      : connection.split(',').map((s) => s.trim().toLowerCase());
  for (const k in raw) {
    const v = raw[k];
    if (v === undefined || HOP_BY_HOP.has(k) || PATH_OVERRIDES.has(k) || named?.includes(k)) continue;
    out[k] = v;
  }
  return out;
}

export interface UpstreamOptions {
  /** Extra CA certificates (PEM files) for verifying upstream servers. */
  extraCaFiles?: string[];
  /**
   * Told of a failure to reach an upstream (TLS, refused, DNS…), once per host:port, so the
   * user sees on gov's stderr what otherwise only the agent sees. Not for timeouts or aborts.
   */
  onFirstFailure?: (message: string) => void;
  /** How long a connection opened ahead (`preconnect`) waits for its request. */
  preconnectIdleMs?: number;
}

interface LoadedClient {
  agent: Agent;
  /** undici's `Dispatcher#request`, loaded without the rest of undici's API. */
  request: typeof undiciRequest;
  /** undici's RequestAbortedError, for a governed stream destroyed before its end. */
  aborted: new () => Error;
  /** Connections opened ahead of a host's first request; undici's connector goes through it. */
  ahead: PreconnectedSockets;
}

/**
 * undici's parts from their bundle (src/transport/http/undici-parts.ts), through the loader
 * that gives it a code cache of its own (bin/load-bundle.js).
 */
function loadUndiciParts(): typeof UndiciParts {
  const load = createRequire(import.meta.url);
  const loader = load(installPath('bin', 'load-bundle.js')) as { requireBundle(file: string): unknown };
  return loader.requireBundle(installPath('dist', 'bundle', 'undici.cjs')) as typeof UndiciParts;
}

/** The options undici's client passes its connector for a connection to `t` (its origin URL's parts). */
function connectOptionsFor(t: Target): ConnectOptions {
  const url = new URL(originOf(t));
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    host: url.host,
    hostname,
    protocol: url.protocol,
    port: url.port,
    servername: null,
    localAddress: null,
  };
}

/**
 * The one client gov uses to reach upstream servers: keep-alive connection pools per origin,
 * TLS always verified against the system roots plus the user's extra CAs.
 */
export class Upstream {
  /** The client once loaded: no promise to await per call. */
  private loaded: LoadedClient | undefined;
  private readonly caPems: string[];
  private readonly onFirstFailure: ((message: string) => void) | undefined;
  private readonly reported = new Set<string>();
  private readonly preconnectIdleMs: number | undefined;

  constructor(opts: UpstreamOptions = {}) {
    this.onFirstFailure = opts.onFirstFailure;
    this.preconnectIdleMs = opts.preconnectIdleMs;
    // Read now, so a bad file fails at start-up. undici and the TLS context (~0.5 s together
    // on a busy machine) are loaded on first use, or by warm() once the child is started.
    this.caPems = (opts.extraCaFiles ?? []).map((f) => readFileSync(f, 'utf8'));
  }

  /** Load the HTTP client now (call once start-up work is done), not on the first call's path. */
  warm(): void {
    this.agent().catch(() => undefined);
  }

  /**
   * An agent began TLS with gov for `t` (a CONNECT tunnel): open the upstream connection now,
   * while that handshake runs, rather than after it when the request arrives.
   */
  preconnect(t: Target): void {
    if (t.scheme !== 'https') return;
    this.agent().then(
      ({ ahead }) => ahead.open(connectOptionsFor(t)),
      () => undefined,
    );
  }

  private agent(): Promise<LoadedClient> {
    try {
      return Promise.resolve((this.loaded ??= this.load()));
    } catch (err) {
      // Not kept: a load that failed (EMFILE while the agent held every descriptor) is tried
      // again by the next call. (A failed import() would be: the module loader keeps it.)
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private load(): LoadedClient {
    const { Agent, errors, request, buildConnector } = loadUndiciParts();
    const ahead = new PreconnectedSockets(
      (buildConnector as (o: object) => Connector)({
        // One context for every upstream connection: passing `ca` alone makes each TLS
        // handshake parse the whole trust store again (tens of ms per new connection).
        secureContext: upstreamTrust(this.caPems),
        rejectUnauthorized: true,
        timeout: 10_000,
      }),
      this.preconnectIdleMs,
    );
    const agent = new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: (opts, callback) => ahead.connect(opts as ConnectOptions, callback as never),
    });
    return { agent, request, aborted: errors.RequestAbortedError, ahead };
  }

  async request(r: UpstreamRequest): Promise<UpstreamResponse> {
    try {
      return await this.send(r);
    } catch (err) {
      this.report(err, r);
      throw err;
    }
  }

  /**
   * A governed call's round trip: an event stream comes back as a stream to relay; anything
   * else is read whole, at most `limit` bytes (past it, `whole` says too large), without a
   * stream or a promise per chunk. Failures before the answer's head reject, as `request()`.
   */
  async exchange(
    r: UpstreamRequest,
    limit: number,
    streams: (headers: IncomingHttpHeaders) => boolean,
  ): Promise<GovernedResponse> {
    const { agent, aborted } = this.loaded ?? (await this.agent());
    const handler = new GovernedHandler(limit, streams, r.signal, aborted);
    const answer = handler.settle();
    agent.dispatch(
      {
        origin: originOf(r.target),
        method: r.method,
        path: r.path,
        headers: r.headers,
        body: r.body ?? null,
      },
      handler,
    );
    try {
      return await answer;
    } catch (err) {
      this.report(err, r);
      throw err;
    }
  }

  private report(err: unknown, r: UpstreamRequest): void {
    if (!this.onFirstFailure || isAbort(err) || (r.signal instanceof AbortSignal && r.signal.aborted)) return;
    const { status, message } = describeUpstreamError(err, r.target);
    const where = `${r.target.host}:${r.target.port}`;
    if (status !== 502 || this.reported.has(where)) return;
    this.reported.add(where);
    this.onFirstFailure(message.replace(/^gov: /, ''));
  }

  private async send(r: UpstreamRequest): Promise<UpstreamResponse> {
    const { agent, request } = this.loaded ?? (await this.agent());
    const res = await request.call(agent, {
      origin: originOf(r.target),
      method: r.method,
      path: r.path,
      headers: r.headers,
      body: r.body ?? null,
      signal: r.signal,
    });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  }

  async close(): Promise<void> {
    this.loaded?.ahead.close();
    await this.loaded?.agent.destroy().catch(() => undefined);
  }
}

/**
 * The request was aborted on gov's side (its client went away, or its time limit passed):
 * undici's RequestAbortedError, or the AbortError of a signal. Not a failure to reach the server.
 */
function isAbort(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown } | null;
  return e?.code === 'UND_ERR_ABORTED' || e?.name === 'AbortError';
}

/** Map an upstream failure to the status and one-line reason the client gets. */
export function describeUpstreamError(err: unknown, t: Target): { status: number; message: string } {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e?.code ?? e?.cause?.code ?? '';
  const where = `${t.host}:${t.port}`;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return { status: 504, message: `gov: upstream ${where} timed out` };
  }
  if (
    /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|HOSTNAME|ALTNAME/i.test(code) ||
    /certificate/i.test(e?.message ?? '')
  ) {
    return {
      status: 502,
      message: `gov: upstream TLS verification failed for ${where}: ${code || e.message} — trust its CA with --upstream-ca FILE`,
    };
  }
  if (code === 'ECONNREFUSED')
    return { status: 502, message: `gov: upstream ${where} refused the connection` };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return { status: 502, message: `gov: cannot resolve upstream host ${t.host}` };
  return { status: 502, message: `gov: upstream ${where} failed: ${code || (e?.message ?? String(err))}` };
}
