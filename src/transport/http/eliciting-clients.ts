import type { ElicitingClient } from '../../approvals/elicitation.js';

// Sessions remembered per proxy; the oldest is forgotten first (its client then falls back
// to the other approval channels, as a client without the capability does).
const MAX_SESSIONS = 10_000;

/**
 * Which MCP clients declared `elicitation` in their `initialize`, per Streamable HTTP
 * session (`host:port|Mcp-Session-Id`; a server without sessions gives '' as the id).
 */
export class ElicitingClients {
  private readonly bySession = new Map<string, ElicitingClient>();

  remember(scope: string, client: ElicitingClient | null): void {
    this.bySession.delete(scope);
    if (!client) return;
    this.bySession.set(scope, client);
    if (this.bySession.size > MAX_SESSIONS) {
      const oldest = this.bySession.keys().next().value;
      if (oldest !== undefined) this.bySession.delete(oldest);
    }
  }

  get(scope: string): ElicitingClient | undefined {
    return this.bySession.get(scope);
  }
}
