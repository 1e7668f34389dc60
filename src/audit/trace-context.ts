import type { Envelope, TraceContext } from '../types.js';

/** W3C trace context version 00: trace id, parent span id, flags. */
export const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const MAX_TRACESTATE = 512;

/** A `traceparent`/`tracestate` pair as carried (headers or `_meta`); undefined when malformed. */
export function traceContext(traceparent: unknown, tracestate: unknown): TraceContext | undefined {
  if (typeof traceparent !== 'string' || !TRACEPARENT.test(traceparent)) return undefined;
  return {
    traceparent,
    ...(typeof tracestate === 'string' && tracestate.length <= MAX_TRACESTATE ? { tracestate } : {}),
  };
}

/**
 * The trace context a request carries, in MCP `params._meta` (`traceparent`, `tracestate`) or
 * else in its HTTP headers, so its audit records, and the LogRecords shipped from them, join
 * the agent's trace. Malformed values are ignored rather than recorded.
 */
export function traceOf(env: Envelope): TraceContext | undefined {
  const params = (env.message as { params?: unknown }).params;
  const meta =
    params && typeof params === 'object' && !Array.isArray(params)
      ? (params as Record<string, unknown>)['_meta']
      : undefined;
  if (meta && typeof meta === 'object' && !Array.isArray(meta)) {
    const { traceparent, tracestate } = meta as Record<string, unknown>;
    const fromMeta = traceContext(traceparent, tracestate);
    if (fromMeta) return fromMeta;
  }
  return env.httpTrace;
}
