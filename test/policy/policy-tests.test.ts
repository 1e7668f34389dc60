import { describe, expect, it } from 'vitest';
import { parsePolicyTests, runPolicyTests } from '../../src/policy/policy-tests.js';
import { STARTER_POLICY_TEXT } from '../../src/policy/starter-policy.js';
import { STARTER_TESTS_TEXT } from '../../src/policy/starter-tests.js';
import { policy } from './helpers.js';

const POLICY = policy(`version: 1
servers:
  payments: https://mcp.payments.internal/*
rules:
  - id: small-refunds
    server: payments
    tool: refund
    when: args.amount <= 1000
    decision: allow
  - id: refunds
    tool: refund
    decision: approve
  - id: no-secret-reads
    method: resources/read
    uri: "file:///**/.env"
    decision: deny
`);

function parsed(text: string) {
  const r = parsePolicyTests(text, 'gov.test.yaml');
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.cases;
}

describe('policy test files', () => {
  it('reads the documented layout, with file:line:col for each case', () => {
    const cases = parsed(`cases:
  - name: small refunds pass
    call: {tool: refund, server: payments, args: {amount: 50}}
    expect: {decision: allow, rule: small-refunds}
  - name: env files
    call: {method: resources/read, uri: "file:///app/.env", principal: alice, annotations: {readOnlyHint: true}}
    expect: {decision: deny}
`);
    expect(cases.map((c) => c.at)).toEqual(['gov.test.yaml:2:5', 'gov.test.yaml:5:5']);
    expect(cases[0]).toMatchObject({
      name: 'small refunds pass',
      call: { method: 'tools/call', tool: 'refund', server: 'payments', args: { amount: 50 } },
      expect: { decision: 'allow', rule: 'small-refunds' },
    });
  });

  it('decides each case and reports expected against actual', () => {
    const results = runPolicyTests(
      POLICY,
      parsed(`cases:
  - name: small refunds pass
    call: {tool: refund, server: payments, args: {amount: 50}}
    expect: {decision: allow, rule: small-refunds}
  - name: a registry URL resolves to its name
    call: {tool: refund, server: "https://mcp.payments.internal/mcp", args: {amount: 5}}
    expect: {decision: allow}
  - name: big refunds pass too (wrong)
    call: {tool: refund, server: payments, args: {amount: 5000}}
    expect: {decision: allow}
  - name: right decision, wrong rule
    call: {tool: refund, args: {amount: 1}}
    expect: {decision: approve, rule: small-refunds}
`),
    );
    expect(results.map((r) => r.ok)).toEqual([true, true, false, false]);
    expect(results[2]?.actual).toMatchObject({ decision: 'approve', rule: 'refunds' });
    expect(results[3]?.actual).toMatchObject({ decision: 'approve', rule: 'refunds' });
  });

  it('reports a malformed file as file:line:col problems', () => {
    const r = parsePolicyTests(
      `cases:
  - name: typo
    call: {tol: refund}
    expect: {decision: maybe}
  - name: no tool
    call: {server: payments}
    expect: {decision: deny}
`,
      't.yaml',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toContain("t.yaml:3:12: unknown key 'tol'");
    expect(r.problems).toContain("t.yaml:4:24: expected one of allow, deny, approve, got 'maybe'");
    expect(r.problems).toContain('t.yaml:6:11: a tools/call call needs a tool');
    expect(parsePolicyTests('cases: [\n', 'u.yaml')).toMatchObject({ ok: false });
    expect(parsePolicyTests('{}\n', 'v.yaml')).toEqual({
      ok: false,
      problems: ["v.yaml:1:1: missing required key 'cases'"],
    });
  });

  it('the starter tests pass against the starter policy', () => {
    const results = runPolicyTests(policy(STARTER_POLICY_TEXT), parsed(STARTER_TESTS_TEXT));
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(5);
  });
});
