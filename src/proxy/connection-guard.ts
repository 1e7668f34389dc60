import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface ConnectionLimits {
  /** A client connection with no request in flight and no bytes either way for this long is closed. */
  idleTimeoutMs: number;
  /** Client connections served at once; more are answered 503 and closed. */
  maxConnections: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;
/** Well above the 1,000 held calls + 1,000 open SSE streams the benchmark keeps open. */
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/**
 * A request's headers must all arrive within the idle timeout, and never in more than this:
 * a client dribbling a header byte now and then is never idle, but is cut here.
 */
export const MAX_HEADERS_TIMEOUT_MS = 60_000;

interface ConnectionState {
  /** The client's TCP socket: idleness is measured on its bytes, and eviction destroys it. */
  raw: Socket;
  /** Requests whose response is still open: a held call, a slow upstream, an SSE stream. */
  active: number;
  /** A request on it passed authentication (gov serve's edge auth, gov run's proxy token). */
  authenticated: boolean;
  /** Counted in the cap: until it closes, or is evicted to make room. */
  counted: boolean;
}

/**
 * Bounds what idle and unauthenticated clients can hold: one state per client TCP connection
 * (counted from the TCP accept, so a TLS handshake in progress counts), shared by the TLS
 * socket layered on it. Idleness counts only while no request is in flight, so long-lived
 * legitimate exchanges are never cut; raw tunnels (passthrough, WebSocket) have no requests
 * gov can see, so for them idle means no bytes either way. At the cap, a new connection
 * takes the place of the oldest idle one on which no request has authenticated yet, so
 * clients without a token cannot lock out those with one; only when there is none is the
 * newcomer refused.
 */
export class ConnectionGuard {
  private admitted = 0;
  private readonly states = new WeakMap<Duplex, ConnectionState>();
  /** Admitted connections not yet authenticated, oldest first: the ones that give way. */
  private readonly unauthenticated = new Set<ConnectionState>();

  constructor(private readonly limits: ConnectionLimits) {}

  /** A new client connection; false when the cap is reached (the caller answers 503). */
  admit(socket: Socket): boolean {
    // Even a refused connection must not linger: it is closed once idle like any other.
    const state: ConnectionState = { raw: socket, active: 0, authenticated: false, counted: false };
    socket.setTimeout(this.limits.idleTimeoutMs);
    socket.on('timeout', () => {
      if (state.active === 0) socket.destroy();
    });
    if (this.admitted >= this.limits.maxConnections && !this.evictUnauthenticated()) return false;
    this.admitted++;
    state.counted = true;
    this.states.set(socket, state);
    this.unauthenticated.add(state);
    socket.once('close', () => this.release(state));
    return true;
  }

  /** Close the oldest idle unauthenticated connection to make room; false when there is none. */
  private evictUnauthenticated(): boolean {
    for (const state of this.unauthenticated) {
      if (state.active > 0) continue;
      this.release(state);
      state.raw.destroy();
      return true;
    }
    return false;
  }

  private release(state: ConnectionState): void {
    this.unauthenticated.delete(state);
    if (!state.counted) return;
    state.counted = false;
    this.admitted--;
  }

  isAdmitted(socket: Duplex): boolean {
    return this.states.has(socket);
  }

  /** A request on this connection authenticated: from now on it is never evicted for a newcomer. */
  authenticated(socket: Duplex): void {
    const state = this.states.get(socket);
    if (!state) return;
    state.authenticated = true;
    this.unauthenticated.delete(state);
  }

  /** The decrypted side of a tunnel or TLS listener shares its client connection's state. */
  link(raw: Duplex, layered: Duplex): void {
    const state = this.states.get(raw);
    if (state) this.states.set(layered, state);
  }

  /** A request started on this socket: no idle closing until its response is closed. */
  begin(socket: Duplex, res: ServerResponse): void {
    const state = this.states.get(socket);
    if (!state) return;
    state.active++;
    state.raw.setTimeout(0);
    res.once('close', () => {
      if (--state.active === 0 && !state.raw.destroyed) state.raw.setTimeout(this.limits.idleTimeoutMs);
    });
  }

  /**
   * Node HTTP server options that agree with the limits: keep-alive waits as long as idleness
   * allows, and a request's headers must arrive within the idle timeout (at most
   * MAX_HEADERS_TIMEOUT_MS) however slowly they are dribbled.
   */
  get serverOptions(): {
    requestTimeout: number;
    keepAliveTimeout: number;
    headersTimeout: number;
    connectionsCheckingInterval: number;
  } {
    const headersTimeout = Math.min(this.limits.idleTimeoutMs, MAX_HEADERS_TIMEOUT_MS);
    return {
      requestTimeout: 0,
      keepAliveTimeout: this.limits.idleTimeoutMs,
      headersTimeout,
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(headersTimeout / 4))),
    };
  }

  get maxConnections(): number {
    return this.limits.maxConnections;
  }
}
