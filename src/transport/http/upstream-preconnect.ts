import type { Socket } from 'node:net';

/** What undici hands its connector for a new connection (undici/lib/core/connect.js). */
export interface ConnectOptions {
  host: string;
  hostname: string;
  protocol: string;
  port: string;
  servername?: string | null;
  localAddress?: string | null;
}

export type ConnectCallback = (err: Error | null, socket: Socket | null) => void;
export type Connector = (opts: ConnectOptions, callback: ConnectCallback) => unknown;

/** How long an opened connection waits for its request: well inside any server's idle timeout. */
export const PRECONNECT_IDLE_MS = 2_000;
/** A connection undici opened this recently is likely still pooled: none is opened ahead. */
const POOLED_MS = 30_000;
/** At most this many wait at once (an agent churning tunnels to many hosts gets no more). */
const MAX_WAITING = 256;

interface Opened {
  socket: Promise<Socket | null>;
  timer: NodeJS.Timeout;
}

function keyOf(o: ConnectOptions): string {
  return `${o.protocol}//${o.hostname.toLowerCase()}:${o.port}|${o.servername ?? ''}`;
}

/**
 * Upstream connections opened ahead of their first request. An agent's request to a host reaches
 * gov only after its own TLS handshake with gov; opened when that handshake starts, the upstream
 * handshake runs alongside it instead of after it. Opening one changes only when the connection
 * is made: the same connector (trust, server name, timeouts) makes it, undici takes it as the
 * next connection it opens to that origin, and one that failed, closed or waited too long is
 * dropped and undici connects afresh, as it would have.
 */
export class PreconnectedSockets {
  private readonly opened = new Map<string, Opened>();
  private readonly lastConnect = new Map<string, number>();

  constructor(
    private readonly connector: Connector,
    private readonly idleMs = PRECONNECT_IDLE_MS,
  ) {}

  /** Open a connection for `opts` now, unless one is open or undici connected there lately. */
  open(opts: ConnectOptions): void {
    const key = keyOf(opts);
    if (this.opened.has(key) || this.opened.size >= MAX_WAITING) return;
    const last = this.lastConnect.get(key);
    if (last !== undefined && Date.now() - last < POOLED_MS) return;
    // The connector returns its socket at once: one still connecting when the wait is over
    // (a host that does not answer) is destroyed too, not left to its 10 s connect timeout.
    let connecting: unknown;
    const socket = new Promise<Socket | null>((resolve) => {
      try {
        connecting = this.connector(opts, (err, s) => resolve(err ? null : s));
      } catch {
        resolve(null);
      }
    });
    const timer = setTimeout(() => {
      if (this.opened.get(key)?.timer !== timer) return;
      this.opened.delete(key);
      (connecting as Socket | undefined)?.destroy?.();
      void socket.then((s) => s?.destroy());
    }, this.idleMs);
    timer.unref();
    this.opened.set(key, { socket, timer });
  }

  /** undici's connector: the connection opened ahead for this origin if it is usable, else a new one. */
  connect(opts: ConnectOptions, callback: ConnectCallback): void {
    const key = keyOf(opts);
    this.lastConnect.set(key, Date.now());
    if (this.lastConnect.size > 10_000) this.lastConnect.clear();
    const ahead = this.opened.get(key);
    if (!ahead) {
      this.connector(opts, callback);
      return;
    }
    this.opened.delete(key);
    clearTimeout(ahead.timer);
    void ahead.socket.then((s) => {
      if (s && !s.destroyed && s.readyState === 'open') callback(null, s);
      else {
        s?.destroy();
        this.connector(opts, callback);
      }
    });
  }

  /** Close what is still waiting (gov is shutting down). */
  close(): void {
    for (const { socket, timer } of this.opened.values()) {
      clearTimeout(timer);
      void socket.then((s) => s?.destroy());
    }
    this.opened.clear();
  }
}
