/** Shared by the approval-channel e2e tests: audit reading, held calls, executed calls, policies. */
import { readFileSync } from 'node:fs';
import { listPending, unreachableError } from '../../src/approvals/client.js';
import { pendingEntry } from '../../src/approvals/pending-entry.js';
import type { Json } from './audit-records.js';

export { auditRecords, type Json } from './audit-records.js';

/**
 * What `gov pending --json` prints, asked of the live runs' control sockets from this process:
 * the tests poll it, and a `gov` process per poll cost about 0.1 s of CPU each. The command
 * itself is tested where its output is the subject (held-flood, serve, approvals).
 */
export async function pendingCalls(home: string): Promise<Json[]> {
  const { calls, unreachable } = await listPending(home);
  if (unreachable.length) throw new Error(`gov pending failed: ${unreachableError(unreachable).message}`);
  return JSON.parse(JSON.stringify(calls.map(pendingEntry))) as Json[];
}

/** Lines of the fixture server's EXEC_LOG (each one a call that really ran). */
export function executed(log: string): string[] {
  try {
    return readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

export function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, ...extra };
}

/** The stdio elicitation tests' policy: `shell_exec` needs a person; `approvals` as given. */
export function shellApprovalPolicy(approvals: string): string {
  return [
    'version: 1',
    'default: allow',
    'approval_timeout: 1h',
    'rules:',
    '  - id: shell-needs-human',
    '    tool: shell_exec',
    '    decision: approve',
    '    reason: Shell commands need a person',
    `approvals: ${approvals}`,
    '',
  ].join('\n');
}
