import { describe, expect, it } from 'vitest';
import { call, httpServer, message, policy } from './helpers.js';

const P = policy(`version: 1
servers:
  payments: https://mcp.payments.internal/*
rules:
  - id: big-refunds
    server: payments
    tool: ["refund*", "payout"]
    when: args.amount > 1000 && args.currency != "tool"
    decision: approve
  - id: no-shell
    tool: "shell*"
    decision: deny
  - id: no-env
    method: resources/read
    uri: "file:///**/.env"
    decision: deny
`);

function explain(input: Parameters<typeof P.decide>[0]): string | undefined {
  return P.explain(input, P.decide(input));
}

describe('which part of a rule matched', () => {
  it('names the tool glob, the server and the when expression with the values it saw', () => {
    const input = call('refund_card', {
      server: httpServer('payments'),
      args: { amount: 5000, currency: 'EUR' },
    });
    expect(explain(input)).toBe(
      'tool "refund_card" matched "refund*", server "payments", when args.amount > 1000 && args.currency != "tool" saw args.amount = 5000, args.currency = "EUR"',
    );
  });

  it('says any server for a rule without one, and names the URI glob', () => {
    expect(explain(call('shell_exec'))).toBe('tool "shell_exec" matched "shell*", any server');
    expect(explain(message('resources/read', { uri: 'file:///app/.env' }))).toBe(
      'uri "file:///app/.env" matched "file:///**/.env", any server',
    );
  });

  it('sanitises and truncates the values it quotes, and marks missing ones', () => {
    const evil = `\u001b[31m${'x'.repeat(100)}\u202e`;
    const text = explain(
      call('payout', { server: httpServer('payments'), args: { amount: 2000, currency: evil } }),
    );
    expect(text).not.toMatch(/[\u001b\u202e]/);
    expect(text).toMatch(/args\.currency = "\\u001b\[31mx+…$/);
    expect(text?.length).toBeLessThan(250);
    // A missing argument makes `when` fail to evaluate (a denial); the text says why.
    expect(explain(call('payout', { server: httpServer('payments'), args: {} }))).toMatch(
      /saw args\.amount = missing, args\.currency = missing$/,
    );
  });

  it('has nothing to add when no rule decided', () => {
    expect(explain(call('unknown_tool'))).toBeUndefined();
    expect(explain(message('tools/list'))).toBeUndefined();
  });
});
