import type { IncomingHttpHeaders } from 'node:http';
import type { CallContext, Pipeline } from '../../pipeline.js';
import type { Exchange } from '../../proxy/server.js';
import { jsonRpcError, type GovResponse } from '../../mcp/wire-errors.js';
import type { ToolParamHeaders } from '../../mcp/param-headers.js';
import {
  ServerMessageProcessor,
  type ProcessorOptions,
  type ServerOrigin,
} from '../../pipeline/server-messages.js';
import { CallDeadline, timeoutAnswers, type TimeLimit } from '../../pipeline/call-deadline.js';
import type { Upstream } from './upstream.js';
import type { GovernedResponse } from './upstream-dispatch.js';
import {
  abortOnClientClose,
  clientWentAway,
  discardBody,
  responseHeaders,
  sendJson,
  sendText,
  upstreamFailed,
  upstreamRequest,
  type OpenOptions,
} from './forward.js';
import { isEventStream, relayUpstreamSse } from './sse-relay.js';
import { mergeDenied, scanWhole } from './upstream-json.js';
import type { LegacySession } from './legacy-sessions.js';
import { serverAnswerer } from './answer-server.js';
import type { ServerRequestsShown } from '../../pipeline/server-requests-shown.js';

function isJson(ct: unknown): boolean {
  return typeof ct === 'string' && /^application\/([a-z0-9.+-]*\+)?json/i.test(ct);
}

/** The server side of a governed exchange: who scans the answers, and the calls' time limit. */
export interface ForwardWatch {
  processor: ServerMessageProcessor;
  deadline: CallDeadline | undefined;
  /** gov's answers for the calls still unanswered when the limit fired. */
  timedOut: () => GovResponse[];
}

/**
 * Mark the calls forwarded now and set up what watches their answers: the processor that
 * scans, correlates and records them, and the tightest `constraints.timeout` among them.
 */
export function watchForwarded(
  pipeline: Pipeline,
  calls: Map<string | number, CallContext>,
  limit: TimeLimit | undefined,
  o: {
    toolHeaders?: ToolParamHeaders;
    origin?: ServerOrigin;
    correlate?: boolean;
  } & Pick<ProcessorOptions, 'answerServer' | 'relayedRequest'> = {},
): ForwardWatch {
  const started = performance.now();
  for (const c of calls.values()) c.forwardedMs = started;
  const processor = new ServerMessageProcessor(
    pipeline,
    o.correlate === false ? new Map<string | number, CallContext>() : calls,
    {
      upstreamStart: started,
      toolHeaders: o.toolHeaders,
      origin: o.origin,
      answerServer: o.answerServer,
      relayedRequest: o.relayedRequest,
    },
  );
  const deadline = limit ? new CallDeadline(limit) : undefined;
  const timedOut = () => (deadline ? timeoutAnswers(pipeline, processor, deadline) : []);
  return { processor, deadline, timedOut };
}

const streamsEvents = (h: IncomingHttpHeaders): boolean => isEventStream(h['content-type']);

/**
 * Send a governed exchange upstream: an event stream comes back to relay, any other answer
 * read whole (at most `limit` bytes) to scan. On failure answer 502/504 and return null.
 */
export async function openGoverned(
  ex: Exchange,
  upstream: Upstream,
  limit: number,
  opts: OpenOptions,
): Promise<GovernedResponse | null> {
  try {
    return await upstream.exchange(upstreamRequest(ex, opts), limit, streamsEvents);
  } catch (err) {
    return upstreamFailed(ex, err, opts.onError);
  }
}

/** Headers for the upstream request: the body goes out decoded, the answer comes back plain. */
export function upstreamHeaders(
  headers: Record<string, string | string[]>,
): Record<string, string | string[]> {
  delete headers['content-encoding'];
  headers['accept-encoding'] = 'identity';
  return headers;
}

export interface ForwardMcpInput {
  ex: Exchange;
  upstream: Upstream;
  pipeline: Pipeline;
  responseLimit: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** The body was re-serialised and holds placeholders again: substitute them. */
  substitute: boolean;
  batch: boolean;
  /** gov's own answers, merged into the upstream's. */
  denied: GovResponse[];
  calls: Map<string | number, CallContext>;
  limit: TimeLimit | undefined;
  /** Legacy HTTP+SSE: answers travel on the session's stream, never in this reply. */
  session: LegacySession | undefined;
  toolHeaders: ToolParamHeaders;
  /** Server requests relayed to clients and awaiting their answers (see serverAnswerer). */
  shown: ServerRequestsShown;
  origin: ServerOrigin;
  onUpstream?: (up: { headers: IncomingHttpHeaders }) => void;
}

/** Forward what the pipeline let through, and carry the scanned answers back. */
export async function forwardMcp(i: ForwardMcpInput): Promise<void> {
  const { ex, pipeline, session, denied, calls, batch } = i;
  if (session) {
    for (const [id, c] of calls) session.pending.set(id, c);
    for (const d of denied.splice(0)) session.inject(d);
  }
  let body = i.body;
  if (i.substitute) {
    const r = pipeline.inspectCredentials({
      target: ex.target,
      rawHeaders: [],
      url: '',
      body,
      contentType: 'application/json',
    });
    if (!r.ok) return sendText(ex.res, 403, `gov: blocked: ${r.leak.message}`);
    body = r.body ?? body;
  }
  const { processor, deadline, timedOut } = watchForwarded(pipeline, calls, i.limit, {
    toolHeaders: i.toolHeaders,
    origin: i.origin,
    correlate: !session,
    // Streamable HTTP: answers to the server go to the endpoint this call went to.
    ...(!session
      ? serverAnswerer(ex, i.upstream, i.headers, { log: pipeline.deps.log, shown: i.shown })
      : {}),
  });
  if (session && deadline) {
    // Legacy transport: the answer is due on the session's stream, whatever this POST does.
    deadline.onExpire(() => {
      for (const [id, c] of calls) {
        if (session.pending.get(id) !== c) continue;
        session.pending.delete(id);
        const err = pipeline.upstreamTimedOut(c, deadline.limit);
        if (err) session.inject(err);
      }
    });
  }
  const own = !session ? deadline : undefined;
  const answerTimedOut = () => {
    const errs = [...timedOut(), ...denied];
    sendJson(ex.res, 200, batch ? errs : errs[0]);
  };
  try {
    const up = await openGoverned(ex, i.upstream, i.responseLimit, {
      headers: upstreamHeaders(i.headers),
      body,
      // The client going away aborts the upstream request at once; so does the time limit.
      signal: abortOnClientClose(ex.res, own),
      onError: (status, message) => {
        if (deadline?.expired && session) {
          ex.res.writeHead(202, { 'content-type': 'text/plain' });
          ex.res.end('Accepted');
        } else if (deadline?.expired) answerTimedOut();
        else sendText(ex.res, status, message);
      },
    });
    if (!up) return processor.finish(clientWentAway(ex.res) ? 'cancelled' : 'upstream-error');
    i.onUpstream?.(up);
    // No answer before the calls' decision records are on disk (the fsync overlapped the round trip).
    const unflushed = await pipeline.flushedBeforeAnswer(calls.values());
    if (unflushed !== null) {
      if (up.body) discardBody(up.body);
      processor.finish('audit-unavailable');
      return sendJson(ex.res, 500, jsonRpcError(null, -32603, unflushed));
    }
    if (up.body) {
      return await relayUpstreamSse(ex, up, {
        processor,
        prepend: denied,
        maxEventBytes: i.responseLimit,
        ...(own ? { cut: { signal: own.signal, answers: timedOut } } : {}),
      });
    }
    // Whatever else answers a governed call is read and scanned too, JSON or not: an error
    // page can quote the credential gov injected, and a lenient client reads JSON-RPC in a
    // text/plain body all the same.
    const json = isJson(up.headers['content-type']) || denied.length > 0;
    const r = await scanWhole(up, processor, i.responseLimit);
    if (own?.expired) return answerTimedOut();
    const answered = json ? 'no-response' : up.status >= 400 ? `http-${up.status}` : 'ok';
    processor.finish(r.ok ? answered : clientWentAway(ex.res) ? 'cancelled' : r.status);
    if (!r.ok) return sendJson(ex.res, 502, jsonRpcError(null, -32603, r.message));
    // Encoded once (a large result is megabytes); unchanged upstream bytes are sent as they came.
    const out = r.bytes && denied.length === 0 ? r.bytes : Buffer.from(mergeDenied(r.text, denied, batch));
    const hs = responseHeaders(up.headers, pipeline.deps.vaultScan);
    delete hs['content-encoding'];
    if (out.length && json) hs['content-type'] = 'application/json';
    hs['content-length'] = String(out.length);
    ex.res.writeHead(up.status === 202 && out.length && json ? 200 : up.status, hs);
    ex.res.end(out);
  } finally {
    own?.clear();
  }
}
