import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { toEnvelope } from '../../src/mcp/envelope.js';
import type { Envelope, JsonObject } from '../../src/types.js';
import { testPipeline } from '../helpers/test-pipeline.js';

const POLICY = `version: 1
default: deny
rules:
  - id: no-shell
    tool: "shell*"
    decision: deny
  - id: try-refunds
    tool: refund
    decision: approve
    mode: shadow
  - id: bounded
    tool: write_note
    decision: allow
    constraints: { max_calls: 1 }
`;

let n = 0;
function env(tool: string, args: JsonObject = {}): Envelope {
  n += 1;
  const params = { name: tool, arguments: args };
  const raw: JsonObject = { jsonrpc: '2.0', id: n, method: 'tools/call', params };
  return toEnvelope(
    { kind: 'request', id: n, method: 'tools/call', params, raw },
    { transport: 'stdio', server: { name: 'fs', url: 'stdio:fs' } },
  );
}

async function build(shadow: boolean) {
  const { pipeline, broker, audit } = await testPipeline(POLICY, { shadow });
  const last = () =>
    JSON.parse(readFileSync(audit.path, 'utf8').trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
  return { pipeline, broker, last };
}

describe('shadow mode', () => {
  it('a rule in mode: shadow is recorded and forwarded, never held; other rules still enforce', async () => {
    const { pipeline, broker, last } = await build(false);
    const g = await pipeline.govern(env('refund', { amount: 5 }));
    expect(g.action).toBe('forward');
    expect(broker.list()).toEqual([]);
    expect(last()).toMatchObject({
      decision: 'allow',
      rule: 'try-refunds',
      shadow_decision: 'approve',
      shadow_rule: 'try-refunds',
      status: 'forwarded',
    });
    expect((await pipeline.govern(env('shell_exec'))).action).toBe('respond');
    expect(last()).toMatchObject({ decision: 'deny', rule: 'no-shell' });
    expect(last()['shadow_decision']).toBeUndefined();
  });

  it('--shadow makes every decision advisory, constraint refusals included', async () => {
    const { pipeline, last } = await build(true);
    expect((await pipeline.govern(env('shell_exec'))).action).toBe('forward');
    expect(last()).toMatchObject({ decision: 'allow', shadow_decision: 'deny', shadow_rule: 'no-shell' });
    expect((await pipeline.govern(env('write_note'))).action).toBe('forward');
    expect(last()['shadow_decision']).toBeUndefined();
    expect((await pipeline.govern(env('write_note'))).action).toBe('forward');
    expect(last()).toMatchObject({ shadow_decision: 'deny', shadow_rule: 'bounded' });
  });
});
