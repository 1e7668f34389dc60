import type { ElicitingClient } from '../../approvals/elicitation.js';
import type { Exchange } from '../../proxy/server.js';
import { clientSession } from './client-session.js';

// Sessions remembered per proxy; the oldest is forgotten first (its client then falls back
// to the other approval channels, as a client without the capability does).
const MAX_SESSIONS = 10_000;

/**
 * Which MCP clients declared `elicitation` in their `initialize`, per Streamable HTTP
 * session (clientSession: the server's `host:port`, gov serve's route and edge identity of
 * the client, and `Mcp-Session-Id`). Where clients cannot be told apart — a listener many clients share
 * (`shared`: gov serve), a server without sessions, no edge identity — none is remembered:
 * asking one client about another's call would put the question on a stream whose client
 * never offered to answer, and name the wrong client in the audit.
 */
export class ElicitingClients {
  private readonly bySession = new Map<string, ElicitingClient>();

  constructor(private readonly shared: boolean) {}

  private key(
    ex: Pick<Exchange, 'target' | 'principal' | 'route'>,
    sessionId: string | undefined,
  ): string | null {
    if (this.shared && sessionId === undefined && ex.principal === undefined) return null;
    return clientSession(ex, sessionId);
  }

  remember(
    ex: Pick<Exchange, 'target' | 'principal' | 'route'>,
    sessionId: string | undefined,
    client: ElicitingClient | null,
  ): void {
    const key = this.key(ex, sessionId);
    if (key === null) return;
    this.bySession.delete(key);
    if (!client) return;
    this.bySession.set(key, client);
    if (this.bySession.size > MAX_SESSIONS) {
      const oldest = this.bySession.keys().next().value;
      if (oldest !== undefined) this.bySession.delete(oldest);
    }
  }

  get(
    ex: Pick<Exchange, 'target' | 'principal' | 'route'>,
    sessionId: string | undefined,
  ): ElicitingClient | undefined {
    const key = this.key(ex, sessionId);
    return key === null ? undefined : this.bySession.get(key);
  }
}
