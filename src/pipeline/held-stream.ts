import type { ServerResponse } from 'node:http';
import type { JsonObject } from '../types.js';
import type { GovResponse } from '../mcp/wire-errors.js';
import { sseEventFor } from './sse-relay.js';

export const DEFAULT_HEARTBEAT_MS = 5_000;

/**
 * While a call waits for a human, a client that sent a progressToken and accepts SSE gets an
 * SSE response at once with `notifications/progress` heartbeats ("awaiting approval"), so a
 * client that resets its timeout on progress keeps waiting; the real response follows on the
 * same stream.
 */
export class HeldStream {
  private timer: NodeJS.Timeout | undefined;
  private progress = 0;
  started = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly progressToken: string | number,
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
    this.beat();
    this.timer = setInterval(() => this.beat(), this.intervalMs);
  }

  private beat(): void {
    if (this.res.writableEnded) return this.stop();
    this.progress += 1;
    const note: JsonObject = {
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { progressToken: this.progressToken, progress: this.progress, message: 'awaiting approval' },
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
