/**
 * "Approve <tool> for the rest of this run" names one tool: it must not approve another
 * method's call that happens to share the target text (a prompt of the same name, or any
 * held method that has no name or uri at all).
 */
import { describe, expect, it } from 'vitest';
import { toEnvelope } from '../../src/mcp/envelope.js';
import type { Envelope, JsonObject } from '../../src/types.js';
import { testPipeline } from '../helpers/test-pipeline.js';

const POLICY = `version: 1
default: allow
approval_timeout: 300ms
rules:
  - id: deploy-tool
    tool: deploy
    decision: approve
  - id: deploy-prompt
    method: prompts/get
    tool: deploy
    decision: approve
  - id: held-methods
    method: [logging/setLevel, resources/list]
    decision: approve
`;

const SERVER = { name: 'ops', url: 'https://ops.example/mcp' };
let n = 0;
function env(method: string, params: JsonObject): Envelope {
  n += 1;
  const raw: JsonObject = { jsonrpc: '2.0', id: n, method, params };
  return toEnvelope({ kind: 'request', id: n, method, params, raw }, { transport: 'http', server: SERVER });
}

async function approveRunOnFirst(first: Envelope, second: Envelope) {
  const { pipeline, broker } = await testPipeline(POLICY);
  const off = broker.subscribe((ev) => {
    if (ev.type === 'held') broker.settle(ev.call.id, { approved: true, approver: 'tui', always: true });
  });
  expect((await pipeline.govern(first)).action).toBe('forward');
  off();
  // Nobody answers now: the second call must wait (and time out), not pass on the first's "A".
  const held: string[] = [];
  broker.subscribe((ev) => {
    if (ev.type === 'held') held.push(ev.call.method);
  });
  const g = await pipeline.govern(second);
  return { action: g.action, held };
}

describe('approve_run is scoped to the method it was given for', () => {
  it('A on tools/call deploy does not approve prompts/get deploy', async () => {
    const r = await approveRunOnFirst(
      env('tools/call', { name: 'deploy', arguments: { env: 'staging' } }),
      env('prompts/get', { name: 'deploy', arguments: { env: 'prod' } }),
    );
    expect(r).toEqual({ action: 'respond', held: ['prompts/get'] });
  });

  it('A on a held logging/setLevel does not approve a held resources/list', async () => {
    const r = await approveRunOnFirst(env('logging/setLevel', { level: 'debug' }), env('resources/list', {}));
    expect(r).toEqual({ action: 'respond', held: ['resources/list'] });
  });
});
