/**
 * Table-driven policy tests (`gov policy test`): a YAML file of cases, each a hypothetical
 * call and the decision (and optionally the rule) it must get. Parsing reports problems as
 * file:line:col like the policy itself; running is pure and synchronous — a case is one
 * decide() — so thousands of cases run in a pre-commit hook.
 */
import { z } from 'zod';
import type { DecisionKind, JsonObject } from '../types.js';
import type { CompiledPolicy } from './compiled.js';
import { hypotheticalInput } from './hypothetical.js';
import { policyErrorMap } from './schema-errors.js';
import { issueFromZod, readYamlSource } from './yaml-source.js';

export interface PolicyTestCase {
  name: string;
  /** `file:line:col` of the case, for the report. */
  at: string;
  call: {
    method: string;
    tool?: string;
    uri?: string;
    server?: string;
    args: JsonObject;
    principal?: string;
    annotations?: JsonObject;
    pinned?: boolean;
  };
  expect: { decision: DecisionKind; rule?: string };
}

export interface PolicyTestResult {
  name: string;
  at: string;
  ok: boolean;
  expected: { decision: DecisionKind; rule?: string };
  actual: { decision: DecisionKind; rule: string; reason: string };
}

const TOOL_METHODS = ['tools/call', 'prompts/get'];
const jsonObject = z.record(z.unknown()).transform((v) => v as JsonObject);

const testCase = z
  .object({
    name: z.string().min(1),
    call: z
      .object({
        tool: z.string().min(1).optional(),
        server: z.string().min(1).optional(),
        args: jsonObject.optional(),
        method: z.string().min(1).optional(),
        uri: z.string().min(1).optional(),
        // The gateway's authenticated client (`principal` in `when`), and the tool's
        // annotations and pin state (`tool_annotations`, `tool_pinned`).
        principal: z.string().min(1).optional(),
        annotations: jsonObject.optional(),
        pinned: z.boolean().optional(),
      })
      .strict()
      .superRefine((c, ctx) => {
        const method = c.method ?? 'tools/call';
        if (TOOL_METHODS.includes(method) && c.tool === undefined)
          ctx.addIssue({ code: 'custom', path: ['tool'], message: `a ${method} call needs a tool` });
      }),
    expect: z
      .object({
        decision: z.enum(['allow', 'deny', 'approve']),
        rule: z.string().min(1).optional(),
      })
      .strict(),
  })
  .strict();

const testFile = z.object({ cases: z.array(testCase) }).strict();

export type PolicyTestsParse = { ok: true; cases: PolicyTestCase[] } | { ok: false; problems: string[] };

export function parsePolicyTests(text: string, label: string): PolicyTestsParse {
  const read = readYamlSource(text, label);
  if (!read.ok) return read;
  const { data, locate, where } = read.source;
  const r = testFile.safeParse(data, { errorMap: policyErrorMap });
  if (!r.success) return { ok: false, problems: locate(r.error.issues.map(issueFromZod)) };
  const cases = r.data.cases.map((c, i): PolicyTestCase => {
    const call: PolicyTestCase['call'] = { method: c.call.method ?? 'tools/call', args: c.call.args ?? {} };
    if (c.call.tool !== undefined) call.tool = c.call.tool;
    if (c.call.uri !== undefined) call.uri = c.call.uri;
    if (c.call.server !== undefined) call.server = c.call.server;
    if (c.call.principal !== undefined) call.principal = c.call.principal;
    if (c.call.annotations !== undefined) call.annotations = c.call.annotations;
    if (c.call.pinned !== undefined) call.pinned = c.call.pinned;
    const expect: PolicyTestCase['expect'] = { decision: c.expect.decision };
    if (c.expect.rule !== undefined) expect.rule = c.expect.rule;
    return { name: c.name, at: where(['cases', i]), call, expect };
  });
  return { ok: true, cases };
}

export function runPolicyTests(
  policy: Pick<CompiledPolicy, 'decide' | 'resolveServer'>,
  cases: PolicyTestCase[],
): PolicyTestResult[] {
  return cases.map((c) => {
    const d = policy.decide(hypotheticalInput(policy, { ...c.call, run: 'test' }));
    const ok = d.decision === c.expect.decision && (c.expect.rule === undefined || d.rule === c.expect.rule);
    return {
      name: c.name,
      at: c.at,
      ok,
      expected: c.expect,
      actual: { decision: d.decision, rule: d.rule, reason: d.reason },
    };
  });
}
