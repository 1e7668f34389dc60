import type { Readable, Writable } from 'node:stream';
import { constants } from 'node:os';
import { classifyBody, type ParseResult } from '../../mcp/classify.js';
import {
  jsonRpcError,
  malformedResponse,
  serializeMessage,
  type GovResponse,
} from '../../mcp/wire-errors.js';
import type { CallContext, ExchangeFacts, GovernedBatch, Pipeline } from '../../pipeline.js';
import { ServerMessageProcessor } from '../../pipeline/server-messages.js';
import { StdioRequestIds } from './request-ids.js';
import { ServerRequestsShown } from '../../pipeline/server-requests-shown.js';
import type { ElicitingClient } from '../../approvals/elicitation.js';
import { StdioCallLimits } from './call-limits.js';
import type { JsonObject, JsonRpcMessage, ServerIdentity } from '../../types.js';
import type { Logger } from '../../log.js';
import {
  DEFAULT_MAX_LINE_BYTES,
  LineFramer,
  isBlank,
  recoverOverlongId,
  type OverlongLine,
} from './line-framer.js';
import { OrderedRelease, type Ticket } from './ordered-release.js';
import { DEFAULT_GRACE_MS, spawnServer, type ServerExit, type ServerProcess } from './server-process.js';
import { FlushGate } from './flush-gate.js';

export interface StdioWrapOptions {
  pipeline: Pipeline;
  server: ServerIdentity;
  command: string;
  args: string[];
  env: Record<string, string>;
  log: Logger;
  /** The client side (default: gov's stdin/stdout). */
  input?: Readable;
  output?: Writable;
  /** Largest client→server line (default 4 MiB). */
  maxLineBytes?: number;
  /** Largest server→client line scanned (default 64 MiB, like HTTP responses). */
  maxServerLineBytes?: number;
  /** How long the server gets after its stdin closes, and after SIGTERM (default 2 s). */
  graceMs?: number;
  /** Stop the server on SIGINT/SIGTERM/SIGHUP to gov (default true). */
  handleSignals?: boolean;
  /** Called once the server is running. */
  onSpawn?: (server: ServerProcess) => void;
}

export interface StdioWrapResult {
  exitCode: number;
  /** Why the relay ended, for the run's seal. */
  detail: Record<string, string | number | boolean>;
}

const DEFAULT_SERVER_LINE_BYTES = 64 * 1024 * 1024;
// Non-held messages being governed at once before gov stops reading the client.
const MAX_IN_LINE = 1024;
const INTERNAL_ERROR = -32603;

type StopReason =
  { kind: 'client-eof' } | { kind: 'server-exit' } | { kind: 'signal'; signal: NodeJS.Signals };

function snippet(text: string, max = 200): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/**
 * `gov mcp wrap`: relays newline-delimited JSON-RPC between the client (gov's stdin/stdout)
 * and a spawned stdio MCP server, through the same pipeline as HTTP traffic. Client messages
 * are classified strictly and governed concurrently (a held call never blocks the rest);
 * server messages are filtered, redacted and recorded before the client sees them.
 */
export async function runStdioWrap(o: StdioWrapOptions): Promise<StdioWrapResult> {
  const { pipeline, log } = o;
  const input = o.input ?? process.stdin;
  const output = o.output ?? process.stdout;
  const graceMs = o.graceMs ?? DEFAULT_GRACE_MS;
  const maxLineBytes = o.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const facts: ExchangeFacts = { transport: 'stdio', server: o.server, scope: 'stdio' };
  const server = await spawnServer({ command: o.command, args: o.args, env: o.env });
  o.onSpawn?.(server);

  const pending = new Map<string | number, CallContext>();
  const ids = new StdioRequestIds(pending);
  // Server requests relayed to the client and awaiting its answer: one child, one scope.
  const shown = new ServerRequestsShown();
  // One child, one server: its requests are governed as that server's even outside any call.
  const processor = new ServerMessageProcessor(pipeline, pending, {
    origin: { server: o.server, transport: 'stdio' },
    answerServer: (m) => {
      shown.withheld(m['id']);
      writeServer(JSON.stringify(m));
    },
    relayedRequest: (id) => shown.shown(id),
  });
  const gone = new AbortController();
  // Who the client is (from its initialize): gov can ask it to approve held calls.
  let client: ElicitingClient | null = null;
  const askClient = (message: JsonObject): boolean => {
    if (!clientOpen) return false;
    writeClient(JSON.stringify(message));
    return true;
  };
  const order = new OrderedRelease(() => updateFlow());
  let stopping: StopReason | null = null;
  let serverExit: ServerExit | null = null;
  let clientOpen = true;
  let inputEnded = false;

  // ── writing, with backpressure on both sides ─────────────────────────────────────────────
  const writeClient = (text: string): void => {
    if (!clientOpen) return;
    output.write(text + '\n');
    updateFlow();
  };
  const answer = (msg: GovResponse | readonly GovResponse[]): void => writeClient(serializeMessage(msg));
  const flushGate = new FlushGate();
  const writeServer = (line: Buffer | string): boolean => {
    if (!server.running || server.stdin.destroyed || server.stdin.writableEnded) return false;
    // One writev: written apart, the server could wake for the line and again for its end.
    server.stdin.cork();
    server.stdin.write(line);
    server.stdin.write('\n');
    server.stdin.uncork();
    updateFlow();
    return true;
  };
  function updateFlow(): void {
    const outBlocked = output.writableNeedDrain;
    const blockInput = outBlocked || server.stdin.writableNeedDrain || order.waiting >= MAX_IN_LINE;
    if (!inputEnded) {
      if (blockInput && !input.isPaused()) input.pause();
      else if (!blockInput && input.isPaused() && !stopping) input.resume();
    }
    if (outBlocked && !server.stdout.isPaused()) server.stdout.pause();
    else if (!outBlocked && server.stdout.isPaused()) server.stdout.resume();
  }
  output.on('drain', updateFlow);
  server.stdin.on('drain', updateFlow);
  const onOutputError = (err: Error) => {
    log.debug(`client output failed: ${err.message}`);
    clientOpen = false;
    void stop({ kind: 'client-eof' });
  };
  output.on('error', onOutputError);

  const serverExited = (why: string) => `MCP server exited (${why}) before answering`;
  const exitText = () =>
    serverExit === null
      ? 'unknown'
      : serverExit.signal
        ? `signal ${serverExit.signal}`
        : `code ${serverExit.code}`;

  // ── client → server ──────────────────────────────────────────────────────────────────────
  const refuse = (ticket: Ticket, response: GovResponse, reason: string): void => {
    log.warn(`refused a message from the client: ${reason}`);
    void pipeline.alert({
      reason: `malformed JSON-RPC refused: ${reason}`,
      transport: 'stdio',
      server: o.server,
    });
    ticket.settle(() => answer(response));
  };

  const onClientLine = (line: Buffer): void => {
    if (isBlank(line)) return;
    const ticket = order.open();
    const parsed = classifyBody(line);
    if (parsed.kind === 'malformed') return refuse(ticket, malformedResponse(parsed), parsed.reason);
    if (parsed.kind === 'other')
      return refuse(ticket, malformedResponse(notJsonRpc(line)), 'not a JSON-RPC message');
    const reused = ids.reused(parsed.messages);
    if (reused !== undefined) {
      const reason = `request id ${JSON.stringify(reused)} is already in use by a request still in progress`;
      const id = parsed.batch ? null : reused;
      return refuse(ticket, jsonRpcError(id, -32600, `Invalid Request: ${reason}`), reason);
    }
    const release = ids.claim(parsed.messages);
    governLine(ticket, line, parsed.messages, parsed.batch, release).catch((err: unknown) => {
      release();
      lineFailed(ticket, parsed.messages, parsed.batch, err);
    });
  };

  const onClientOverlong = (info: OverlongLine): void => {
    const ticket = order.open();
    const reason = `a line of ${info.bytes} bytes is over the ${maxLineBytes}-byte limit`;
    refuse(
      ticket,
      jsonRpcError(
        recoverOverlongId(info),
        -32600,
        `Request larger than ${maxLineBytes} bytes; refused by gov`,
      ),
      reason,
    );
  };

  async function governLine(
    ticket: Ticket,
    line: Buffer,
    messages: JsonRpcMessage[],
    batch: boolean,
    release: () => void,
  ): Promise<void> {
    const governed = await pipeline.governBatch(messages, facts, {
      gone: () => gone.signal,
      bytes: line.length,
      answerAwaited: (id) => shown.take(id),
      onInitialize: (c) => (client = c),
      held: () => ({
        onHeld: () => ticket.hold(),
        ...(client ? { ask: { client, send: askClient } } : {}),
      }),
    });
    ticket.settle(() => {
      // From here a forwarded request's id is in `pending` until its answer.
      release();
      deliver(line, governed, batch);
    });
  }

  /** Last resort for a failure outside any one message: its requests get an error, gov goes on. */
  const lineFailed = (ticket: Ticket, messages: JsonRpcMessage[], batch: boolean, err: unknown): void => {
    const reason = `gov could not process this message: ${err instanceof Error ? err.message : String(err)}`;
    log.warn(reason);
    void pipeline.alert({ reason, transport: 'stdio', server: o.server });
    const replies = messages.flatMap((m) =>
      m.kind === 'request' ? [jsonRpcError(m.id, INTERNAL_ERROR, reason)] : [],
    );
    ticket.settle(() => {
      if (replies.length) answer(batch ? replies : replies[0]!);
    });
  };

  function deliver(line: Buffer, governed: GovernedBatch, batch: boolean): void {
    const replies = [...governed.answers];
    if (serverExit !== null) {
      // Nobody left to answer: a forwarded request gets an error now rather than never.
      for (const [id, call] of governed.calls) {
        replies.push(jsonRpcError(id, INTERNAL_ERROR, serverExited(exitText())));
        void pipeline.recordOutcome(call, { status: 'server-exited' });
      }
    } else if (governed.forward.length) {
      const forwardedMs = performance.now();
      for (const [id, call] of governed.calls) {
        call.forwardedMs = forwardedMs;
        pending.set(id, call);
        limits.watch(id, call);
        flushGate.forwarded(call.flushed);
      }
      const { forward } = governed;
      const text = governed.unchanged ? line : Buffer.from(serializeMessage(batch ? forward : forward[0]!));
      if (!writeServer(text)) {
        for (const id of governed.calls.keys())
          if (pending.delete(id))
            replies.push(jsonRpcError(id, INTERNAL_ERROR, serverExited('stdin closed')));
      }
    }
    if (replies.length) answer(batch ? replies : replies[0]!);
  }

  const limits = new StdioCallLimits({ pipeline, pending, toServer: writeServer, toClient: answer });

  // ── server → client ──────────────────────────────────────────────────────────────────────
  const onServerLine = (line: Buffer): void => {
    if (isBlank(line)) return;
    const text = line.toString('utf8');
    const first = text.trimStart()[0];
    if (first !== '{' && first !== '[') {
      // stdout is the protocol channel; a stray log line from the server is not protocol.
      const shown = processor.processText(text) ?? text;
      log.warn(`server wrote a non-JSON line to stdout (not forwarded): ${snippet(shown)}`);
      return;
    }
    if (limits.isLateAnswer(text)) return;
    flushGate.pass(processor.processText(text) ?? text, writeClient);
  };

  const onServerOverlong = (info: OverlongLine): void => {
    const max = o.maxServerLineBytes ?? DEFAULT_SERVER_LINE_BYTES;
    const id = recoverOverlongId(info);
    const call = id === null ? undefined : pending.get(id);
    log.warn(`server wrote a line of ${info.bytes} bytes, over the ${max}-byte limit; dropped`);
    if (id === null || !call) return;
    pending.delete(id);
    void pipeline.recordOutcome(call, {
      status: 'response-too-large',
      upstreamMs: performance.now() - (call.forwardedMs ?? call.startedMs),
    });
    answer(
      jsonRpcError(
        id,
        INTERNAL_ERROR,
        `MCP server response larger than ${max} bytes cannot be scanned; refused by gov`,
      ),
    );
  };

  const serverFramer = new LineFramer({
    maxLineBytes: o.maxServerLineBytes ?? DEFAULT_SERVER_LINE_BYTES,
    onLine: onServerLine,
    onOverlong: onServerOverlong,
  });
  const serverOutDone = new Promise<void>((res) => {
    server.stdout.on('data', (c: Buffer) => serverFramer.push(c));
    server.stdout.once('end', () => {
      serverFramer.end();
      res();
    });
    server.stdout.once('close', () => res());
  });

  const clientFramer = new LineFramer({ maxLineBytes, onLine: onClientLine, onOverlong: onClientOverlong });
  const onData = (c: Buffer) => clientFramer.push(c);
  const onEnd = () => {
    if (inputEnded) return;
    inputEnded = true;
    clientFramer.end();
    void stop({ kind: 'client-eof' });
  };
  input.on('data', onData);
  input.once('end', onEnd);
  input.once('error', (err: Error) => {
    log.debug(`client input failed: ${err.message}`);
    onEnd();
  });

  // ── stopping ─────────────────────────────────────────────────────────────────────────────
  const signals: NodeJS.Signals[] = o.handleSignals === false ? [] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
  // A second signal while stopping means "now": no more grace for the server.
  const onSignal = (signal: NodeJS.Signals) =>
    stopping ? server.kill() : void stop({ kind: 'signal', signal });
  for (const s of signals) process.on(s, onSignal);

  void server.exited.then(() => void stop({ kind: 'server-exit' }));

  let finished: (r: StdioWrapResult) => void = () => undefined;
  const result = new Promise<StdioWrapResult>((res) => (finished = res));

  const settleWithin = (p: Promise<unknown>, ms: number) =>
    Promise.race([p, new Promise((res) => setTimeout(res, ms).unref())]);

  /** Never rejects: a failure while stopping still ends the relay (exit 1) and seals the run. */
  function stop(reason: StopReason): Promise<void> {
    if (stopping) return Promise.resolve();
    stopping = reason;
    return shutDown(reason).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      log.warn(`stopping the relay failed: ${message}`);
      done({ exitCode: 1, detail: { stop_error: message, exit_code: 1 } });
    });
  }

  async function shutDown(reason: StopReason): Promise<void> {
    if (reason.kind === 'server-exit') {
      serverExit = await server.exited;
      // Relay whatever the server wrote before it died, then answer what it never will.
      await settleWithin(serverOutDone, 1000);
      await settleWithin(flushGate.drained(), 5000);
      stopReading();
      for (const id of pending.keys()) answer(jsonRpcError(id, INTERNAL_ERROR, serverExited(exitText())));
      processor.finish('server-exited');
      gone.abort('the MCP server exited');
      await settleWithin(order.idle(), 5000);
      log.warn(`MCP server exited (${exitText()})`);
      const code = serverExit.exitCode !== 0 ? serverExit.exitCode : 1;
      return done({ exitCode: code, detail: { server_exit: exitText(), exit_code: code } });
    }
    if (reason.kind === 'signal') stopReading();
    // The client is done (or gov was told to stop): withdraw held calls, deliver what was
    // decided, then ask the server to exit and relay its last answers.
    gone.abort('it closed its connection to gov');
    await settleWithin(order.idle(), 5000);
    serverExit = await server.stop(graceMs);
    await settleWithin(serverOutDone, 1000);
    await settleWithin(flushGate.drained(), 5000);
    stopReading();
    processor.finish(reason.kind === 'signal' ? 'interrupted' : 'client-closed');
    const code = reason.kind === 'signal' ? 128 + (constants.signals[reason.signal] ?? 0) : 0;
    return done({
      exitCode: code,
      detail: {
        stopped_by: reason.kind === 'signal' ? reason.signal : 'client-eof',
        server_exit: exitText(),
        exit_code: code,
      },
    });
  }

  function stopReading(): void {
    input.off('data', onData);
    inputEnded = true;
    // gov's own stdin must not keep the process alive once the relay is over.
    if (input === process.stdin) input.pause();
  }

  function done(r: StdioWrapResult): void {
    for (const s of signals) process.off(s, onSignal);
    output.off('drain', updateFlow);
    output.off('error', onOutputError);
    server.kill();
    finished(r);
  }

  return result;
}

/** The answer for a line that is not JSON-RPC: -32700 when it is not JSON at all. */
function notJsonRpc(line: Buffer): Extract<ParseResult, { kind: 'malformed' }> {
  try {
    JSON.parse(line.toString('utf8'));
    return { kind: 'malformed', code: -32600, reason: 'not a JSON-RPC 2.0 message', id: null };
  } catch {
    return { kind: 'malformed', code: -32700, reason: 'not JSON', id: null };
  }
}
