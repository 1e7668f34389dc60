/**
 * Streamable HTTP sessions (2025 protocol eras) as the gateway sees them: opened when an
 * upstream answer carries `Mcp-Session-Id`, bound to the principal that opened it, ended by
 * DELETE, by `--session-ttl` (age) or `--session-idle` (quiet time). An unknown or expired
 * session gets 404, which tells the client to initialise again. The 2026-07-28 era carries
 * no session id, so nothing here applies to it.
 */
export interface SessionLimits {
  ttlMs: number;
  idleMs: number;
  /** Sessions tracked at once; the least recently used is dropped beyond it. */
  max: number;
}

interface Entry {
  principal: string;
  opened: number;
  seen: number;
  /** The protocol version its server's `initialize` result named (strict mode). */
  version?: string;
}

export type SessionCheck = 'ok' | 'unknown' | 'expired';

export class SessionTable {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly limits: SessionLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** An answer carried session `id`; `version`, when the answer was an accepted `initialize` result. */
  open(id: string, principal: string | undefined, version?: string): void {
    const e = this.entries.get(id);
    if (e) {
      if (version !== undefined && e.principal === (principal ?? '')) e.version = version;
      return;
    }
    const t = this.now();
    this.entries.set(id, { principal: principal ?? '', opened: t, seen: t, ...(version ? { version } : {}) });
    if (this.entries.size > this.limits.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  /** A request in session `id`: known, live and the opener's own; touches it. */
  check(id: string, principal: string | undefined): SessionCheck {
    const e = this.entries.get(id);
    // Another principal's session is as good as unknown: ids are not bearer credentials.
    if (!e || e.principal !== (principal ?? '')) return 'unknown';
    const t = this.now();
    if (t - e.opened > this.limits.ttlMs || t - e.seen > this.limits.idleMs) {
      this.entries.delete(id);
      return 'expired';
    }
    e.seen = t;
    // Re-insert: Map order is then least recently used first.
    this.entries.delete(id);
    this.entries.set(id, e);
    return 'ok';
  }

  /** The protocol version session `id` negotiated, when gov saw it. */
  negotiated(id: string): string | undefined {
    return this.entries.get(id)?.version;
  }

  end(id: string): void {
    this.entries.delete(id);
  }

  /** Every session `principal` opened ends (its credential was revoked). */
  endAllOf(principal: string): void {
    for (const [id, e] of [...this.entries]) if (e.principal === principal) this.entries.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }
}
