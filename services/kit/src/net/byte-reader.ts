/**
 * Bounds-checked reader over a Buffer, big-endian unless told otherwise. Every protocol decoder reads
 * through it, so an input that ends early surfaces as one typed error instead of a RangeError from
 * Node's Buffer or, worse, a silently wrong value.
 */

import { KansokuError } from '../errors.ts';

export const INPUT_TRUNCATED = 'KANSOKU_INPUT_TRUNCATED' as const;

/** The input ended before a field it declares: a short datagram, a length that points past the end. */
export class TruncatedInputError extends KansokuError {
  declare readonly code: typeof INPUT_TRUNCATED;
  /** Bytes the read needed. */
  readonly needed: number;
  /** Bytes that were left when it was attempted. */
  readonly available: number;
  /** Reader position (from the start of the reader's buffer) where the read was attempted. */
  readonly offset: number;

  constructor(needed: number, available: number, offset: number) {
    super(
      INPUT_TRUNCATED,
      `input truncated: needed ${needed} byte(s) at offset ${offset}, ${available} available`,
    );
    this.needed = needed;
    this.available = available;
    this.offset = offset;
  }
}

export interface ByteReaderOptions {
  /** Read multi-byte integers little-endian (pcap and pcapng written on little-endian hosts). */
  littleEndian?: boolean;
}

export class ByteReader {
  readonly buffer: Buffer;
  readonly littleEndian: boolean;
  #position = 0;

  constructor(buffer: Buffer, options: ByteReaderOptions = {}) {
    this.buffer = buffer;
    this.littleEndian = options.littleEndian ?? false;
  }

  /** Bytes read so far (the offset of the next read from the start of the buffer). */
  get position(): number {
    return this.#position;
  }

  get remaining(): number {
    return this.buffer.length - this.#position;
  }

  get atEnd(): boolean {
    return this.#position >= this.buffer.length;
  }

  /** Throws TruncatedInputError unless `n` more bytes are available. */
  require(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > this.buffer.length - this.#position) {
      throw new TruncatedInputError(n, this.remaining, this.#position);
    }
  }

  u8(): number {
    this.require(1);
    const value = this.buffer[this.#position]!;
    this.#position += 1;
    return value;
  }

  u16(): number {
    this.require(2);
    const value = this.littleEndian
      ? this.buffer.readUInt16LE(this.#position)
      : this.buffer.readUInt16BE(this.#position);
    this.#position += 2;
    return value;
  }

  /** Three-byte unsigned integer (MPLS labels, BGP prefixes of odd lengths). */
  u24(): number {
    this.require(3);
    const value = this.littleEndian
      ? this.buffer.readUIntLE(this.#position, 3)
      : this.buffer.readUIntBE(this.#position, 3);
    this.#position += 3;
    return value;
  }

  u32(): number {
    this.require(4);
    const value = this.littleEndian
      ? this.buffer.readUInt32LE(this.#position)
      : this.buffer.readUInt32BE(this.#position);
    this.#position += 4;
    return value;
  }

  i32(): number {
    this.require(4);
    const value = this.littleEndian
      ? this.buffer.readInt32LE(this.#position)
      : this.buffer.readInt32BE(this.#position);
    this.#position += 4;
    return value;
  }

  u64(): bigint {
    this.require(8);
    const value = this.littleEndian
      ? this.buffer.readBigUInt64LE(this.#position)
      : this.buffer.readBigUInt64BE(this.#position);
    this.#position += 8;
    return value;
  }

  i64(): bigint {
    this.require(8);
    const value = this.littleEndian
      ? this.buffer.readBigInt64LE(this.#position)
      : this.buffer.readBigInt64BE(this.#position);
    this.#position += 8;
    return value;
  }

  /** The next `n` bytes as a view of the same memory (no copy). */
  bytes(n: number): Buffer {
    this.require(n);
    const view = this.buffer.subarray(this.#position, this.#position + n);
    this.#position += n;
    return view;
  }

  /** Everything not read yet, as a view; the reader ends up at the end. */
  rest(): Buffer {
    const view = this.buffer.subarray(this.#position);
    this.#position = this.buffer.length;
    return view;
  }

  /** A reader over the next `n` bytes (a nested TLV, a record of declared length); this one skips them. */
  sub(n: number): ByteReader {
    return new ByteReader(this.bytes(n), { littleEndian: this.littleEndian });
  }

  skip(n: number): void {
    this.require(n);
    this.#position += n;
  }

  peekU8(): number {
    this.require(1);
    return this.buffer[this.#position]!;
  }

  peekU16(): number {
    this.require(2);
    return this.littleEndian
      ? this.buffer.readUInt16LE(this.#position)
      : this.buffer.readUInt16BE(this.#position);
  }
}
