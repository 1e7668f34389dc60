import { describe, expect, it } from 'vitest';

/**
 * gov loads four of undici's modules instead of its entry point (src/transport/http/upstream.ts).
 * They must be the very classes and functions undici's public API exports: a release that moves
 * or reshapes them fails here, not at a user's first upstream request.
 */
describe("undici's parts gov loads", () => {
  it('are what the entry point exports', async () => {
    const undici = await import('undici');
    const { default: Agent } = await import('undici/lib/dispatcher/agent.js');
    const { default: errors } = await import('undici/lib/core/errors.js');
    const { default: request } = await import('undici/lib/api/api-request.js');
    const { default: buildConnector } = await import('undici/lib/core/connect.js');
    expect(Agent).toBe(undici.Agent);
    expect(errors.RequestAbortedError).toBe(undici.errors.RequestAbortedError);
    expect(request).toBe(undici.Agent.prototype.request);
    expect(buildConnector).toBe(undici.buildConnector);
  });
});
