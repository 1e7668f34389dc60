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

interface ConnectionState {
  /** The client's TCP socket: idleness is measured on its bytes. */
  raw: Socket;
  /** Requests whose response is still open: a held call, a slow upstream, an SSE stream. */
  active: number;
}

/**
 * Bounds what idle clients can hold: one state per client TCP connection, shared by the TLS
 * socket gov layers on a CONNECT tunnel. Idleness counts only while no request is in flight,
 * so long-lived legitimate exchanges are never cut; raw tunnels (passthrough, WebSocket) have
 * no requests gov can see, so for them idle means no bytes either way.
 */
export class ConnectionGuard {
  private admitted = 0;
  private readonly states = new WeakMap<Duplex, ConnectionState>();

  constructor(private readonly limits: ConnectionLimits) {}

  /** A new client connection; false when the cap is reached (the caller answers 503). */
  admit(socket: Socket): boolean {
    // Even a refused connection must not linger: it is closed once idle like any other.
    const state: ConnectionState = { raw: socket, active: 0 };
    socket.setTimeout(this.limits.idleTimeoutMs);
    socket.on('timeout', () => {
      if (state.active === 0) socket.destroy();
    });
    if (this.admitted >= this.limits.maxConnections) return false;
    this.admitted++;
    this.states.set(socket, state);
    socket.once('close', () => this.admitted--);
    return true;
  }

  isAdmitted(socket: Duplex): boolean {
    return this.states.has(socket);
  }

  /** The decrypted side of a tunnel shares its client connection's state. */
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

  get maxConnections(): number {
    return this.limits.maxConnections;
  }

  get idleTimeoutMs(): number {
    return this.limits.idleTimeoutMs;
  }
}
