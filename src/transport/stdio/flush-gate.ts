import { jsonRpcError, serializeMessage } from '../../mcp/wire-errors.js';

/**
 * `--audit-sync answer` for the stdio relay: a server line reaches the client only once the
 * decision records of the calls forwarded before it are on disk. fsyncs complete in order, so
 * waiting for the latest forwarded call's record covers every earlier one; lines keep their
 * order. While nothing is being flushed a line passes at once, without a promise.
 */
export class FlushGate {
  private latest: Promise<string | null> | undefined;
  private clear = true;
  private waiting = 0;
  private queue: Promise<void> = Promise.resolve();

  /** A call was forwarded; `flushed` settles when its decision record is on disk (null) or cannot be. */
  forwarded(flushed: Promise<string | null> | undefined): void {
    if (!flushed) return;
    this.latest = flushed;
    this.clear = false;
    void flushed.then((why) => {
      if (this.latest === flushed && why === null) this.clear = true;
    });
  }

  /** Settles when every line passed so far is written. */
  drained(): Promise<void> {
    return this.queue;
  }

  /** Write `text` now, or after the pending flush; if that failed, an error answer instead. */
  pass(text: string, write: (text: string) => void): void {
    if (this.clear && this.waiting === 0) return write(text);
    const flushed = this.latest!;
    this.waiting += 1;
    this.queue = this.queue
      .then(() => flushed)
      .then((why) => {
        this.waiting -= 1;
        write(why === null ? text : refusal(text, why));
      });
  }
}

/** Fail closed: the server's answer is replaced by an error for the same request id. */
function refusal(text: string, why: string): string {
  let id: string | number | null = null;
  try {
    const v = JSON.parse(text) as { id?: unknown };
    if (typeof v.id === 'string' || typeof v.id === 'number') id = v.id;
  } catch {
    // not one JSON-RPC object: answered with id null
  }
  const reason = `the audit record of this call could not be flushed to disk: ${why}`;
  return serializeMessage(jsonRpcError(id, -32603, reason));
}
