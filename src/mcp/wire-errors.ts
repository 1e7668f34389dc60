/**
 * What gov itself says on the wire: JSON-RPC errors and denial results. The exact texts
 * are part of the contract (SPEC §5) — agents, tests and humans match on them.
 */
import type { JsonObject, JsonRpcId, JsonValue } from '../types.js';

/**
 * JSON-RPC error code for every gov denial (policy, approver, timeout). It lies in the
 * -32000..-32019 sub-range 2026-07-28 calls legacy (receivers assume no meaning for it), which
 * is what an implementation-defined denial needs; -32020..-32099 is the specification's own.
 */
export const DENIAL_CODE = -32003;
/** `HeaderMismatch` (2026-07-28): Mcp-* headers disagree with the body; sent with HTTP 400. */
export const HEADER_MISMATCH = -32020;
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

/**
 * `{content:[{type:'text', text}], isError: true}` — the `deny_as: result` shape. 2026-07-28
 * clients require `resultType` on every result; older ones ignore the extra member.
 */
export function errorToolResult(text: string): JsonObject {
  return { resultType: 'complete', content: [{ type: 'text', text }], isError: true };
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

/** JSON-RPC code for a call gov cut off at its time limit (the MCP SDK's RequestTimeout). */
export const TIMEOUT_CODE = -32001;

/** A forwarded call the server did not answer within its rule's `constraints.timeout`. */
export function upstreamTimeoutError(
  id: JsonRpcId,
  d: { rule: string; limitText: string; timeout_ms: number; audit_id: string },
): JsonRpcErrorResponse {
  const reason = `no answer from the server within ${d.limitText} (rule '${d.rule}', constraints.timeout)`;
  return jsonRpcError(id, TIMEOUT_CODE, `Timed out by gov: ${reason}`, {
    rule: d.rule,
    reason,
    timeout_ms: d.timeout_ms,
    audit_id: d.audit_id,
  });
}

/** -32700 for a body that is not strict JSON. */
export function parseErrorResponse(reason: string, id: JsonRpcId = null): JsonRpcErrorResponse {
  return jsonRpcError(id, PARSE_ERROR, `Parse error: ${reason}`);
}

/** -32600 for JSON that is not a valid JSON-RPC request. */
export function invalidRequestResponse(reason: string, id: JsonRpcId = null): JsonRpcErrorResponse {
  return jsonRpcError(id, INVALID_REQUEST, `Invalid Request: ${reason}`);
}

/** -32020 `HeaderMismatch` for Mcp-* headers that disagree with the body. */
export function headerMismatchResponse(reason: string, id: JsonRpcId = null): JsonRpcErrorResponse {
  return jsonRpcError(id, HEADER_MISMATCH, reason);
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
