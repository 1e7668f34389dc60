import { filterToolsList, serverInfoOf } from '../mcp/responses.js';
import { type JsonObject, type JsonValue, isPlainObject } from '../types.js';
import type { CallContext, Pipeline } from '../pipeline.js';
import type { LegacySession } from './legacy-sessions.js';

function isJsonRpc(v: unknown): v is JsonObject {
  return isPlainObject(v) && v['jsonrpc'] === '2.0';
}

/**
 * Scans server→client messages of one exchange (a JSON body or the events of an SSE stream):
 * correlates responses with the calls they answer, lets the pipeline filter and redact them,
 * and writes each call's outcome record once.
 */
export class ServerMessageProcessor {
  private readonly pipeline: Pipeline;
  private readonly pending: Map<string | number, CallContext>;
  private readonly upstreamStart: number;

  constructor(
    pipeline: Pipeline,
    pending: Map<string | number, CallContext>,
    upstreamStart = performance.now(),
  ) {
    this.pipeline = pipeline;
    this.pending = pending;
    this.upstreamStart = upstreamStart;
  }

  /** Returns the rewritten text, or null when the text is not JSON-RPC or needs no change. */
  processText(text: string, session?: LegacySession): string | null {
    const first = text.trimStart()[0];
    if (first !== '{' && first !== '[') return this.redactPlain(text);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return this.redactPlain(text);
    }
    const r = this.processValue(value as JsonValue, session);
    return r.changed ? JSON.stringify(r.value) : null;
  }

  private redactPlain(text: string): string | null {
    const r = this.pipeline.deps.redactor.redactString(text);
    return Object.keys(r.counts).length ? r.text : null;
  }

  processValue(value: JsonValue, session?: LegacySession): { value: JsonValue; changed: boolean } {
    if (Array.isArray(value)) {
      let changed = false;
      const out = value.map((m) => {
        const r = this.processOne(m, session);
        changed ||= r.changed;
        return r.value;
      });
      return { value: changed ? out : value, changed };
    }
    return this.processOne(value, session);
  }

  private processOne(m: JsonValue, session?: LegacySession): { value: JsonValue; changed: boolean } {
    if (!isJsonRpc(m)) {
      const r = this.pipeline.deps.redactor.redactJson(m);
      return { value: r.value, changed: Object.keys(r.counts).length > 0 };
    }
    const id = m['id'];
    const isResponse = ('result' in m || 'error' in m) && !('method' in m);
    let call: CallContext | undefined;
    if (isResponse && (typeof id === 'string' || typeof id === 'number')) {
      const map = session?.pending ?? this.pending;
      call = map.get(id);
      if (call) map.delete(id);
    }
    const r = this.pipeline.processServerMessage(m, call, filterToolsList);
    if (call) {
      const message = isPlainObject(m['error']) ? (m['error']['message'] ?? 'error') : undefined;
      const err = message === undefined || typeof message === 'string' ? message : JSON.stringify(message);
      const serverInfo = call.env.method === 'initialize' ? serverInfoOf(m['result']) : null;
      void this.pipeline.recordOutcome(call, {
        status: err === undefined ? 'ok' : 'error',
        upstreamMs: performance.now() - (call.forwardedMs ?? this.upstreamStart),
        redactions: r.counts,
        ...(err !== undefined ? { error: err } : {}),
        ...(serverInfo ? { serverInfo } : {}),
      });
    }
    return { value: r.message, changed: r.changed };
  }

  /** Calls still waiting when their stream ended get an outcome too. */
  finish(status = 'no-response'): void {
    for (const call of this.pending.values()) {
      void this.pipeline.recordOutcome(call, {
        status,
        upstreamMs: performance.now() - (call.forwardedMs ?? this.upstreamStart),
      });
    }
    this.pending.clear();
  }
}
