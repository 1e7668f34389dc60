import { serverInfoOf, withheldStructuredResult } from '../mcp/responses.js';
import { deniedServerRequestNotice, serverRequestsIn } from '../mcp/server-requests.js';
import { DENIAL_CODE, jsonRpcError } from '../mcp/wire-errors.js';
import {
  type JsonObject,
  type JsonValue,
  type ServerIdentity,
  type Transport,
  isPlainObject,
} from '../types.js';
import type { CallContext, Pipeline } from '../pipeline.js';
import type { VaultScan } from './stages.js';
import type { ToolsListing } from './server-scan.js';
import type { ToolParamHeaders } from '../mcp/param-headers.js';
import { createdTaskId } from './task-links.js';
import { taintIn } from './taint.js';
import { redactTextBlobs } from '../mcp/blob-redaction.js';
import { passesUnchanged } from './unchanged-text.js';
import { applyEdits, hasRepeatedKey, stringEdits, type TextEdit } from './string-edits.js';
import { EDGE_CHARS, idAtEdges } from '../mcp/recover-id.js';
import { bareValueLeft, withheldBare } from './bare-values.js';
import { decideServerRequest, recordServerRequest } from './server-request-policy.js';

function isJsonRpc(v: unknown): v is JsonObject {
  return isPlainObject(v) && v['jsonrpc'] === '2.0';
}

/** A legacy SSE session: its answers correlate with the calls POSTed to its endpoint. */
interface SessionCalls {
  pending: Map<string | number, CallContext>;
  /** Where the session's client POSTs (so gov's answers to the server go there too). */
  endpoint: string;
}

export interface ServerOrigin {
  server: ServerIdentity;
  transport: Transport;
  /** The stream's session, client and route (`gov serve`): whose taint an unmatched answer is. */
  sessionId?: string;
  principal?: string;
  route?: string;
}

export interface ProcessorOptions {
  /** When the exchange's upstream request started (performance.now()). */
  upstreamStart?: number;
  /** Learns `x-mcp-header` declarations from the tools/list results that pass. */
  toolHeaders?: ToolParamHeaders | undefined;
  /** The server this stream comes from, for governing its requests when no call says so. */
  origin?: ServerOrigin | undefined;
  /**
   * Sends gov's answer to a server→client request it denied back to that server, as the
   * client's answer would travel (so the server does not wait for one that never comes).
   */
  answerServer?: ((response: JsonObject, endpoint?: string) => void) | undefined;
  /**
   * Told of each server→client request relayed to the client, by id (and the legacy session's
   * endpoint): the client's answer to it, and only to such a request, is forwarded.
   */
  relayedRequest?: ((id: string | number, endpoint?: string) => void) | undefined;
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
  private readonly toolHeaders: ToolParamHeaders | undefined;
  private readonly origin: ServerOrigin | undefined;
  private readonly answerServer: ProcessorOptions['answerServer'];
  private readonly relayedRequest: ProcessorOptions['relayedRequest'];
  /** Redactions in the notifications of a call's stream (a subscription's updates), for its outcome. */
  private readonly streamRedactions = new Map<CallContext, Record<string, number>>();

  constructor(pipeline: Pipeline, pending: Map<string | number, CallContext>, opts: ProcessorOptions = {}) {
    this.pipeline = pipeline;
    this.pending = pending;
    this.upstreamStart = opts.upstreamStart ?? performance.now();
    this.toolHeaders = opts.toolHeaders;
    this.origin = opts.origin;
    this.answerServer = opts.answerServer;
    this.relayedRequest = opts.relayedRequest;
  }

  /** What redacts vault values in the headers of the response these messages arrive in. */
  get vaultScan(): VaultScan | undefined {
    return this.pipeline.deps.vaultScan;
  }

  /** Returns the rewritten text, or null when the text is not JSON-RPC or needs no change. */
  processText(text: string, session?: SessionCalls): string | null {
    const r = this.rewrite(text, session);
    return r === null || typeof r === 'string' ? r : applyEdits(text, r);
  }

  /**
   * Like processText, but a rewrite that changed only strings inside the JSON (redactions)
   * comes back as edits of `text`: the caller keeps the upstream's bytes around them.
   */
  rewrite(text: string, session?: SessionCalls): string | TextEdit[] | null {
    if (text.charCodeAt(0) === 0xfeff) {
      // fetch's response.json() and Python's json.loads(bytes) drop a leading BOM and read the
      // rest: so does gov, and the client gets the rest.
      const rest = text.slice(1);
      return this.processText(rest, session) ?? rest;
    }
    const waiting = (session?.pending ?? this.pending).size > 0;
    // A request (a ping too) is read when someone is to be told it was relayed.
    const request = this.relayedRequest !== undefined && text.includes('"id"') && text.includes('"method"');
    if (!request && passesUnchanged(text, this.pipeline.deps.redactor, waiting)) return null;
    const first = text.trimStart()[0];
    if (first !== '{' && first !== '[') return this.redactPlain(text);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return this.withheld(text, session);
    }
    const r = this.processValue(value as JsonValue, session);
    // Unchanged, the upstream's text goes on as it came — unless it repeats a key: then the
    // copies JSON.parse dropped (never scanned) are dropped for the client too. Changed, edits
    // are sound because processing copies on write: `value` is still what the text says.
    let out = r.changed ? (stringEdits(text, value as JsonValue, r.value) ?? JSON.stringify(r.value)) : null;
    if (!r.changed && hasRepeatedKey(text, r.value)) out = JSON.stringify(r.value);
    const bare = bareValueLeft(this.pipeline.deps.bareValueScan, text, out);
    return bare ? withheldBare(this.pipeline, this.origin, value) : out;
  }

  /**
   * A message that starts like JSON but is none is not relayed: a lenient client may still
   * read it (Python's json and pydantic take NaN and Infinity), unscanned and ungoverned. In
   * its place goes gov's error, under the id of the call it answers when its edges show one.
   */
  private withheld(text: string, session?: SessionCalls): string {
    const reason = 'gov withheld a message from the server: it is not valid JSON, so gov could not scan it';
    const map = session?.pending ?? this.pending;
    const id = idAtEdges(text.slice(0, EDGE_CHARS), text.slice(-EDGE_CHARS));
    const call = id === null ? undefined : map.get(id);
    if (!call) return JSON.stringify(jsonRpcError(null, -32603, reason));
    map.delete(id!);
    void this.pipeline.recordOutcome(call, {
      status: 'response-invalid',
      upstreamMs: performance.now() - (call.forwardedMs ?? this.upstreamStart),
      error: reason,
    });
    return JSON.stringify(jsonRpcError(id, -32603, reason));
  }

  private redactPlain(text: string): string | null {
    const r = this.pipeline.deps.redactor.redactString(text);
    return Object.keys(r.counts).length ? r.text : null;
  }

  processValue(value: JsonValue, session?: SessionCalls): { value: JsonValue; changed: boolean } {
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

  private processOne(m: JsonValue, session?: SessionCalls): { value: JsonValue; changed: boolean } {
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
    const listing = this.listingOf(m, isResponse, call);
    if (listing) this.toolHeaders?.learn(listing.server.url, m['result']);
    const refused = this.governServerRequests(m, call, session?.endpoint);
    if (refused) {
      if (call) void this.pipeline.recordOutcome(call, { status: 'denied-server-request', upstreamMs: 0 });
      return { value: refused, changed: true };
    }
    if (!isResponse && 'method' in m && (typeof id === 'string' || typeof id === 'number'))
      this.relayedRequest?.(id, session?.endpoint);
    // Text hidden in base64 resource blobs is scanned too; its redactions count with the rest.
    const blobs = redactTextBlobs(m, (s) => this.pipeline.deps.redactor.redactString(s));
    const r = this.pipeline.processServerMessage(blobs.value as JsonObject, call, listing);
    for (const [kind, n] of Object.entries(blobs.counts)) {
      r.counts[kind] = (r.counts[kind] ?? 0) + n;
      r.changed = true;
    }
    if (!isResponse && Object.keys(r.counts).length) this.countForStream(m, r.counts, session);
    if (isResponse && !call) this.taintUnmatched(r.message, r.counts);
    if (r.changed && isResponse) {
      const withheld = withheldStructuredResult(m['result'], r.message['result'], Object.keys(r.counts));
      if (withheld) r.message = { ...r.message, result: withheld };
    }
    if (call) {
      // The redacted error: the server may quote the credential gov injected in its message.
      const e = r.message['error'];
      const message = isPlainObject(e) ? (e['message'] ?? 'error') : undefined;
      const err = message === undefined || typeof message === 'string' ? message : JSON.stringify(message);
      // Self-reported and recorded per call (2026 has no initialize), redacted like the result.
      const serverInfo = serverInfoOf(r.message['result']);
      // A tasks/* answer describes its task; only other requests create one.
      const taskId = call.env.method.startsWith('tasks/') ? undefined : createdTaskId(m['result']);
      void this.pipeline.recordOutcome(call, {
        status: err === undefined ? 'ok' : 'error',
        upstreamMs: performance.now() - (call.forwardedMs ?? this.upstreamStart),
        redactions: this.withStreamRedactions(call, r.counts),
        ...(err !== undefined ? { error: err } : {}),
        ...(serverInfo ? { serverInfo } : {}),
        ...(taskId !== undefined ? { taskId } : {}),
      });
    }
    return { value: r.message, changed: r.changed };
  }

  /**
   * Whose tool list this answer shows, if it is one: the answer to a tools/list call, or any
   * result shaped like one (a `tools` array, what clients accept as one). An answer gov matched
   * to another call (a client that reused an id) or to none (a server may send it on another
   * stream, such as the standalone GET stream) still reaches a client that matches answers by
   * id: it is pinned and filtered all the same, as the list of that call's or stream's server.
   */
  private listingOf(
    m: JsonObject,
    isResponse: boolean,
    call: CallContext | undefined,
  ): ToolsListing | undefined {
    if (call?.env.method === 'tools/list') return call.env;
    const result = m['result'];
    if (!isResponse || !isPlainObject(result) || !Array.isArray(result['tools'])) return undefined;
    return call?.env ?? this.origin ?? this.anyPendingOrigin();
  }

  /** An answer that matches no call still reaches the client: it taints as a call's would. */
  private taintUnmatched(m: JsonObject, counts: Record<string, number>): void {
    const origin = this.origin ?? this.anyPendingOrigin();
    if (!origin || !('result' in m)) return;
    const why = taintIn(m['result'] ?? null, counts);
    if (why !== null) this.pipeline.taintUnmatched(origin, m['id'] ?? null, why);
  }

  /**
   * Server→client requests (2025 eras) and MRTR inputRequests (2026) go through policy with
   * the requesting server as `server`. Returns what replaces the message when one is denied.
   */
  private governServerRequests(
    m: JsonObject,
    call: CallContext | undefined,
    endpoint: string | undefined,
  ): JsonObject | null {
    const asks = serverRequestsIn(m);
    if (asks.length === 0) return null;
    const origin = call ? { server: call.env.server, transport: call.env.transport } : this.origin;
    // No known server (e.g. a stream gov cannot attribute): nothing to match rules against.
    const fallback = origin ?? this.anyPendingOrigin();
    if (!fallback) return null;
    for (const ask of asks) {
      const d = decideServerRequest(this.pipeline, ask, fallback);
      recordServerRequest(this.pipeline, ask, fallback, d);
      if (d.decision === 'allow') continue;
      const reason = `${d.reason} (rule ${d.rule})`;
      const id = m['id'];
      const denial = (message: string): JsonObject =>
        jsonRpcError(typeof id === 'string' || typeof id === 'number' ? id : null, DENIAL_CODE, message, {
          decision: 'deny',
          rule: d.rule,
          reason: d.reason,
        }) as unknown as JsonObject;
      if (ask.key === undefined) {
        // A 2025-era request: the server gets the denial as its answer, the client a notice.
        this.answerServer?.(denial(`gov denied the server's ${ask.method} request: ${reason}`), endpoint);
        return deniedServerRequestNotice(ask.method, reason);
      }
      return denial(`gov denied the server's ${ask.method} input request '${ask.key}': ${reason}`);
    }
    return null;
  }

  private anyPendingOrigin(): ServerOrigin | undefined {
    for (const c of this.pending.values()) return c.env;
    return undefined;
  }

  /**
   * A notification in a call's stream had secrets redacted: they count in that call's outcome.
   * The call is the one a 2026 subscription notification names, or the only call the stream
   * answers; otherwise the redaction stands without a record.
   */
  private countForStream(m: JsonObject, counts: Record<string, number>, session?: SessionCalls): void {
    const map = session?.pending ?? this.pending;
    const params = m['params'];
    const meta = isPlainObject(params) && isPlainObject(params['_meta']) ? params['_meta'] : undefined;
    const sub = meta?.['io.modelcontextprotocol/subscriptionId'];
    let call = typeof sub === 'string' || typeof sub === 'number' ? map.get(sub) : undefined;
    if (!call && !session && map.size === 1) call = map.values().next().value;
    if (call) this.streamRedactions.set(call, this.withStreamRedactions(call, counts));
  }

  private withStreamRedactions(call: CallContext, counts: Record<string, number>): Record<string, number> {
    const earlier = this.streamRedactions.get(call);
    if (!earlier) return counts;
    this.streamRedactions.delete(call);
    const out = { ...earlier };
    for (const [kind, n] of Object.entries(counts)) out[kind] = (out[kind] ?? 0) + n;
    return out;
  }

  /** The calls still waiting, taken out: the transport answers and records them itself. */
  takePending(): CallContext[] {
    const calls = [...this.pending.values()];
    this.pending.clear();
    return calls;
  }

  /** Calls still waiting when their stream ended get an outcome too. */
  finish(status = 'no-response'): void {
    for (const call of this.pending.values()) {
      void this.pipeline.recordOutcome(call, {
        status,
        upstreamMs: performance.now() - (call.forwardedMs ?? this.upstreamStart),
        redactions: this.withStreamRedactions(call, {}),
      });
    }
    this.pending.clear();
  }
}
