import type { Exchange, ExchangeHandler } from '../../proxy/server.js';
import { forwardableHeaders, type Upstream } from './upstream.js';
import { openUpstream, relayResponse, sendJson, sendText } from './forward.js';
import { readBounded } from '../../proxy/body.js';
import { decodeContent } from '../../proxy/content-encoding.js';
import { classifyBody } from '../../mcp/classify.js';
import { checkMcpHeaders, paramHeadersFrom } from '../../mcp/headers.js';
import { ToolParamHeaders } from '../../mcp/param-headers.js';
import { traceContext } from '../../audit/trace-context.js';
import { headerMismatchResponse, jsonRpcError, malformedResponse } from '../../mcp/wire-errors.js';
import type { Envelope, JsonObject, JsonRpcMessage } from '../../types.js';
import type { ExchangeFacts, HeldHooks, Pipeline } from '../../pipeline.js';
import type { Injection } from '../../pipeline/stages.js';
import { LegacySessions, type LegacySession } from './legacy-sessions.js';
import { exchangeRefusals, firstValue, header, mcpByHeaders, serverUrlOf } from './exchange-refusals.js';
import { requestPathRefusal } from './request-path.js';
import { isInitialize } from '../../mcp/negotiated-version.js';
import { isEventStream, relayUpstreamSse } from './sse-relay.js';
import { ServerMessageProcessor } from '../../pipeline/server-messages.js';
import { answerScope, serverAnswerer } from './answer-server.js';
import { ServerRequestsShown } from '../../pipeline/server-requests-shown.js';
import { finishHeld, HeldStream } from './held-stream.js';
import { forwardMcp } from './mcp-forward.js';
import { ElicitingClients } from './eliciting-clients.js';
import { clientSession } from './client-session.js';
import type { ElicitingClient } from '../../approvals/elicitation.js';
import { tightestLimit } from '../../pipeline/call-deadline.js';

export interface HttpHandlerOptions {
  pipeline: Pipeline;
  upstream: Upstream;
  /** Largest request body examined (default 4 MiB). */
  bodyLimit?: number;
  /** Largest JSON response or SSE event scanned (default 64 MiB). */
  responseLimit?: number;
  /** Interval of `notifications/progress` heartbeats while a call is held (default 5 s). */
  heartbeatMs?: number;
  /** How the exchanges arrive: 'http' (gov run's proxy, default) or 'gateway' (gov serve). */
  transport?: 'http' | 'gateway';
}

const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;
const DEFAULT_RESPONSE_LIMIT = 64 * 1024 * 1024;

/**
 * Governs HTTP exchanges: bodies are read (bounded, decoded), MCP messages go through the
 * pipeline one by one, allowed ones are forwarded, gov answers the rest, and responses are
 * scanned on the way back. Non-MCP traffic is forwarded unchanged and streamed.
 */
export function createHttpHandler(o: HttpHandlerOptions): ExchangeHandler & { legacy: LegacySessions } {
  const { pipeline, upstream } = o;
  const bodyLimit = o.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const responseLimit = o.responseLimit ?? DEFAULT_RESPONSE_LIMIT;
  const legacy = new LegacySessions();
  const transport = o.transport ?? 'http';
  /** Who sent an exchange, for audit records (gov serve's edge authentication). */
  const by = (ex: Exchange) => (ex.principal !== undefined ? { principal: ex.principal } : {});
  const toolHeaders = new ToolParamHeaders();
  // Approval by elicitation: which clients (per session) can be asked.
  const elicitingClients = new ElicitingClients(transport === 'gateway');
  // Server requests relayed to a client and awaiting its answer, per client and server session.
  const shown = new ServerRequestsShown();

  const { blockLeak, refuseBody, refuseUnclearPath, recordInjection } = exchangeRefusals(pipeline, transport);

  async function handle(ex: Exchange): Promise<void> {
    const { req } = ex;
    const target = legacy.target(ex.url, ex.principal);
    // Another principal's legacy session: its server cannot tell the two apart.
    if (target.kind === 'foreign') return sendText(ex.res, 404, 'gov: unknown session');
    if (target.kind === 'ended')
      return refuseBody(
        ex,
        404,
        'this 2024-11-05 session was ended: its server negotiated a protocol version not accepted here',
      );
    if (target.kind === 'ambiguous')
      return refuseBody(
        ex,
        400,
        'this URL could name more than one 2024-11-05 session (a query parameter of the endpoint given two values, or endpoints spelled alike); POST to the endpoint as announced',
      );
    const session = target.kind === 'session' ? target.session : undefined;
    const isPost = req.method === 'POST';
    const declared = header(ex, 'content-length');
    const hasBody =
      declared !== undefined ? declared.trim() !== '0' : req.headers['transfer-encoding'] !== undefined;
    // Every body is examined, whatever the method: a JSON-RPC message in a PUT is governed
    // like one in a POST (a server that routes on the path alone would execute it), and
    // placeholders are looked for everywhere. Bodies over the limit are refused.
    let raw: Buffer | undefined;
    let body: Buffer | undefined;
    if (isPost || hasBody) {
      const read = await readBounded(req, bodyLimit, declared);
      if (!read.ok) {
        // The rest of a too-large body is drained (not buffered) by readBounded so the client can read the 413.
        if (read.tooLarge) return refuseBody(ex, 413, `Request body larger than ${bodyLimit} bytes`);
        return refuseBody(ex, 400, `could not read the request body: ${read.error}`);
      }
      raw = read.body;
      const encoding = header(ex, 'content-encoding');
      // Most bodies are sent as they are: no decoding step (and no promise) for those.
      const decoded = encoding === undefined ? null : await decodeContent(raw, encoding, bodyLimit);
      if (decoded && !decoded.ok) return refuseBody(ex, decoded.status, decoded.reason);
      body = decoded ? decoded.body : raw;
    }
    const parsed = body ? classifyBody(body, { contentType: header(ex, 'content-type') }) : undefined;
    const headers = forwardableHeaders(req.headers);
    let injected: Injection[] = [];
    if (pipeline.injectsCredentials) {
      const r = pipeline.inspectCredentials({
        target: ex.target,
        rawHeaders: req.rawHeaders,
        url: ex.url,
        body,
        contentType: header(ex, 'content-type'),
      });
      if (!r.ok) return blockLeak(ex, r.leak, parsed);
      for (const [h, v] of r.headers) headers[h.toLowerCase()] = v;
      injected = r.injected;
      if (injected.length > 0) {
        // A server may echo the credential; a byte range of that answer is a slice of it, which
        // no scan recognises as the value. A request carrying a credential gets the whole answer
        // (Request-Range: the pre-standard spelling Apache httpd still reads).
        delete headers['range'];
        delete headers['request-range'];
        delete headers['if-range'];
      }
      if (r.body) {
        // The substituted body goes out decoded.
        body = raw = r.body;
        delete headers['content-encoding'];
      }
    }
    if (!parsed || parsed.kind === 'other') {
      // A GET for an event stream, a DELETE ending a session: MCP traffic without a body.
      const unclear = mcpByHeaders(ex) ? requestPathRefusal(ex.path) : null;
      if (unclear) return refuseUnclearPath(ex, unclear);
      if (!(await recordInjection(ex, injected))) return;
      return forwardOther(ex, headers, raw);
    }
    if (parsed.kind === 'malformed') {
      await pipeline.alert({
        reason: `malformed JSON-RPC refused: ${parsed.reason}`,
        transport,
        ...by(ex),
        server: pipeline.serverAt(serverUrlOf(ex)),
      });
      return sendJson(ex.res, 400, malformedResponse(parsed));
    }
    // gov serve refuses such paths earlier, for every request.
    const unclear = requestPathRefusal(ex.path);
    if (unclear) return refuseUnclearPath(ex, unclear);
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
        transport,
        ...by(ex),
        server: { name: null, url: serverUrl },
      });
      const id =
        parsed.messages.length === 1 && 'id' in parsed.messages[0]! ? (parsed.messages[0].id ?? null) : null;
      return sendJson(ex.res, 400, headerMismatchResponse(mismatch, id));
    }
    return governMcp(ex, headers, body!, parsed.messages, parsed.batch, injected, session);
  }

  async function forwardOther(
    ex: Exchange,
    headers: Record<string, string | string[]>,
    body: Buffer | undefined,
  ): Promise<void> {
    const up = await openUpstream(ex, upstream, { headers, ...(body ? { body } : {}) });
    if (!up) return;
    if (isEventStream(up.headers['content-type'])) {
      // Its messages would be governed under the server its path spells, not the one that sent them.
      const unclear = requestPathRefusal(ex.path);
      if (unclear) return refuseUnclearPath(ex, unclear, up.body);
      const serverUrl = serverUrlOf(ex);
      const sessionId = header(ex, 'mcp-session-id');
      const origin = {
        server: pipeline.serverAt(serverUrl),
        transport,
        ...(sessionId !== undefined ? { sessionId } : {}),
        ...by(ex),
        ...(ex.route !== undefined ? { route: ex.route } : {}),
      };
      const processor = new ServerMessageProcessor(pipeline, new Map(), {
        origin,
        ...serverAnswerer(ex, upstream, headers, { log: pipeline.deps.log, shown }),
      });
      // A stream of the 2024-11-05 transport has no Streamable HTTP session: only such a GET
      // stream may announce a POST endpoint.
      const legacyStream = ex.req.method === 'GET' && header(ex, 'mcp-session-id') === undefined;
      await relayUpstreamSse(ex, up, {
        processor,
        ...(legacyStream ? { legacy, owner: ex.principal, versions: ex.versions } : {}),
        maxEventBytes: responseLimit,
      });
      return;
    }
    await relayResponse(ex, up, pipeline.deps.vaultScan);
  }

  async function governMcp(
    ex: Exchange,
    headers: Record<string, string | string[]>,
    body: Buffer,
    messages: JsonRpcMessage[],
    batch: boolean,
    injected: Injection[],
    /** The 2024-11-05 session whose endpoint this POST names. */
    session: LegacySession | undefined,
  ): Promise<void> {
    if (ex.versions) {
      // Strict versions (docs/serve.md): `initialize` goes alone; a 2024-11-05 session takes
      // nothing else until its version is accepted; another request outside any session that
      // names no version speaks 2025-03-26.
      const lone = messages.length === 1 && isInitialize(messages[0]!);
      const gate = session?.version;
      let why: string | null = null;
      if (!lone && messages.some(isInitialize))
        why = 'an initialize request must be sent on its own (MCP does not allow it in a batch)';
      else if (gate) why = gate.admit(messages);
      else if (
        !lone &&
        header(ex, 'mcp-protocol-version') === undefined &&
        header(ex, 'mcp-session-id') === undefined
      )
        why = ex.versions.unnamed;
      if (why) return refuseBody(ex, 400, why);
    }
    const serverUrl = serverUrlOf(ex);
    const server = pipeline.serverAt(serverUrl);
    const sessionId = header(ex, 'mcp-session-id');
    const protocolVersion = header(ex, 'mcp-protocol-version');
    const httpTrace = traceContext(header(ex, 'traceparent'), header(ex, 'tracestate'));
    const facts: ExchangeFacts = {
      transport,
      server,
      // A cancellation names a call of its own client: under gov serve, of its principal too.
      scope: clientSession(ex, sessionId),
      ...by(ex),
      ...(ex.route !== undefined ? { route: ex.route } : {}),
      ...(httpTrace !== undefined ? { httpTrace } : {}),
      ...(sessionId !== undefined ? { sessionId } : {}),
      ...(protocolVersion !== undefined ? { protocolVersion } : {}),
    };

    // A client that goes away withdraws what it waits for; only held calls need the signal.
    let gone: AbortController | undefined;
    const goneSignal = (): AbortSignal => {
      if (!gone) {
        const ac = (gone = new AbortController());
        const hungUp = 'it closed the connection';
        if (ex.res.destroyed) ac.abort(hungUp);
        else ex.res.once('close', () => ex.res.writableFinished || ac.abort(hungUp));
      }
      return gone.signal;
    };
    // An `initialize` in this body: its client is remembered under the session the server assigns.
    let initializing: ElicitingClient | null | undefined;
    const only = messages.length === 1 ? messages[0] : undefined;
    const accept = String(ex.req.headers['accept'] ?? '');
    let heldStream: HeldStream | undefined;
    /** A lone request held with a client that takes SSE gets its answer on a stream opened now. */
    const heldHooks = (m: JsonRpcMessage, env: Envelope): HeldHooks => {
      const askable = pipeline.asksClients && m === only ? elicitingClients.get(ex, sessionId) : undefined;
      if (
        m === only &&
        m.kind === 'request' &&
        (env.progressToken !== undefined || askable) &&
        accept.includes('text/event-stream')
      ) {
        heldStream = new HeldStream(ex.res, env.progressToken, o.heartbeatMs);
      }
      const hs = heldStream && !session ? heldStream : undefined;
      return {
        onHeld: () => hs?.start(),
        ...(askable && hs ? { ask: { client: askable, send: (msg: JsonObject) => hs.send(msg) } } : {}),
      };
    };
    // A client answers only the server requests gov relayed to it, each once: others are forged.
    const scope = answerScope(ex, sessionId, session?.endpoint);
    const governed = await pipeline.governBatch(messages, facts, {
      gone: goneSignal,
      injected,
      bytes: body.length,
      held: heldHooks,
      onInitialize: (c) => {
        initializing = c;
        ex.versions?.initializing();
      },
      answerAwaited: (id) => shown.take(id, scope),
    });
    const { forward, calls } = governed;
    const denied = governed.answers;
    const allForwarded = governed.unchanged;
    if (gone?.signal.aborted || ex.res.destroyed) return;
    // Governed calls carry the injection on their own records; a body of responses only has none.
    if (forward.length > 0 && !governed.governedForward) {
      if (!(await recordInjection(ex, injected))) return;
    }
    const limit = tightestLimit(calls.values());
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
        limit,
        shown,
      });
    }
    // Its stream may have closed while the calls were governed: then the answers come here.
    const stream = session && legacy.isLive(session) ? session : undefined;
    if (forward.length === 0) {
      if (stream) {
        for (const d of denied) stream.inject(d);
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
    if (stream) {
      // Legacy transport: answers travel on the session's SSE stream, never in this reply.
      for (const [id, c] of calls) stream.pending.set(id, c);
      for (const d of denied.splice(0)) stream.inject(d);
    }
    await forwardMcp({
      ex,
      upstream,
      pipeline,
      responseLimit,
      headers,
      body: allForwarded ? body : Buffer.from(JSON.stringify(batch ? forward : forward[0])),
      substitute: !allForwarded && injected.some((i) => i.into === 'body'),
      batch,
      denied,
      calls,
      limit,
      session: stream,
      toolHeaders,
      shown,
      // Whose taint an answer matching no call is: this client's session on this route.
      origin: facts,
      onUpstream: (up) => {
        if (initializing !== undefined)
          elicitingClients.remember(ex, firstValue(up.headers['mcp-session-id']), initializing);
      },
    });
  }

  /** A failure outside any one message's governing is still audited and answered, not a bare 502. */
  async function guarded(ex: Exchange): Promise<void> {
    try {
      await handle(ex);
    } catch (err) {
      const reason = `gov could not process this request: ${err instanceof Error ? err.message : String(err)}`;
      const auditId = await pipeline.alert({
        reason,
        transport,
        ...by(ex),
        server: { name: null, url: serverUrlOf(ex) },
      });
      if (ex.res.headersSent) ex.res.destroy();
      else
        sendJson(
          ex.res,
          500,
          jsonRpcError(null, -32603, reason, auditId ? { audit_id: auditId } : undefined),
        );
    }
  }

  return Object.assign(guarded, { legacy });
}
