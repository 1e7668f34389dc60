import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import { ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as ProtobufLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { LoggerProvider, type LogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { AuditRecord } from '../types.js';
import type { OtlpProtocol } from '../policy/schema.js';
import { canonicalJson } from './canonical.js';
import { serializeRecord } from './record.js';
import { TRACEPARENT } from './trace-context.js';
import { sanitizeInline } from '../terminal-text.js';

/**
 * Ships audit records as OpenTelemetry logs over OTLP HTTP (protobuf, or JSON), one LogRecord per
 * record: attributes `gov.<field>`, body the record line exactly as on disk (so a central
 * store can re-check hashes and signatures), trace context from the record's `trace`.
 *
 * The local file stays the source of truth: push() only queues (no encoding, no I/O), a
 * full queue drops the newest records (counted), failures are retried with exponential
 * backoff and reported once.
 */
export interface OtlpTarget {
  /** The collector's base URL (`/v1/logs` is added unless the path already ends with it). */
  endpoint: string;
  /** Header values already resolved (vault secrets included): never logged. */
  headers: Record<string, string>;
  /** Default http/protobuf. */
  protocol?: OtlpProtocol;
}

export interface ExportCounts {
  shipped: number;
  dropped: number;
  pending: number;
}

export interface OtlpExportOptions {
  /** Called once, on the first failed export (the message names the endpoint, never headers). */
  onFailure?: (message: string) => void;
  maxQueue?: number;
  batchSize?: number;
  /** Wait this long to gather a batch (default 1 s). */
  delayMs?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  timeoutMs?: number;
}

export function logsUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (!u.pathname.endsWith('/v1/logs')) u.pathname = `${u.pathname.replace(/\/+$/, '')}/v1/logs`;
  return u.toString();
}

/** The span context a W3C traceparent names, for the LogRecord (null when malformed). */
function traceContext(r: AuditRecord): Context | undefined {
  const m = r.trace ? TRACEPARENT.exec(r.trace.traceparent) : null;
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: parseInt(m[3]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  });
}

function attributes(r: AuditRecord): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(r)) {
    if (v === null || v === undefined) continue;
    out[`gov.${k}`] = typeof v === 'object' ? canonicalJson(v) : (v as string | number | boolean);
  }
  return out;
}

/**
 * The exporter's connection agent (its documented `httpAgentOptions` factory, keep-alive as
 * its default), telling `onSocket` of every connection it opens. The exporter retries a
 * refused connection on its own for up to its timeout before its callback says anything; the
 * socket says at once.
 */
function watchedAgent(protocol: string, onSocket: (s: Socket) => void): HttpAgent {
  const agent =
    protocol === 'http:' ? new HttpAgent({ keepAlive: true }) : new HttpsAgent({ keepAlive: true });
  const withHook = agent as unknown as { createConnection: (...args: unknown[]) => Socket };
  const create = withHook.createConnection.bind(agent);
  withHook.createConnection = (...args: unknown[]) => {
    const socket = create(...args);
    onSocket(socket);
    return socket;
  };
  return agent;
}

/** Collects what the SDK's logger built, so encoding stays the official exporter's job. */
class CaptureProcessor implements LogRecordProcessor {
  captured: ReadableLogRecord[] = [];
  onEmit(rec: ReadableLogRecord): void {
    this.captured.push(rec);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export class AuditOtlpExporter {
  private readonly queue: AuditRecord[] = [];
  private shipped = 0;
  private dropped = 0;
  private sending = false;
  private timer: NodeJS.Timeout | undefined;
  private backoff: number;
  private reported = false;
  /** The last connection to the collector failed (refused, unresolvable, bad certificate). */
  private unreachable = false;
  private idleWaiters: (() => void)[] = [];
  /** Flushes that give up once the collector cannot be reached. */
  private unreachableWaiters: (() => void)[] = [];
  private readonly capture = new CaptureProcessor();
  private readonly logger;
  private readonly exporter: ProtobufLogExporter | JsonLogExporter;
  private readonly o: Required<Omit<OtlpExportOptions, 'onFailure'>> & Pick<OtlpExportOptions, 'onFailure'>;

  constructor(
    readonly target: OtlpTarget,
    opts: OtlpExportOptions = {},
  ) {
    this.o = {
      maxQueue: 10_000,
      batchSize: 512,
      delayMs: 1000,
      backoffMs: 1000,
      maxBackoffMs: 30_000,
      timeoutMs: 10_000,
      ...opts,
    };
    this.backoff = this.o.backoffMs;
    this.logger = new LoggerProvider({ processors: [this.capture] }).getLogger('gov.audit');
    const Exporter = target.protocol === 'http/json' ? JsonLogExporter : ProtobufLogExporter;
    this.exporter = new Exporter({
      url: logsUrl(target.endpoint),
      headers: target.headers,
      timeoutMillis: this.o.timeoutMs,
      httpAgentOptions: (protocol) => watchedAgent(protocol, (socket) => this.watch(socket)),
    });
  }

  /** Queue one record; never blocks, never throws. */
  push(r: AuditRecord): void {
    if (this.queue.length >= this.o.maxQueue) {
      this.dropped += 1;
      return;
    }
    this.queue.push(r);
    this.schedule(this.queue.length >= this.o.batchSize ? 0 : this.o.delayMs);
  }

  counts(): ExportCounts {
    return { shipped: this.shipped, dropped: this.dropped, pending: this.queue.length };
  }

  /**
   * Try to ship everything queued now; resolves when the queue is empty or after `ms`. With
   * `whileReachable` (the end of a run) also as soon as the collector cannot be reached (its
   * last connection failed): nothing would ship in the time left.
   */
  async flush(ms: number, o: { whileReachable?: boolean } = {}): Promise<void> {
    if (this.queue.length === 0 && !this.sending) return;
    if (o.whileReachable && this.unreachable) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule(0);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => {
        this.idleWaiters.push(r);
        if (o.whileReachable) this.unreachableWaiters.push(r);
      }),
      new Promise<void>((r) => (timer = setTimeout(r, ms))),
    ]);
    clearTimeout(timer);
  }

  /**
   * Stops sending. The OTLP exporter waits for an export in flight, which retries a refused
   * connection on its own for several seconds: `maxWaitMs` bounds that wait.
   */
  async shutdown(maxWaitMs = Infinity): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const done = this.exporter.shutdown().catch(() => undefined);
    // An export in flight to a collector that refuses connections only retries until its timeout.
    if (this.unreachable) return;
    if (maxWaitMs === Infinity) return done;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, maxWaitMs)))]);
    clearTimeout(timer);
  }

  private watch(socket: Socket): void {
    const failed = (err: Error) => {
      this.unreachable = true;
      this.reportOnce(err.message);
      for (const w of this.unreachableWaiters.splice(0)) w();
    };
    socket.once('error', failed);
    // Over https a connection is made once its TLS handshake (the certificate check) is done.
    socket.once('encrypted' in socket ? 'secureConnect' : 'connect', () => {
      this.unreachable = false;
      socket.off('error', failed);
    });
  }

  private schedule(ms: number): void {
    if (this.sending || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sendLoop();
    }, ms);
    this.timer.unref();
  }

  private async sendLoop(): Promise<void> {
    this.sending = true;
    let failed = false;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, this.o.batchSize);
        const error = await this.exportBatch(batch);
        if (error !== undefined) {
          this.reportOnce(error);
          failed = true;
          break;
        }
        this.queue.splice(0, batch.length);
        this.shipped += batch.length;
        this.backoff = this.o.backoffMs;
      }
    } finally {
      this.sending = false;
    }
    if (failed) {
      const wait = this.backoff;
      this.backoff = Math.min(this.backoff * 2, this.o.maxBackoffMs);
      this.schedule(wait);
    } else if (this.queue.length === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
      this.unreachableWaiters.length = 0;
    }
  }

  /** Resolves undefined on success, else the failure's message. */
  private exportBatch(batch: AuditRecord[]): Promise<string | undefined> {
    for (const r of batch) {
      const context = traceContext(r);
      this.logger.emit({
        timestamp: new Date(r.ts),
        severityNumber:
          r.kind === 'alert' || r.decision === 'deny' ? SeverityNumber.WARN : SeverityNumber.INFO,
        severityText: r.kind === 'alert' || r.decision === 'deny' ? 'WARN' : 'INFO',
        body: serializeRecord(r).trimEnd(),
        attributes: attributes(r),
        ...(context ? { context } : {}),
      });
    }
    const logs = this.capture.captured.splice(0);
    return new Promise((resolve) => {
      try {
        this.exporter.export(logs, (res) =>
          // ExportResultCode.SUCCESS is 0 (@opentelemetry/core is not a direct dependency).
          resolve(Number(res.code) === 0 ? undefined : (res.error?.message ?? 'export failed')),
        );
      } catch (err) {
        resolve((err as Error).message);
      }
    });
  }

  private reportOnce(message: string): void {
    if (this.reported) return;
    this.reported = true;
    this.o.onFailure?.(
      // The collector's own words (its status line) are made inert for the terminal.
      `audit export to ${this.target.endpoint} is failing (${sanitizeInline(message.split('\n')[0] ?? '', 300)}); records stay in the local audit and are retried`,
    );
  }
}
