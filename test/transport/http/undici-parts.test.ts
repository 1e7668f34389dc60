import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { installPath } from '../../../src/install-path.js';

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

  // gov loads them from their bundle (dist/bundle/undici.cjs, src/transport/http/undici-parts.ts),
  // a copy of their own: not the same objects as the entry point's, the same code.
  it('are in the bundle gov loads, under the names gov uses', () => {
    const load = createRequire(import.meta.url);
    const { requireBundle } = load(installPath('bin', 'load-bundle.js')) as {
      requireBundle(file: string): Record<string, unknown>;
    };
    const parts = requireBundle(installPath('dist', 'bundle', 'undici.cjs'));
    const Agent = parts['Agent'] as { prototype: { dispatch: unknown; close: unknown } };
    const errors = parts['errors'] as { RequestAbortedError: new () => Error };
    expect(typeof Agent.prototype.dispatch).toBe('function');
    expect(typeof Agent.prototype.close).toBe('function');
    expect(new errors.RequestAbortedError()).toMatchObject({ name: 'AbortError', code: 'UND_ERR_ABORTED' });
    expect(typeof parts['request']).toBe('function');
    expect(typeof parts['buildConnector']).toBe('function');
  });
});
