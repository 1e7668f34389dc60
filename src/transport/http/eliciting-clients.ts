import type { ElicitingClient } from '../../approvals/elicitation.js';

// Sessions remembered per proxy; the oldest is forgotten first (its client then falls back
// to the other approval channels, as a client without the capability does).
const MAX_SESSIONS = 10_000;

/** What tells one MCP client of a server from another. */
export interface ClientScope {
  /** The server's `host:port`. */
  origin: string;
  /** `Mcp-Session-Id`; a server without sessions has none. */
  sessionId: string | undefined;
  /** gov serve's edge identity of the client (bearer token name, certificate). */
  principal: string | undefined;
  /**
   * True where many clients share one listener (gov serve): there, a server without
   * sessions leaves only the principal to tell them apart.
   */
  shared: boolean;
}

/**
 * Which MCP clients declared `elicitation` in their `initialize`, per Streamable HTTP
 * session. Where clients cannot be told apart (gov serve, a server without sessions, no edge
 * identity) none is remembered: asking one client about another's call would put the
 * question on a stream whose client never offered to answer.
 */
export class ElicitingClients {
  private readonly bySession = new Map<string, ElicitingClient>();

  private static key(s: ClientScope): string | null {
    if (s.shared && s.sessionId === undefined && s.principal === undefined) return null;
    return `${s.origin}|${s.principal ?? ''}|${s.sessionId ?? ''}`;
  }

  remember(scope: ClientScope, client: ElicitingClient | null): void {
    const key = ElicitingClients.key(scope);
    if (key === null) return;
    this.bySession.delete(key);
    if (!client) return;
    this.bySession.set(key, client);
    if (this.bySession.size > MAX_SESSIONS) {
      const oldest = this.bySession.keys().next().value;
      if (oldest !== undefined) this.bySession.delete(oldest);
    }
  }

  get(scope: ClientScope): ElicitingClient | undefined {
    const key = ElicitingClients.key(scope);
    return key === null ? undefined : this.bySession.get(key);
  }
}
