import type { Envelope, TraceContext } from '../types.js';

/** W3C trace context version 00: trace id, parent span id, flags. */
export const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const MAX_TRACESTATE = 512;

/**
 * The trace context a request carries in MCP `params._meta` (`traceparent`, `tracestate`),
 * so its audit records, and the LogRecords shipped from them, join the agent's trace.
 * Malformed values are ignored rather than recorded.
 */
export function traceOf(env: Envelope): TraceContext | undefined {
  const params = (env.message as { params?: unknown }).params;
  if (!params || typeof params !== 'object' || Array.isArray(params)) return undefined;
  const meta = (params as Record<string, unknown>)['_meta'];
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) return undefined;
  const { traceparent, tracestate } = meta as Record<string, unknown>;
  if (typeof traceparent !== 'string' || !TRACEPARENT.test(traceparent)) return undefined;
  return {
    traceparent,
    ...(typeof tracestate === 'string' && tracestate.length <= MAX_TRACESTATE ? { tracestate } : {}),
  };
}
