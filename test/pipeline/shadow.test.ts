import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pipeline } from '../../src/pipeline.js';
import { loadPolicyFromText } from '../../src/policy/load.js';
import { ConstraintTracker } from '../../src/policy/constraints.js';
import { ApprovalBroker } from '../../src/approvals/broker.js';
import { createRedactor } from '../../src/safety/redact.js';
import { nodeAuditFs } from '../../src/audit/audit-fs.js';
import { openAuditSink, type FileAuditSink } from '../../src/audit/sink.js';
import { digestArgs } from '../../src/audit/canonical.js';
import { toEnvelope } from '../../src/mcp/envelope.js';
import type { Envelope, JsonObject } from '../../src/types.js';
import { tempHome } from '../helpers/gov-process.js';

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

const sinks: FileAuditSink[] = [];
afterEach(async () => {
  for (const s of sinks.splice(0)) await s.close().catch(() => undefined);
});

async function build(shadow: boolean) {
  const audit = await openAuditSink({ dir: join(tempHome(), 'audit'), run: 'r-shadow', fsImpl: nodeAuditFs });
  sinks.push(audit);
  const broker = new ApprovalBroker();
  const pipeline = new Pipeline({
    run: 'r-shadow',
    policy: loadPolicyFromText(POLICY, 'shadow.yaml'),
    constraints: new ConstraintTracker(),
    approvals: broker,
    audit,
    redactor: createRedactor({ vaultValues: new Map(), vault: true, secrets: true }),
    digestArgs,
    shadow,
    log: { debug: () => {}, warn: () => {} },
  });
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
