import { describe, expect, it } from 'vitest';
import { clientSession } from '../../../src/transport/http/client-session.js';
import { ElicitingClients } from '../../../src/transport/http/eliciting-clients.js';
import { answerScope } from '../../../src/transport/http/answer-server.js';
import type { Exchange } from '../../../src/proxy/server.js';
import type { ElicitingClient } from '../../../src/approvals/elicitation.js';

const target = { scheme: 'http' as const, host: 'h', port: 80 };
const onRoute = (route: string | undefined, principal?: string) =>
  ({
    target,
    url: 'http://h/mcp',
    ...(route !== undefined ? { route } : {}),
    ...(principal !== undefined ? { principal } : {}),
  }) as Exchange;

/** Two servers behind routes /a and /b of one host both name their session `1`. */
describe("a session id is one route's", () => {
  it('clientSession (cancellation, eliciting clients): route, principal and id each tell sessions apart', () => {
    const keys = [
      clientSession(onRoute('/a'), '1'),
      clientSession(onRoute('/b'), '1'),
      clientSession(onRoute('/a', 'token:x'), '1'),
      clientSession(onRoute('/a'), '2'),
      clientSession(onRoute(undefined), '1'),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(clientSession(onRoute('/a'), '1')).toBe(clientSession(onRoute('/a'), '1'));
  });

  it("an eliciting client of /a's session 1 is not asked about /b's session 1", () => {
    const clients = new ElicitingClients(true);
    const client = { info: { name: 'a-client' }, name: 'a-client' } as unknown as ElicitingClient;
    clients.remember(onRoute('/a'), '1', client);
    expect(clients.get(onRoute('/a'), '1')).toBe(client);
    expect(clients.get(onRoute('/b'), '1')).toBeUndefined();
  });

  it("a server request shown on /a's session 1 is not answered through /b's", () => {
    expect(answerScope(onRoute('/a'), '1')).not.toBe(answerScope(onRoute('/b'), '1'));
    expect(answerScope(onRoute('/a', 'p'), '1')).not.toBe(answerScope(onRoute('/a', 'q'), '1'));
    expect(answerScope(onRoute('/a'), '1')).toBe(answerScope(onRoute('/a'), '1'));
  });
});
