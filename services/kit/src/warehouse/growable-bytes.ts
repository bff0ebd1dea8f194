/** A byte buffer that doubles when a write needs more room: the base of the row writers. */
export class GrowableBytes {
  protected buffer: Buffer;
  protected at = 0;

  constructor(initialBytes = 1 << 16) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  /** Makes room for `bytes` more. */
  protected ensure(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.at + bytes) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.at);
    this.buffer = grown;
  }

  /** What was written, as a view of the buffer (valid until the next write). */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.at);
  }
}
