import { describe, expect, it } from 'vitest';
import { classifyBody } from '../../src/mcp/classify.js';
import {
  approvalTimeout,
  approverDenial,
  headerMismatchResponse,
  invalidRequestResponse,
  jsonRpcError,
  malformedResponse,
  parseErrorResponse,
  policyDenial,
  serializeMessage,
} from '../../src/mcp/wire-errors.js';

const info = { rule: 'no-shell', reason: 'Shell tools are not allowed', audit_id: 'rec-1' };

describe('wire errors', () => {
  it('builds the policy denial of SPEC §5', () => {
    expect(policyDenial(7, info)).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: {
        code: -32003,
        message: "Denied by gov policy rule 'no-shell': Shell tools are not allowed",
        data: {
          decision: 'deny',
          rule: 'no-shell',
          reason: 'Shell tools are not allowed',
          audit_id: 'rec-1',
        },
      },
    });
  });

  it('builds the deny_as: result variant with the same text', () => {
    expect(policyDenial('a', info, { denyAs: 'result' })).toEqual({
      jsonrpc: '2.0',
      id: 'a',
      result: {
        resultType: 'complete',
        content: [
          { type: 'text', text: "Denied by gov policy rule 'no-shell': Shell tools are not allowed" },
        ],
        isError: true,
      },
    });
  });

  it('builds approver and timeout denials', () => {
    const a = approverDenial(1, 'not today', { rule: 'refunds', audit_id: 'r2' });
    expect(a).toMatchObject({
      error: {
        code: -32003,
        message: 'Denied by approver: not today',
        data: { decision: 'deny', rule: 'refunds' },
      },
    });
    const t = approvalTimeout(1, '2m', { rule: 'refunds', audit_id: 'r3' });
    expect(t).toMatchObject({ error: { code: -32003, message: 'Approval timed out after 2m' } });
    expect(approvalTimeout(1, '10s', { rule: 'r', audit_id: 'x' }, { denyAs: 'result' })).toMatchObject({
      result: { isError: true, content: [{ type: 'text', text: 'Approval timed out after 10s' }] },
    });
  });

  it('answers header mismatches with -32020 HeaderMismatch, a code from the 2026 specification range', () => {
    expect(headerMismatchResponse('Header mismatch: x', 4)).toEqual({
      jsonrpc: '2.0',
      id: 4,
      error: { code: -32020, message: 'Header mismatch: x' },
    });
  });

  it('builds parse and invalid-request errors, from a malformed classification too', () => {
    expect(parseErrorResponse('duplicate key "name"')).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32700, message: 'Parse error: duplicate key "name"' },
    });
    expect(invalidRequestResponse('x', 3).error.code).toBe(-32600);
    const m = classifyBody(new TextEncoder().encode('{"jsonrpc":"1.0","id":9,"method":"x"}'));
    if (m.kind !== 'malformed') throw new Error('expected malformed');
    expect(malformedResponse(m)).toMatchObject({ id: 9, error: { code: -32600 } });
  });

  it('omits data when absent and serialises batches', () => {
    expect('data' in jsonRpcError(1, -1, 'm').error).toBe(false);
    const s = serializeMessage([jsonRpcError(1, -1, 'm'), { jsonrpc: '2.0', id: 2, result: {} }]);
    expect(JSON.parse(s)).toHaveLength(2);
    const b = new TextEncoder().encode(serializeMessage(policyDenial(1, { ...info, reason: 'ünï\u2028' })));
    expect(classifyBody(b).kind).toBe('mcp');
  });
});
