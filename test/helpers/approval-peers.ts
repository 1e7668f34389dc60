import { readFileSync } from 'node:fs';
import { runGov } from './gov-process.js';

/** Shared by the approval-channel e2e tests: audit reading, polling, `gov pending`. */
import type { Json } from './audit-records.js';

export { auditRecords, type Json } from './audit-records.js';

export async function until<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function pendingCalls(home: string): Promise<Json[]> {
  const r = await runGov(['pending', '--json'], { env: { GOV_HOME: home } });
  if (r.code !== 0) throw new Error(`gov pending failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Json[];
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
