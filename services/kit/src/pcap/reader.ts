/**
 * Streaming reader of capture files: classic pcap (either byte order, micro- or nanosecond timestamps) and
 * pcapng (sections of either byte order, any number of interfaces with their own timestamp resolution;
 * enhanced, simple and obsolete packet blocks; every other block skipped). Memory stays bounded by the
 * largest record, whatever the file's size.
 */

import { createReadStream } from 'node:fs';
import { KansokuError } from '../errors.ts';
import { ByteReader, TruncatedInputError } from '../net/byte-reader.ts';

export interface PcapPacket {
  /** Nanoseconds since the Unix epoch. 0n for pcapng simple packet blocks, which carry no time. */
  timestampNs: bigint;
  /** LINKTYPE_* of the packet's interface (1 Ethernet, 113 Linux SLL, 101 raw IP, …). */
  linkType: number;
  /** Bytes captured (the length of `data`). */
  capturedLength: number;
  /** Bytes the packet had on the wire; more than capturedLength when the capture cut it (snaplen). */
  originalLength: number;
  /** The captured bytes: a view into the reader's buffer, copy it to keep it for long. */
  data: Buffer;
  /** pcapng interface of the section (0 for classic pcap). */
  interfaceId: number;
}

export type PcapErrorCode =
  | 'KANSOKU_PCAP_BAD_MAGIC'
  | 'KANSOKU_PCAP_UNSUPPORTED_VERSION'
  | 'KANSOKU_PCAP_MALFORMED'
  | 'KANSOKU_PCAP_TRUNCATED'
  | 'KANSOKU_PCAP_RECORD_TOO_LARGE'
  | 'KANSOKU_PCAP_UNKNOWN_INTERFACE';

export class PcapFormatError extends KansokuError {
  declare readonly code: PcapErrorCode;
  /** Byte offset in the input of the header or block the problem is in. */
  readonly offset: number;

  constructor(code: PcapErrorCode, message: string, offset: number, options?: { cause?: unknown }) {
    super(code, `${message} (at byte ${offset})`, options);
    this.offset = offset;
  }
}

export interface PcapReadOptions {
  /** Largest record or block accepted; a larger length is taken as corruption. Default 64 MiB. */
  maxRecordBytes?: number;
  /**
   * What to do when the input ends inside a record (a capture that was cut while written): `throw` a
   * KANSOKU_PCAP_TRUNCATED error after the packets before it (default), or `ignore` the partial record.
   */
  truncatedTail?: 'throw' | 'ignore';
}

export interface PcapFileReadOptions extends PcapReadOptions {
  /** Bytes read from the file at a time. Default 64 KiB. */
  chunkSize?: number;
}

const CLASSIC_MAGIC_MICRO = 0xa1b2c3d4;
const CLASSIC_MAGIC_NANO = 0xa1b23c4d;
const PCAPNG_SECTION_HEADER = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BLOCK_INTERFACE_DESCRIPTION = 0x00000001;
const BLOCK_OBSOLETE_PACKET = 0x00000002;
const BLOCK_SIMPLE_PACKET = 0x00000003;
const BLOCK_ENHANCED_PACKET = 0x00000006;
const OPTION_END = 0;
const OPTION_IF_TSRESOL = 9;
const OPTION_IF_TSOFFSET = 14;
const NS_PER_SECOND = 1_000_000_000n;
const EMPTY = Buffer.alloc(0);

interface ClassicState {
  kind: 'pcap';
  littleEndian: boolean;
  fractionToNs: bigint;
  linkType: number;
}

interface PcapngInterface {
  linkType: number;
  snapLength: number;
  /** Timestamp units to nanoseconds: (ts * multiply) / divide, then + offset. */
  multiply: bigint;
  divide: bigint;
  offsetNs: bigint;
}

interface PcapngState {
  kind: 'pcapng';
  littleEndian: boolean;
  interfaces: PcapngInterface[];
}

/**
 * Incremental parser: push chunks as they arrive, take the packets they complete, call end() at the end of
 * input. readPcapFile, readPcapStream and readPcapBuffer are built on it.
 */
export class PcapParser {
  readonly #maxRecordBytes: number;
  readonly #truncatedTail: 'throw' | 'ignore';
  #buffer: Buffer = EMPTY;
  #position = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Input offset of #buffer[0]. */
  #bufferOffset = 0;
  #state: ClassicState | PcapngState | undefined;
  #ended = false;

  constructor(options: PcapReadOptions = {}) {
    this.#maxRecordBytes = options.maxRecordBytes ?? 64 * 1024 * 1024;
    this.#truncatedTail = options.truncatedTail ?? 'throw';
  }

  /** `pcap` or `pcapng` once the header has been read. */
  get format(): 'pcap' | 'pcapng' | undefined {
    return this.#state?.kind;
  }

  push(chunk: Buffer): void {
    if (this.#ended) throw new Error('PcapParser: push() after end()');
    if (chunk.length === 0) return;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
  }

  /** Marks the end of input; throws KANSOKU_PCAP_TRUNCATED if a partial record is left (unless ignored). */
  end(): void {
    this.#ended = true;
    const left = this.#available();
    if (this.#state === undefined) {
      throw new PcapFormatError(
        'KANSOKU_PCAP_TRUNCATED',
        `input ends before the file header (${left} bytes)`,
        0,
      );
    }
    if (left > 0 && this.#truncatedTail === 'throw') {
      throw new PcapFormatError(
        'KANSOKU_PCAP_TRUNCATED',
        `input ends inside a record (${left} bytes left over)`,
        this.#offset(),
      );
    }
  }

  /** The packets the input pushed so far completes. */
  *packets(): Generator<PcapPacket> {
    for (;;) {
      if (this.#state === undefined && !this.#readFileHeader()) return;
      const state = this.#state!;
      const packet = state.kind === 'pcap' ? this.#nextClassic(state) : this.#nextPcapng(state);
      if (packet === undefined) return;
      if (packet !== null) yield packet;
    }
  }

  #available(): number {
    return this.#buffer.length - this.#position + this.#pendingBytes;
  }

  #offset(): number {
    return this.#bufferOffset + this.#position;
  }

  /** Makes `n` contiguous bytes available at #position, or returns false if the input has not got them yet. */
  #ensure(n: number): boolean {
    if (this.#buffer.length - this.#position >= n) return true;
    if (this.#available() < n) return false;
    this.#bufferOffset += this.#position;
    this.#buffer = Buffer.concat([this.#buffer.subarray(this.#position), ...this.#pending]);
    this.#position = 0;
    this.#pending = [];
    this.#pendingBytes = 0;
    return true;
  }

  #readFileHeader(): boolean {
    if (!this.#ensure(4)) return false;
    const b = this.#buffer;
    const p = this.#position;
    if (b.readUInt32BE(p) === PCAPNG_SECTION_HEADER) {
      // Byte order comes from the section header block itself, read like any block.
      this.#state = { kind: 'pcapng', littleEndian: true, interfaces: [] };
      return true;
    }
    const asLittle = b.readUInt32LE(p);
    const asBig = b.readUInt32BE(p);
    let littleEndian: boolean;
    let nanos: boolean;
    if (asLittle === CLASSIC_MAGIC_MICRO || asLittle === CLASSIC_MAGIC_NANO) {
      littleEndian = true;
      nanos = asLittle === CLASSIC_MAGIC_NANO;
    } else if (asBig === CLASSIC_MAGIC_MICRO || asBig === CLASSIC_MAGIC_NANO) {
      littleEndian = false;
      nanos = asBig === CLASSIC_MAGIC_NANO;
    } else {
      throw new PcapFormatError(
        'KANSOKU_PCAP_BAD_MAGIC',
        `not a pcap or pcapng file (magic 0x${asBig.toString(16).padStart(8, '0')})`,
        this.#offset(),
      );
    }
    if (!this.#ensure(24)) return false;
    const header = new ByteReader(this.#buffer.subarray(this.#position, this.#position + 24), {
      littleEndian,
    });
    header.skip(4);
    const major = header.u16();
    const minor = header.u16();
    if (major !== 2) {
      throw new PcapFormatError(
        'KANSOKU_PCAP_UNSUPPORTED_VERSION',
        `pcap version ${major}.${minor} (only 2.x exists)`,
        this.#offset(),
      );
    }
    header.skip(4 + 4 + 4); // thiszone (always 0 in practice), sigfigs, snaplen
    // The upper bits of the link type field may carry FCS information.
    const linkType = header.u32() & 0xffff;
    this.#position += 24;
    this.#state = { kind: 'pcap', littleEndian, fractionToNs: nanos ? 1n : 1000n, linkType };
    return true;
  }

  /** undefined: needs more input. */
  #nextClassic(state: ClassicState): PcapPacket | undefined {
    if (!this.#ensure(16)) return undefined;
    const b = this.#buffer;
    const p = this.#position;
    const le = state.littleEndian;
    const seconds = le ? b.readUInt32LE(p) : b.readUInt32BE(p);
    const fraction = le ? b.readUInt32LE(p + 4) : b.readUInt32BE(p + 4);
    const capturedLength = le ? b.readUInt32LE(p + 8) : b.readUInt32BE(p + 8);
    const originalLength = le ? b.readUInt32LE(p + 12) : b.readUInt32BE(p + 12);
    if (capturedLength > this.#maxRecordBytes) {
      throw new PcapFormatError(
        'KANSOKU_PCAP_RECORD_TOO_LARGE',
        `record declares ${capturedLength} captured bytes, more than the ${this.#maxRecordBytes} accepted`,
        this.#offset(),
      );
    }
    if (!this.#ensure(16 + capturedLength)) return undefined;
    const start = this.#position + 16;
    const data = this.#buffer.subarray(start, start + capturedLength);
    this.#position = start + capturedLength;
    return {
      timestampNs: BigInt(seconds) * NS_PER_SECOND + BigInt(fraction) * state.fractionToNs,
      linkType: state.linkType,
      capturedLength,
      originalLength,
      data,
      interfaceId: 0,
    };
  }

  /** undefined: needs more input; null: a block that is not a packet, consumed. */
  #nextPcapng(state: PcapngState): PcapPacket | null | undefined {
    if (!this.#ensure(8)) return undefined;
    const blockOffset = this.#offset();
    const isSection = this.#buffer.readUInt32BE(this.#position) === PCAPNG_SECTION_HEADER;
    if (isSection) {
      if (!this.#ensure(12)) return undefined;
      const magic = this.#buffer.readUInt32LE(this.#position + 8);
      if (magic === PCAPNG_BYTE_ORDER_MAGIC) state.littleEndian = true;
      else if (this.#buffer.readUInt32BE(this.#position + 8) === PCAPNG_BYTE_ORDER_MAGIC)
        state.littleEndian = false;
      else {
        throw new PcapFormatError(
          'KANSOKU_PCAP_BAD_MAGIC',
          'pcapng section header without a valid byte-order magic',
          blockOffset,
        );
      }
    }
    const le = state.littleEndian;
    const b = this.#buffer;
    const p = this.#position;
    const type = le ? b.readUInt32LE(p) : b.readUInt32BE(p);
    const totalLength = le ? b.readUInt32LE(p + 4) : b.readUInt32BE(p + 4);
    if (totalLength < 12 || totalLength % 4 !== 0) {
      throw new PcapFormatError(
        'KANSOKU_PCAP_MALFORMED',
        `pcapng block of type 0x${type.toString(16)} declares length ${totalLength}`,
        blockOffset,
      );
    }
    if (totalLength > this.#maxRecordBytes) {
      throw new PcapFormatError(
        'KANSOKU_PCAP_RECORD_TOO_LARGE',
        `pcapng block declares ${totalLength} bytes, more than the ${this.#maxRecordBytes} accepted`,
        blockOffset,
      );
    }
    if (!this.#ensure(totalLength)) return undefined;
    const block = this.#buffer.subarray(this.#position, this.#position + totalLength);
    const trailer = le ? block.readUInt32LE(totalLength - 4) : block.readUInt32BE(totalLength - 4);
    if (trailer !== totalLength) {
      throw new PcapFormatError(
        'KANSOKU_PCAP_MALFORMED',
        `pcapng block length ${totalLength} does not match its trailing copy ${trailer}`,
        blockOffset,
      );
    }
    this.#position += totalLength;
    const body = new ByteReader(block.subarray(8, totalLength - 4), { littleEndian: le });
    try {
      if (isSection) {
        readSectionHeader(body, blockOffset);
        state.interfaces = [];
        return null;
      }
      switch (type) {
        case BLOCK_INTERFACE_DESCRIPTION:
          state.interfaces.push(readInterfaceDescription(body));
          return null;
        case BLOCK_ENHANCED_PACKET:
          return readEnhancedPacket(body, state, blockOffset);
        case BLOCK_SIMPLE_PACKET:
          return readSimplePacket(body, state, blockOffset);
        case BLOCK_OBSOLETE_PACKET:
          return readObsoletePacket(body, state, blockOffset);
        default:
          // Name resolution, statistics, journal, decryption secrets, custom blocks: not packets.
          return null;
      }
    } catch (error) {
      if (error instanceof TruncatedInputError) {
        throw new PcapFormatError(
          'KANSOKU_PCAP_MALFORMED',
          `pcapng block of type 0x${type.toString(16)} is shorter than its fields`,
          blockOffset,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

function readSectionHeader(body: ByteReader, offset: number): void {
  body.skip(4); // byte-order magic, already read
  const major = body.u16();
  const minor = body.u16();
  if (major !== 1) {
    throw new PcapFormatError('KANSOKU_PCAP_UNSUPPORTED_VERSION', `pcapng version ${major}.${minor}`, offset);
  }
  // Section length (often -1) and options: nothing a reader needs.
}

function readInterfaceDescription(body: ByteReader): PcapngInterface {
  const linkType = body.u16();
  body.skip(2);
  const snapLength = body.u32();
  // Default resolution: microseconds.
  let multiply = 1000n;
  let divide = 1n;
  let offsetNs = 0n;
  while (body.remaining >= 4) {
    const code = body.u16();
    const length = body.u16();
    if (code === OPTION_END) break;
    const value = body.sub(length);
    body.skip((4 - (length % 4)) % 4);
    if (code === OPTION_IF_TSRESOL && length >= 1) {
      const resolution = value.u8();
      const exponent = resolution & 0x7f;
      if ((resolution & 0x80) === 0) {
        // 10^-exponent seconds per unit.
        if (exponent <= 9) {
          multiply = 10n ** BigInt(9 - exponent);
          divide = 1n;
        } else {
          multiply = 1n;
          divide = 10n ** BigInt(exponent - 9);
        }
      } else {
        // 2^-exponent seconds per unit.
        multiply = NS_PER_SECOND;
        divide = 1n << BigInt(exponent);
      }
    } else if (code === OPTION_IF_TSOFFSET && length >= 8) {
      offsetNs = value.i64() * NS_PER_SECOND;
    }
  }
  return { linkType, snapLength, multiply, divide, offsetNs };
}

function interfaceAt(state: PcapngState, id: number, offset: number): PcapngInterface {
  const found = state.interfaces[id];
  if (found === undefined) {
    throw new PcapFormatError(
      'KANSOKU_PCAP_UNKNOWN_INTERFACE',
      `packet of interface ${id}, but the section describes ${state.interfaces.length}`,
      offset,
    );
  }
  return found;
}

function timestampNs(iface: PcapngInterface, high: number, low: number): bigint {
  const units = (BigInt(high) << 32n) | BigInt(low);
  const ns = iface.divide === 1n ? units * iface.multiply : (units * iface.multiply) / iface.divide;
  return ns + iface.offsetNs;
}

function readEnhancedPacket(body: ByteReader, state: PcapngState, offset: number): PcapPacket {
  const interfaceId = body.u32();
  const high = body.u32();
  const low = body.u32();
  const capturedLength = body.u32();
  const originalLength = body.u32();
  const data = body.bytes(capturedLength);
  const iface = interfaceAt(state, interfaceId, offset);
  return {
    timestampNs: timestampNs(iface, high, low),
    linkType: iface.linkType,
    capturedLength,
    originalLength,
    data,
    interfaceId,
  };
}

function readSimplePacket(body: ByteReader, state: PcapngState, offset: number): PcapPacket {
  const originalLength = body.u32();
  const iface = interfaceAt(state, 0, offset);
  let capturedLength = Math.min(originalLength, body.remaining);
  if (iface.snapLength > 0) capturedLength = Math.min(capturedLength, iface.snapLength);
  const data = body.bytes(capturedLength);
  return { timestampNs: 0n, linkType: iface.linkType, capturedLength, originalLength, data, interfaceId: 0 };
}

function readObsoletePacket(body: ByteReader, state: PcapngState, offset: number): PcapPacket {
  const interfaceId = body.u16();
  body.skip(2); // drops count
  const high = body.u32();
  const low = body.u32();
  const capturedLength = body.u32();
  const originalLength = body.u32();
  const data = body.bytes(capturedLength);
  const iface = interfaceAt(state, interfaceId, offset);
  return {
    timestampNs: timestampNs(iface, high, low),
    linkType: iface.linkType,
    capturedLength,
    originalLength,
    data,
    interfaceId,
  };
}

/** Packets of a capture held in memory. */
export function* readPcapBuffer(buffer: Buffer, options: PcapReadOptions = {}): Generator<PcapPacket> {
  const parser = new PcapParser(options);
  parser.push(buffer);
  yield* parser.packets();
  parser.end();
}

/** Packets of a capture arriving as chunks (a file stream, stdin, a decompressor). */
export async function* readPcapStream(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  options: PcapReadOptions = {},
): AsyncGenerator<PcapPacket> {
  const parser = new PcapParser(options);
  for await (const chunk of source) {
    if (typeof chunk === 'string') throw new TypeError('readPcapStream needs binary chunks, got a string');
    parser.push(
      Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    );
    yield* parser.packets();
  }
  parser.end();
}

/** Packets of a capture file, read a chunk at a time; leaving the loop early closes the file. */
export async function* readPcapFile(
  path: string,
  options: PcapFileReadOptions = {},
): AsyncGenerator<PcapPacket> {
  const stream = createReadStream(path, { highWaterMark: options.chunkSize ?? 64 * 1024 });
  try {
    yield* readPcapStream(stream, options);
  } finally {
    stream.destroy();
  }
}
