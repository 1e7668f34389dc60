/**
 * What gov itself says on the wire: JSON-RPC errors and denial results. The exact texts
 * are part of the contract (SPEC §5) — agents, tests and humans match on them.
 */
import type { JsonObject, JsonRpcId, JsonValue } from '../types.js';

/** JSON-RPC error code for every gov denial (policy, approver, timeout). */
export const DENIAL_CODE = -32003;
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;

export interface JsonRpcErrorResponse {
  jsonrpc: '2.0';
  id: JsonRpcId;
  error: { code: number; message: string; data?: JsonValue };
}

export interface JsonRpcResultResponse {
  jsonrpc: '2.0';
  id: JsonRpcId;
  result: JsonValue;
}

export type GovResponse = JsonRpcErrorResponse | JsonRpcResultResponse;

/** How a denial is delivered: a JSON-RPC error (default) or an `isError` tool result. */
export type DenyAs = 'error' | 'result';

export interface DenialInfo {
  rule: string;
  reason: string;
  audit_id: string;
  /** Which part of the rule matched (tool glob, server, `when` and its values). */
  explanation?: string;
}

export interface DenialOptions {
  denyAs?: DenyAs;
}

export function jsonRpcError(
  id: JsonRpcId,
  code: number,
  message: string,
  data?: JsonValue,
): JsonRpcErrorResponse {
  const error: JsonRpcErrorResponse['error'] = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: '2.0', id, error };
}

export function jsonRpcResult(id: JsonRpcId, result: JsonValue): JsonRpcResultResponse {
  return { jsonrpc: '2.0', id, result };
}

/** `{content:[{type:'text', text}], isError: true}` — the `deny_as: result` shape. */
export function errorToolResult(text: string): JsonObject {
  return { content: [{ type: 'text', text }], isError: true };
}

function deny(id: JsonRpcId, message: string, data: JsonObject, opts: DenialOptions): GovResponse {
  return opts.denyAs === 'result'
    ? jsonRpcResult(id, errorToolResult(message))
    : jsonRpcError(id, DENIAL_CODE, message, data);
}

export function policyDenialMessage(rule: string, reason: string): string {
  return `Denied by gov policy rule '${rule}': ${reason}`;
}

/** A policy denial: -32003 `Denied by gov policy rule '<id>': <reason>`. */
export function policyDenial(id: JsonRpcId, d: DenialInfo, opts: DenialOptions = {}): GovResponse {
  return deny(
    id,
    policyDenialMessage(d.rule, d.reason),
    {
      decision: 'deny',
      rule: d.rule,
      reason: d.reason,
      audit_id: d.audit_id,
      ...(d.explanation !== undefined ? { explanation: d.explanation } : {}),
    },
    opts,
  );
}

/** A human said no: -32003 `Denied by approver: <reason>`. */
export function approverDenial(
  id: JsonRpcId,
  reason: string,
  d: Omit<DenialInfo, 'reason'>,
  opts: DenialOptions = {},
): GovResponse {
  return deny(
    id,
    `Denied by approver: ${reason}`,
    { decision: 'deny', rule: d.rule, reason, audit_id: d.audit_id },
    opts,
  );
}

/** Nobody answered in time: -32003 `Approval timed out after <duration>`. */
export function approvalTimeout(
  id: JsonRpcId,
  durationText: string,
  d: Omit<DenialInfo, 'reason'>,
  opts: DenialOptions = {},
): GovResponse {
  const reason = `Approval timed out after ${durationText}`;
  return deny(id, reason, { decision: 'deny', rule: d.rule, reason, audit_id: d.audit_id }, opts);
}

/** -32700 for a body that is not strict JSON. */
export function parseErrorResponse(reason: string, id: JsonRpcId = null): JsonRpcErrorResponse {
  return jsonRpcError(id, PARSE_ERROR, `Parse error: ${reason}`);
}

/** -32600 for JSON that is not a valid JSON-RPC request. */
export function invalidRequestResponse(reason: string, id: JsonRpcId = null): JsonRpcErrorResponse {
  return jsonRpcError(id, INVALID_REQUEST, `Invalid Request: ${reason}`);
}

/** Answer for a `malformed` parse result. */
export function malformedResponse(m: {
  code: -32700 | -32600;
  reason: string;
  id: JsonRpcId;
}): JsonRpcErrorResponse {
  return m.code === PARSE_ERROR ? parseErrorResponse(m.reason, m.id) : invalidRequestResponse(m.reason, m.id);
}

/**
 * JSON text of one message or a batch (no trailing newline; stdio framing adds its own).
 * JSON.stringify never emits raw U+2028/U+2029 problems for JSON consumers, and escapes lone
 * surrogates (well-formed JSON.stringify), so the output is always valid UTF-8 JSON.
 */
export function serializeMessage(
  msg: JsonValue | GovResponse | readonly (JsonValue | GovResponse)[],
): string {
  return JSON.stringify(msg);
}
