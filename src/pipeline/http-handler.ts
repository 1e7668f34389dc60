import type { Exchange, ExchangeHandler } from '../proxy/server.js';
import { forwardableHeaders, defaultPort, type Upstream } from '../proxy/upstream.js';
import {
  abortOnClientClose,
  clientWentAway,
  openUpstream,
  relayResponse,
  responseHeaders,
  sendJson,
  sendText,
} from '../proxy/forward.js';
import { readBounded } from '../proxy/body.js';
import { decodeContent } from '../proxy/content-encoding.js';
import { classifyBody } from '../mcp/classify.js';
import { checkMcpHeaders, paramHeadersFrom } from '../mcp/headers.js';
import { ToolParamHeaders } from '../mcp/param-headers.js';
import { toEnvelope } from '../mcp/envelope.js';
import {
  headerMismatchResponse,
  jsonRpcError,
  malformedResponse,
  type GovResponse,
} from '../mcp/wire-errors.js';
import type { JsonRpcMessage, JsonValue } from '../types.js';
import type { CallContext, Governed, Pipeline } from '../pipeline.js';
import type { CredentialStage } from './stages.js';
import { LegacySessions } from './legacy-sessions.js';
import { isEventStream, relayUpstreamSse } from './sse-relay.js';
import { ServerMessageProcessor } from './server-messages.js';
import { HeldCallRegistry } from './held-calls.js';
import { finishHeld, HeldStream } from './held-stream.js';
import { mergeDenied, readScannedJson } from './upstream-json.js';

export interface HttpHandlerOptions {
  pipeline: Pipeline;
  upstream: Upstream;
  credentials?: CredentialStage | undefined;
  /** Largest request body examined (default 4 MiB). */
  bodyLimit?: number;
  /** Largest JSON response or SSE event scanned (default 64 MiB). */
  responseLimit?: number;
  /** Interval of `notifications/progress` heartbeats while a call is held (default 5 s). */
  heartbeatMs?: number;
}

const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;
const DEFAULT_RESPONSE_LIMIT = 64 * 1024 * 1024;

function header(ex: Exchange, name: string): string | undefined {
  const v = ex.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function isJson(ct: unknown): boolean {
  return typeof ct === 'string' && /^application\/([a-z0-9.+-]*\+)?json/i.test(ct);
}

/** The server's identity: origin + path, no query. */
function serverUrlOf(ex: Exchange): string {
  const q = ex.url.indexOf('?');
  return q === -1 ? ex.url : ex.url.slice(0, q);
}

/**
 * Governs HTTP exchanges: bodies are read (bounded, decoded), MCP messages go through the
 * pipeline one by one, allowed ones are forwarded, gov answers the rest, and responses are
 * scanned on the way back. Non-MCP traffic is forwarded unchanged and streamed.
 */
export function createHttpHandler(
  o: HttpHandlerOptions,
): ExchangeHandler & { legacy: LegacySessions; held: HeldCallRegistry } {
  const { pipeline, upstream } = o;
  const bodyLimit = o.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const responseLimit = o.responseLimit ?? DEFAULT_RESPONSE_LIMIT;
  const legacy = new LegacySessions();
  const held = new HeldCallRegistry();
  const toolHeaders = new ToolParamHeaders();

  const blockLeak = async (ex: Exchange, leak: { secret: string; where: string }): Promise<void> => {
    const reason = `credential placeholder for '${leak.secret}' sent to ${ex.target.host} (${leak.where}), which it is not bound to`;
    const id = await pipeline.alert({
      reason,
      transport: 'http',
      server: { name: null, url: serverUrlOf(ex) },
      detail: { secret: leak.secret, where: leak.where, host: ex.target.host },
    });
    sendText(ex.res, 403, `gov: blocked: ${reason}${id ? ` (audit ${id})` : ''}`);
  };

  const outgoingHeaders = (ex: Exchange): Record<string, string | string[]> => {
    const headers = forwardableHeaders(ex.req.headers);
    if (o.credentials) {
      for (const [h, v] of o.credentials.headersFor(
        ex.target.host,
        ex.target.port,
        defaultPort(ex.target.scheme),
      )) {
        headers[h.toLowerCase()] = v;
      }
    }
    return headers;
  };

  async function handle(ex: Exchange): Promise<void> {
    const { req } = ex;
    if (o.credentials) {
      const leak = o.credentials.findLeak({
        host: ex.target.host,
        port: ex.target.port,
        defaultPort: defaultPort(ex.target.scheme),
        headers: req.headers,
        url: ex.url,
      });
      if (leak) return blockLeak(ex, leak);
    }
    const headers = outgoingHeaders(ex);
    if (req.method !== 'POST') return forwardOther(ex, headers);

    const raw = await readBounded(req, bodyLimit, header(ex, 'content-length'));
    if (!raw.ok) {
      if (raw.tooLarge) {
        // The rest of the body is drained (not buffered) by readBounded so the client can read the 413.
        return sendJson(
          ex.res,
          413,
          jsonRpcError(null, -32600, `Request body larger than ${bodyLimit} bytes; refused by gov`),
        );
      }
      return sendText(ex.res, 400, `gov: could not read the request body: ${raw.error}`);
    }
    const decoded = await decodeContent(raw.body, header(ex, 'content-encoding'), bodyLimit);
    if (!decoded.ok)
      return sendJson(
        ex.res,
        decoded.status,
        jsonRpcError(null, -32600, `${decoded.reason}; refused by gov`),
      );
    const body = decoded.body;
    if (o.credentials) {
      const leak = o.credentials.findLeak({
        host: ex.target.host,
        port: ex.target.port,
        defaultPort: defaultPort(ex.target.scheme),
        headers: {},
        url: '',
        body,
      });
      if (leak) return blockLeak(ex, leak);
    }
    const parsed = classifyBody(body);
    if (parsed.kind === 'other') return forwardBuffered(ex, headers, raw.body);
    if (parsed.kind === 'malformed') {
      await pipeline.alert({
        reason: `malformed JSON-RPC refused: ${parsed.reason}`,
        transport: 'http',
        server: { name: pipeline.deps.policy.resolveServer(serverUrlOf(ex)), url: serverUrlOf(ex) },
      });
      return sendJson(ex.res, 400, malformedResponse(parsed));
    }
    const serverUrl = serverUrlOf(ex);
    const mismatch = checkMcpHeaders(
      {
        method: ex.req.headers['mcp-method'],
        name: ex.req.headers['mcp-name'],
        params: paramHeadersFrom(ex.req.headers),
      },
      parsed,
      (tool) => toolHeaders.lookup(serverUrl, tool),
    );
    if (mismatch) {
      await pipeline.alert({
        reason: `MCP header mismatch refused: ${mismatch}`,
        transport: 'http',
        server: { name: null, url: serverUrl },
      });
      const id =
        parsed.messages.length === 1 && 'id' in parsed.messages[0]! ? (parsed.messages[0]!.id ?? null) : null;
      return sendJson(ex.res, 400, headerMismatchResponse(mismatch, id));
    }
    return governMcp(ex, headers, body, parsed.messages, parsed.batch);
  }

  async function forwardOther(ex: Exchange, headers: Record<string, string | string[]>): Promise<void> {
    const up = await openUpstream(ex, upstream, { headers });
    if (!up) return;
    if (isEventStream(up.headers['content-type'])) {
      const serverUrl = serverUrlOf(ex);
      const origin = {
        server: { name: pipeline.deps.policy.resolveServer(serverUrl), url: serverUrl },
        transport: 'http' as const,
      };
      const processor = new ServerMessageProcessor(pipeline, new Map(), { origin });
      await relayUpstreamSse(ex, up, { processor, legacy, maxEventBytes: responseLimit });
      return;
    }
    await relayResponse(ex, up);
  }

  async function forwardBuffered(
    ex: Exchange,
    headers: Record<string, string | string[]>,
    body: Buffer,
  ): Promise<void> {
    const up = await openUpstream(ex, upstream, { headers, body });
    if (up) await relayResponse(ex, up);
  }

  async function governMcp(
    ex: Exchange,
    headers: Record<string, string | string[]>,
    body: Buffer,
    messages: JsonRpcMessage[],
    batch: boolean,
  ): Promise<void> {
    const serverUrl = serverUrlOf(ex);
    const server = { name: pipeline.deps.policy.resolveServer(serverUrl), url: serverUrl };
    const sessionId = header(ex, 'mcp-session-id');
    const protocolVersion = header(ex, 'mcp-protocol-version');
    const ctx = {
      transport: 'http' as const,
      server,
      ...(sessionId !== undefined ? { sessionId } : {}),
      ...(protocolVersion !== undefined ? { protocolVersion } : {}),
    };

    // A client that goes away withdraws what it waits for; only held calls need the signal.
    let gone: AbortController | undefined;
    const goneSignal = (): AbortSignal => {
      if (!gone) {
        const ac = (gone = new AbortController());
        if (ex.res.destroyed) ac.abort();
        else ex.res.once('close', () => ex.res.writableFinished || ac.abort());
      }
      return gone.signal;
    };
    const scope = `${ex.target.host}:${ex.target.port}|${sessionId ?? ''}`;

    const only = messages.length === 1 ? messages[0] : undefined;
    const accept = String(ex.req.headers['accept'] ?? '');
    let heldStream: HeldStream | undefined;
    const results = await Promise.all(
      messages.map(async (m): Promise<{ m: JsonRpcMessage; g?: Governed }> => {
        if (m.kind === 'response') return { m };
        if (m.kind === 'notification' && m.method === 'notifications/cancelled') held.cancel(scope, m.params);
        const env = toEnvelope(m, ctx);
        if (
          m === only &&
          m.kind === 'request' &&
          env.progressToken !== undefined &&
          accept.includes('text/event-stream')
        ) {
          heldStream = new HeldStream(ex.res, env.progressToken, o.heartbeatMs);
        }
        // Cancellation is tracked only for calls that are actually held.
        let release = () => {};
        const hs = heldStream && !legacy.lookup(ex.url) ? heldStream : undefined;
        const onHeld = (): AbortSignal => {
          hs?.start();
          if (m.kind !== 'request') return goneSignal();
          const t = held.track(scope, m.id, goneSignal());
          release = t.release;
          return t.signal;
        };
        try {
          return { m, g: await pipeline.govern(env, { onHeld }) };
        } finally {
          release();
        }
      }),
    );
    const forward: JsonValue[] = [];
    const denied: GovResponse[] = [];
    const calls = new Map<string | number, CallContext>();
    let timeoutMs: number | undefined;
    let allForwarded = true;
    for (const { m, g } of results) {
      if (!g || g.action === 'forward') {
        forward.push(m.raw);
        if (g && m.kind === 'request') {
          calls.set(m.id, g.call);
          if (g.call.upstreamTimeoutMs !== undefined)
            timeoutMs = Math.min(timeoutMs ?? Infinity, g.call.upstreamTimeoutMs);
        }
      } else {
        allForwarded = false;
        if (g.response) denied.push(g.response);
      }
    }
    if (gone?.signal.aborted || ex.res.destroyed) return;
    if (heldStream?.started) {
      return finishHeld({
        ex,
        upstream,
        pipeline,
        responseLimit,
        stream: heldStream,
        headers,
        forward,
        denied,
        calls,
        timeoutMs,
      });
    }
    const session = legacy.lookup(ex.url);
    if (forward.length === 0) {
      if (session) {
        for (const d of denied) session.inject(d);
        ex.res.writeHead(202, { 'content-type': 'text/plain' });
        ex.res.end('Accepted');
        return;
      }
      if (denied.length === 0) {
        ex.res.writeHead(202);
        ex.res.end();
        return;
      }
      return sendJson(ex.res, 200, batch ? denied : denied[0]);
    }
    if (session) {
      // Legacy transport: answers travel on the session's SSE stream, never in this reply.
      for (const [id, c] of calls) session.pending.set(id, c);
      for (const d of denied.splice(0)) session.inject(d);
    }
    const outBody = allForwarded ? body : Buffer.from(JSON.stringify(batch ? forward : forward[0]));
    delete headers['content-encoding'];
    headers['accept-encoding'] = 'identity';
    const started = performance.now();
    const up = await openUpstream(ex, upstream, {
      headers,
      body: outBody,
      signal: abortOnClientClose(ex.res),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
    const processor = new ServerMessageProcessor(pipeline, session ? new Map() : calls, {
      upstreamStart: started,
      toolHeaders,
      origin: { server, transport: 'http' },
    });
    if (!up) {
      processor.finish(clientWentAway(ex.res) ? 'cancelled' : 'upstream-error');
      return;
    }
    const ct = up.headers['content-type'];
    if (isEventStream(ct)) {
      await relayUpstreamSse(ex, up, { processor, prepend: denied, legacy, maxEventBytes: responseLimit });
      return;
    }
    if (isJson(ct) || denied.length) {
      const r = await readScannedJson(up, processor, responseLimit);
      processor.finish(r.ok ? 'no-response' : clientWentAway(ex.res) ? 'cancelled' : r.status);
      if (!r.ok) return sendJson(ex.res, 502, jsonRpcError(null, -32603, r.message));
      const out = mergeDenied(r.text, denied, batch);
      const hs = responseHeaders(up.headers);
      delete hs['content-encoding'];
      if (out) hs['content-type'] = 'application/json';
      hs['content-length'] = String(Buffer.byteLength(out));
      ex.res.writeHead(up.status === 202 && out ? 200 : up.status, hs);
      ex.res.end(out);
      return;
    }
    processor.finish(up.status >= 400 ? `http-${up.status}` : 'ok');
    await relayResponse(ex, up);
  }

  return Object.assign(handle, { legacy, held });
}
