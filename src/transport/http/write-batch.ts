/**
 * What a relay has for its client but has not written yet: text gov formatted and byte views
 * into the upstream's chunks (events passed as they came). Taken as one piece, so one write
 * (one chunk of the response, one TLS record) carries a whole turn's events; views that are
 * adjacent in the same upstream chunk join without a copy.
 */
export class WriteBatch {
  private pieces: (string | Buffer)[] = [];
  private bytes = 0;

  add(piece: string | Buffer): void {
    if (piece.length === 0) return;
    const last = this.pieces[this.pieces.length - 1];
    if (
      Buffer.isBuffer(piece) &&
      Buffer.isBuffer(last) &&
      last.buffer === piece.buffer &&
      last.byteOffset + last.length === piece.byteOffset
    ) {
      this.pieces[this.pieces.length - 1] = Buffer.from(
        last.buffer,
        last.byteOffset,
        last.length + piece.length,
      );
    } else this.pieces.push(piece);
    this.bytes += typeof piece === 'string' ? Buffer.byteLength(piece) : piece.length;
  }

  /** Everything added since the last take, as one piece; null when nothing was. */
  take(): string | Buffer | null {
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
