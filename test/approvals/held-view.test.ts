/**
 * What an approver (and a notify hook) is shown of a held call: secrets redacted everywhere,
 * and enough of the call to know what is being approved.
 */
import { describe, expect, it } from 'vitest';
import { toEnvelope } from '../../src/mcp/envelope.js';
import { notificationBody } from '../../src/approvals/notify.js';
import type { Envelope, HeldCall, JsonObject } from '../../src/types.js';
import { testPipeline } from '../helpers/test-pipeline.js';

const SECRET = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
const POLICY = `version: 1
default: allow
approval_timeout: 200ms
rules:
  - id: reads-need-a-person
    method: resources/read
    uri: "https://**"
    decision: approve
  - id: cancels-need-a-person
    method: tasks/cancel
    decision: approve
`;
const SERVER = { name: 'files', url: 'https://files.example/mcp' };

function env(method: string, params: JsonObject): Envelope {
  const raw: JsonObject = { jsonrpc: '2.0', id: 1, method, params };
  return toEnvelope({ kind: 'request', id: 1, method, params, raw }, { transport: 'http', server: SERVER });
}

async function heldOf(e: Envelope): Promise<HeldCall> {
  const { pipeline, broker } = await testPipeline(POLICY);
  let held: HeldCall | undefined;
  broker.subscribe((ev) => {
    if (ev.type === 'held') held = ev.call;
  });
  await pipeline.govern(e); // nobody answers: times out
  expect(held).toBeDefined();
  return held!;
}

describe('held calls as approvers and notify hooks see them', () => {
  it('a secret in a held resources/read uri is redacted in the notify body', async () => {
    const held = await heldOf(env('resources/read', { uri: `https://api.example/export?token=${SECRET}` }));
    expect(JSON.stringify(notificationBody(held))).not.toContain(SECRET);
  });

  it('a held tasks/cancel shows the approver which task it cancels', async () => {
    const held = await heldOf(env('tasks/cancel', { taskId: 'task-victim-42' }));
    expect(JSON.stringify(notificationBody(held))).toContain('task-victim-42');
  });
});
