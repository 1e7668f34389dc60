import type { ServerResponse } from 'node:http';
import type { JsonObject, JsonValue } from '../../types.js';
import { jsonRpcError, type GovResponse } from '../../mcp/wire-errors.js';
import type { Exchange } from '../../proxy/server.js';
import type { Upstream } from './upstream.js';
import { abortOnClientClose, clientWentAway } from './forward.js';
import type { CallContext, Pipeline } from '../../pipeline.js';
import { relayUpstreamSse, sseEventFor } from './sse-relay.js';
import { scanWhole } from './upstream-json.js';
import type { TimeLimit } from '../../pipeline/call-deadline.js';
import { openGoverned, upstreamHeaders, watchForwarded } from './mcp-forward.js';
import { serverAnswerer } from './answer-server.js';
import type { ServerRequestsShown } from '../../pipeline/server-requests-shown.js';

export const DEFAULT_HEARTBEAT_MS = 5_000;

/**
 * While a call waits for a human, a client that sent a progressToken and accepts SSE gets an
 * SSE response at once with `notifications/progress` heartbeats ("awaiting approval"), so a
 * client that resets its timeout on progress keeps waiting; the real response follows on the
 * same stream. A client that can be asked to approve (elicitation) gets the stream too, even
 * without a progressToken (then without heartbeats): gov's question travels on it.
 */
export class HeldStream {
  private timer: NodeJS.Timeout | undefined;
  private progress = 0;
  started = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly progressToken: string | number | undefined,
    private readonly intervalMs = DEFAULT_HEARTBEAT_MS,
  ) {}

  start(extraHeaders: Record<string, string> = {}): void {
    if (this.started || this.res.headersSent) return;
    this.started = true;
    this.res.writeHead(200, {
      ...extraHeaders,
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
    });
    if (this.progressToken === undefined) return;
    this.beat();
    this.timer = setInterval(() => this.beat(), this.intervalMs);
  }

  /** A message of gov's own to the client (an elicitation) on the open stream. */
  send(message: JsonObject): boolean {
    this.start();
    if (!this.started || this.res.writableEnded || this.res.destroyed) return false;
    this.res.write(sseEventFor(message));
    return true;
  }

  private beat(): void {
    const token = this.progressToken;
    if (this.res.writableEnded || token === undefined) return this.stop();
    this.progress += 1;
    const note: JsonObject = {
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { progressToken: token, progress: this.progress, message: 'awaiting approval' },
    };
    this.res.write(sseEventFor(note));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The final message on the stream, then the end of it. */
  finish(message: JsonObject | GovResponse | null): void {
    this.stop();
    if (this.res.writableEnded) return;
    if (message) this.res.write(sseEventFor(message));
    this.res.end();
  }
}

export interface FinishHeldInput {
  ex: Exchange;
  upstream: Upstream;
  pipeline: Pipeline;
  responseLimit: number;
  stream: HeldStream;
  headers: Record<string, string | string[]>;
  forward: JsonValue[];
  denied: GovResponse[];
  calls: Map<string | number, CallContext>;
  /** The tightest `constraints.timeout` of the forwarded calls. */
  limit: TimeLimit | undefined;
  /** Server requests relayed to clients and awaiting their answers (see serverAnswerer). */
  shown: ServerRequestsShown;
}

/** After the verdict on a held call whose client already has an SSE response open. */
export async function finishHeld(i: FinishHeldInput): Promise<void> {
  const { ex, stream, headers } = i;
  if (i.forward.length === 0) return stream.finish(i.denied[0] ?? null);
  const id = [...i.calls.keys()][0] ?? null;
  // A request the server sends in the call's stream: a denied one is answered as in any other.
  const peer = serverAnswerer(ex, i.upstream, headers, { log: i.pipeline.deps.log, shown: i.shown });
  const { processor, deadline, timedOut } = watchForwarded(i.pipeline, i.calls, i.limit, peer);
  try {
    const up = await openGoverned(ex, i.upstream, i.responseLimit, {
      headers: upstreamHeaders(headers),
      body: Buffer.from(JSON.stringify(i.forward[0])),
      signal: abortOnClientClose(ex.res, deadline),
      onError: (_status, message) =>
        stream.finish(deadline?.expired ? (timedOut()[0] ?? null) : jsonRpcError(id, -32603, message)),
    });
    if (!up) return processor.finish(clientWentAway(ex.res) ? 'cancelled' : 'upstream-error');
    stream.stop();
    if (up.body) {
      await relayUpstreamSse(ex, up, {
        processor,
        headersSent: true,
        maxEventBytes: i.responseLimit,
        ...(deadline ? { cut: { signal: deadline.signal, answers: timedOut } } : {}),
      });
      return;
    }
    const r = await scanWhole(up, processor, i.responseLimit);
    if (deadline?.expired) return stream.finish(timedOut()[0] ?? null);
    processor.finish(r.ok ? 'no-response' : clientWentAway(ex.res) ? 'cancelled' : r.status);
    let message: JsonObject | GovResponse;
    try {
      if (!r.ok) throw new Error(r.message);
      message = JSON.parse(r.text) as JsonObject;
    } catch (err) {
      message = jsonRpcError(
        id,
        -32603,
        `gov: upstream answered HTTP ${up.status}: ${(err as Error).message}`,
      );
    }
    stream.finish(message);
  } finally {
    deadline?.clear();
  }
}
