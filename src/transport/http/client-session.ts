import type { Exchange } from '../../proxy/server.js';

/**
 * One client's MCP session as gov tells it apart: the server's `host:port`, under gov serve
 * the route it came through and the client's edge identity, and its `Mcp-Session-Id`. A
 * session id is only its server's name for the session: servers behind two routes (or two
 * paths of one host) may both issue `1`.
 */
export function clientSession(
  ex: Pick<Exchange, 'target' | 'principal' | 'route'>,
  sessionId: string | undefined,
): string {
  return JSON.stringify([
    `${ex.target.host}:${ex.target.port}`,
    ex.route ?? '',
    ex.principal ?? '',
    sessionId ?? '',
  ]);
}
