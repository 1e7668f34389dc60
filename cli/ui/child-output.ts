import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export type Write = (text: string) => void;

/**
 * Splits a text stream into whole lines. Ink redraws its live region by erasing whole
 * lines, so a partial line written above it would be erased or glued to the panel;
 * partial lines are therefore held back until their newline arrives (or are flushed
 * with one added after a short pause, for prompts that never end their line).
 */
export class LineBuffer {
  private partial = '';

  constructor(private readonly maxPartial = 64 * 1024) {}

  /** Text ready to write now: everything up to and including the last newline. */
  push(text: string): string {
    const nl = text.lastIndexOf('\n');
    if (nl === -1) {
      this.partial += text;
      if (this.partial.length < this.maxPartial) return '';
      return this.flush();
    }
    const ready = this.partial + text.slice(0, nl + 1);
    this.partial = text.slice(nl + 1);
    return ready;
  }

  get pending(): boolean {
    return this.partial.length > 0;
  }

  /** The held-back partial line, terminated so the live region starts on a fresh line. */
  flush(): string {
    if (this.partial === '') return '';
    const out = this.partial + '\n';
    this.partial = '';
    return out;
  }
}

/**
 * Forwards the child's stdout/stderr, line by line, to a writer that can change: Ink's
 * `useStdout().write` while the panel is mounted (so text lands above the live region,
 * colours intact), the raw terminal after it unmounts. Text that arrives before a
 * writer exists is queued, so nothing is lost between the child's start and the panel's.
 */
export class ChildOutputForwarder {
  private write: Write | null = null;
  private queue: string[] = [];
  private readonly buffers: LineBuffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Resolves once every stream has ended and its last bytes were passed on. */
  readonly ended: Promise<void>;

  constructor(
    streams: Readable[],
    private readonly flushPartialMs = 150,
  ) {
    const ends: Array<Promise<void>> = [];
    for (const stream of streams) {
      const decoder = new StringDecoder('utf8');
      const buf = new LineBuffer();
      this.buffers.push(buf);
      stream.on('data', (chunk: Buffer | string) => {
        this.emit(buf.push(typeof chunk === 'string' ? chunk : decoder.write(chunk)));
        this.schedulePartialFlush();
      });
      ends.push(
        new Promise((resolve) => {
          let done = false;
          const onEnd = () => {
            if (done) return;
            done = true;
            this.emit(buf.push(decoder.end()) + buf.flush());
            resolve();
          };
          stream.once('end', onEnd);
          // A destroyed stream (the child's pipe torn down by an error) never emits 'end'.
          stream.once('close', onEnd);
        }),
      );
    }
    this.ended = Promise.all(ends).then(() => undefined);
  }

  setWriter(write: Write | null): void {
    this.write = write;
    if (write && this.queue.length > 0) {
      const queued = this.queue.join('');
      this.queue = [];
      write(queued);
    }
  }

  private emit(text: string): void {
    if (text === '') return;
    if (this.write) this.write(text);
    else this.queue.push(text);
  }

  private schedulePartialFlush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.buffers.some((b) => b.pending)) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.emit(this.buffers.map((b) => b.flush()).join(''));
    }, this.flushPartialMs);
    this.timer.unref();
  }
}
