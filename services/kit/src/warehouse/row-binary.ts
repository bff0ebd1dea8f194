/**
 * Writes ClickHouse RowBinary rows straight into a growing byte buffer: each value in its column's binary form,
 * little-endian, in the order of the insert's columns. For the tables that take every record: the engine parses
 * TabSeparated text at several µs of CPU per raw flow row (every number and time from its digits), RowBinary at
 * a fraction of that. The result goes to the engine as bytes (`Warehouse.insertRowBinary`).
 */

import { GrowableBytes } from './growable-bytes.ts';

const TWO_POW_32 = 4_294_967_296;

export class RowBinaryWriter extends GrowableBytes {
  private rowCount = 0;

  /** Rows ended so far. */
  get rows(): number {
    return this.rowCount;
  }

  /** UInt8 (also Enum8 values). */
  uint8(value: number): this {
    this.ensure(1);
    this.buffer[this.at++] = value;
    return this;
  }

  uint16(value: number): this {
    this.ensure(2);
    const b = this.buffer;
    b[this.at++] = value & 0xff;
    b[this.at++] = (value >>> 8) & 0xff;
    return this;
  }

  uint32(value: number): this {
    this.ensure(4);
    const b = this.buffer;
    const v = value >>> 0;
    b[this.at++] = v & 0xff;
    b[this.at++] = (v >>> 8) & 0xff;
    b[this.at++] = (v >>> 16) & 0xff;
    b[this.at++] = v >>> 24;
    return this;
  }

  /** UInt64 held as a bigint (its low 64 bits, as the protobuf uint64 it came from). */
  uint64(value: bigint): this {
    if (value >= 0n && value <= 0xffff_ffffn) return this.uint32(Number(value)).uint32(0);
    this.ensure(8);
    this.buffer.writeBigUInt64LE(BigInt.asUintN(64, value), this.at);
    this.at += 8;
    return this;
  }

  /** DateTime64(3): Int64 milliseconds since the epoch, from an integer Number. */
  dateTime64Ms(ms: number): this {
    const high = Math.floor(ms / TWO_POW_32);
    return this.uint32(ms - high * TWO_POW_32).uint32(high);
  }

  private length(value: number): void {
    let v = value;
    while (v > 0x7f) {
      this.buffer[this.at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buffer[this.at++] = v;
  }

  /** String (also LowCardinality(String)): its UTF-8 length, then the bytes. */
  string(value: string): this {
    let ascii = true;
    for (let i = 0; i < value.length; i++) {
      if (value.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    const bytes = ascii ? value.length : Buffer.byteLength(value, 'utf8');
    this.ensure(bytes + 5);
    this.length(bytes);
    this.at += this.buffer.write(value, this.at, ascii ? 'latin1' : 'utf8');
    return this;
  }

  /** String column from bytes already in UTF-8: `length` bytes of `bytes` from `at`. */
  bytesString(bytes: Uint8Array, at = 0, length = bytes.length - at): this {
    this.ensure(length + 5);
    this.length(length);
    for (let i = 0; i < length; i++) this.buffer[this.at + i] = bytes[at + i]!;
    this.at += length;
    return this;
  }

  /** An IPv4 address (4 octets of `octets` from `at`) as the dotted text of a String column, without a string. */
  ipv4Text(octets: Uint8Array, at = 0): this {
    this.ensure(16);
    const lengthAt = this.at++;
    const start = this.at;
    for (let i = 0; i < 4; i++) {
      if (i > 0) this.buffer[this.at++] = 0x2e;
      const v = octets[at + i]!;
      if (v >= 100) this.buffer[this.at++] = 0x30 + Math.floor(v / 100);
      if (v >= 10) this.buffer[this.at++] = 0x30 + (Math.floor(v / 10) % 10);
      this.buffer[this.at++] = 0x30 + (v % 10);
    }
    this.buffer[lengthAt] = this.at - start; // at most 15: one length byte
    return this;
  }

  endRow(): void {
    this.rowCount++;
  }
}
