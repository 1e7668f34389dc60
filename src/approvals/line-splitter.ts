import { LineFramer } from '../transport/stdio/line-framer.js';

/**
 * The control socket's view of LineFramer: complete lines as strings per chunk, and a
 * RangeError as soon as a line goes over the limit (a peer that never sends a newline is
 * dropped instead of ignored).
 */
export class LineSplitter {
  private lines: string[] = [];
  private overlong = false;
  private readonly framer: LineFramer;

  constructor(maxBytes: number) {
    this.framer = new LineFramer({
      maxLineBytes: maxBytes,
      onLine: (line) => this.lines.push(line.toString('utf8')),
      onOverlong: () => (this.overlong = true),
    });
  }

  /** Returns the complete lines in `chunk`; throws RangeError once a line exceeds the limit. */
  push(chunk: Buffer): string[] {
    this.framer.push(chunk);
    if (this.overlong || this.framer.overLimit) throw new RangeError('line too long');
    const lines = this.lines;
    this.lines = [];
    return lines;
  }
}
