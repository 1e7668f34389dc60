/**
 * What a relay has for its client but has not written yet: text gov formatted and byte views
 * into the upstream's chunks (events passed as they came). Taken as one piece, so one write
 * (one chunk of the response, one TLS record) carries a whole turn's events; views that are
 * adjacent in the same upstream chunk join without a copy (or even a new view per event).
 */
export class WriteBatch {
  private pieces: (string | Buffer)[] = [];
  private bytes = 0;
  /** The views being joined: one stretch of `run`'s memory, [runStart, runEnd). */
  private run: Buffer | null = null;
  private runStart = 0;
  private runEnd = 0;

  add(piece: string | Buffer): void {
    if (piece.length === 0) return;
    if (typeof piece === 'string') {
      this.endRun();
      this.pieces.push(piece);
      this.bytes += Buffer.byteLength(piece);
      return;
    }
    this.bytes += piece.length;
    if (this.run !== null && this.run.buffer === piece.buffer && this.runEnd === piece.byteOffset) {
      this.runEnd += piece.length;
      return;
    }
    this.endRun();
    this.run = piece;
    this.runStart = piece.byteOffset;
    this.runEnd = piece.byteOffset + piece.length;
  }

  private endRun(): void {
    if (this.run === null) return;
    const r = this.run;
    this.pieces.push(
      r.byteOffset === this.runStart && r.length === this.runEnd - this.runStart
        ? r
        : Buffer.from(r.buffer, this.runStart, this.runEnd - this.runStart),
    );
    this.run = null;
  }

  /** Everything added since the last take, as one piece; null when nothing was. */
  take(): string | Buffer | null {
    this.endRun();
    const { pieces, bytes } = this;
    this.pieces = [];
    this.bytes = 0;
    if (pieces.length <= 1) return pieces[0] ?? null;
    const out = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const p of pieces) at += typeof p === 'string' ? out.write(p, at) : p.copy(out, at);
    return out;
  }
}
