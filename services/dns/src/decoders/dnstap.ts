/**
 * dnstap (dnstap.info) protobuf messages, read and written by hand from the field numbers of the public
 * schema: the generic reflection decoder costs more than the rest of the collector's work per message, and
 * only a dozen fields matter. Unknown fields are skipped by wire type, as protobuf requires; a frame that
 * is not valid protobuf (bad wire type, length past the end, varint over 10 bytes) is a DnstapDecodeError.
 *
 *   Dnstap  { 1 identity bytes, 2 version bytes, 3 extra bytes, 14 message Message, 15 type enum (1 MESSAGE) }
 *   Message { 1 type, 2 socket_family, 3 socket_protocol, 4 query_address, 5 response_address,
 *             6 query_port, 7 response_port, 8 query_time_sec uint64, 9 query_time_nsec fixed32,
 *             10 query_message, 11 query_zone, 12 response_time_sec uint64, 13 response_time_nsec fixed32,
 *             14 response_message, 15 policy, 16 http_protocol }
 */

import { KansokuError } from '@kansoku/kit';

export type DnstapErrorCode = 'KANSOKU_DNSTAP_MALFORMED' | 'KANSOKU_DNSTAP_NO_MESSAGE';

export class DnstapDecodeError extends KansokuError {
  declare readonly code: DnstapErrorCode;

  constructor(code: DnstapErrorCode, message: string) {
    super(code, message);
  }
}

/** Message.type values. */
export const DnstapMessageType = {
  AUTH_QUERY: 1,
  AUTH_RESPONSE: 2,
  RESOLVER_QUERY: 3,
  RESOLVER_RESPONSE: 4,
  CLIENT_QUERY: 5,
  CLIENT_RESPONSE: 6,
  FORWARDER_QUERY: 7,
  FORWARDER_RESPONSE: 8,
  STUB_QUERY: 9,
  STUB_RESPONSE: 10,
  TOOL_QUERY: 11,
  TOOL_RESPONSE: 12,
  UPDATE_QUERY: 13,
  UPDATE_RESPONSE: 14,
} as const;

const MESSAGE_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(DnstapMessageType).map(([name, value]) => [value, name.toLowerCase()]),
);

/** Lower-case name of a Message.type (`client_query`), or `unknown` for a value outside the schema. */
export function dnstapMessageTypeName(type: number): string {
  return MESSAGE_TYPE_NAMES[type] ?? 'unknown';
}

export const SocketFamily = { INET: 1, INET6: 2 } as const;

export const SocketProtocol = {
  UDP: 1,
  TCP: 2,
  DOT: 3,
  DOH: 4,
  DNSCRYPT_UDP: 5,
  DNSCRYPT_TCP: 6,
  DOQ: 7,
} as const;

export interface DnstapMessage {
  type: number;
  socketFamily: number;
  socketProtocol: number;
  queryAddress: Uint8Array | undefined;
  responseAddress: Uint8Array | undefined;
  queryPort: number;
  responsePort: number;
  /** Seconds; 0 when absent. */
  queryTimeSec: number;
  queryTimeNsec: number;
  queryMessage: Uint8Array | undefined;
  responseTimeSec: number;
  responseTimeNsec: number;
  responseMessage: Uint8Array | undefined;
}

export interface Dnstap {
  identity: Uint8Array | undefined;
  version: Uint8Array | undefined;
  extra: Uint8Array | undefined;
  /** Dnstap.type: 1 MESSAGE is the only one defined. */
  type: number;
  message: DnstapMessage | undefined;
}

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** A cursor over one protobuf message; every read checks bounds. */
class ProtoReader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint as a JS number; values above 2^53 lose precision (no field here is that large). */
  varint(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw malformed('varint runs past the end');
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return result;
      multiplier *= 128;
    }
    throw malformed('varint longer than 10 bytes');
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) throw malformed('fixed32 runs past the end');
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  /** Start and end of a length-delimited field's payload; moves past it. */
  lengthDelimited(): [number, number] {
    const length = this.varint();
    const start = this.pos;
    if (length > this.end - start) throw malformed(`field of ${length} bytes runs past the end`);
    this.pos = start + length;
    return [start, this.pos];
  }

  bytes(): Uint8Array {
    const [start, end] = this.lengthDelimited();
    return this.buf.subarray(start, end);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        if (this.pos + 8 > this.end) throw malformed('fixed64 runs past the end');
        this.pos += 8;
        return;
      case LENGTH_DELIMITED:
        this.lengthDelimited();
        return;
      case FIXED32:
        this.fixed32();
        return;
      default:
        // Groups (3, 4) are deprecated and never used by dnstap; 6 and 7 do not exist.
        throw malformed(`wire type ${wireType} is not readable`);
    }
  }
}

function malformed(message: string): DnstapDecodeError {
  return new DnstapDecodeError('KANSOKU_DNSTAP_MALFORMED', message);
}

function decodeMessage(reader: ProtoReader, end: number): DnstapMessage {
  const inner = new ProtoReader(reader.buf, reader.pos, end);
  const m: DnstapMessage = {
    type: 0,
    socketFamily: 0,
    socketProtocol: 0,
    queryAddress: undefined,
    responseAddress: undefined,
    queryPort: 0,
    responsePort: 0,
    queryTimeSec: 0,
    queryTimeNsec: 0,
    queryMessage: undefined,
    responseTimeSec: 0,
    responseTimeNsec: 0,
    responseMessage: undefined,
  };
  while (inner.pos < end) {
    const key = inner.varint();
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    switch (field) {
      case 1:
        if (wireType !== VARINT) break;
        m.type = inner.varint();
        continue;
      case 2:
        if (wireType !== VARINT) break;
        m.socketFamily = inner.varint();
        continue;
      case 3:
        if (wireType !== VARINT) break;
        m.socketProtocol = inner.varint();
        continue;
      case 4:
        if (wireType !== LENGTH_DELIMITED) break;
        m.queryAddress = inner.bytes();
        continue;
      case 5:
        if (wireType !== LENGTH_DELIMITED) break;
        m.responseAddress = inner.bytes();
        continue;
      case 6:
        if (wireType !== VARINT) break;
        m.queryPort = inner.varint();
        continue;
      case 7:
        if (wireType !== VARINT) break;
        m.responsePort = inner.varint();
        continue;
      case 8:
        if (wireType !== VARINT) break;
        m.queryTimeSec = inner.varint();
        continue;
      case 9:
        if (wireType !== FIXED32) break;
        m.queryTimeNsec = inner.fixed32();
        continue;
      case 10:
        if (wireType !== LENGTH_DELIMITED) break;
        m.queryMessage = inner.bytes();
        continue;
      case 12:
        if (wireType !== VARINT) break;
        m.responseTimeSec = inner.varint();
        continue;
      case 13:
        if (wireType !== FIXED32) break;
        m.responseTimeNsec = inner.fixed32();
        continue;
      case 14:
        if (wireType !== LENGTH_DELIMITED) break;
        m.responseMessage = inner.bytes();
        continue;
      default:
        break;
    }
    // Unknown field, or a known one with an unexpected wire type: skipped, as protobuf parsers do.
    inner.skip(wireType);
  }
  return m;
}

/**
 * Decodes one dnstap frame (the payload of a Frame Streams data frame). Throws DnstapDecodeError:
 * KANSOKU_DNSTAP_MALFORMED (not protobuf), KANSOKU_DNSTAP_NO_MESSAGE (valid, but no Message in it).
 * Byte fields are views into `frame`.
 */
export function decodeDnstap(frame: Uint8Array): Dnstap {
  const reader = new ProtoReader(frame, 0, frame.length);
  const result: Dnstap = {
    identity: undefined,
    version: undefined,
    extra: undefined,
    type: 0,
    message: undefined,
  };
  while (reader.pos < frame.length) {
    const key = reader.varint();
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    if (field === 0) throw malformed('field number 0');
    if (wireType === LENGTH_DELIMITED && (field === 1 || field === 2 || field === 3 || field === 14)) {
      if (field === 14) {
        const [start, end] = reader.lengthDelimited();
        reader.pos = start;
        result.message = decodeMessage(reader, end);
        reader.pos = end;
      } else {
        const value = reader.bytes();
        if (field === 1) result.identity = value;
        else if (field === 2) result.version = value;
        else result.extra = value;
      }
      continue;
    }
    if (field === 15 && wireType === VARINT) {
      result.type = reader.varint();
      continue;
    }
    reader.skip(wireType);
  }
  if (result.message === undefined)
    throw new DnstapDecodeError('KANSOKU_DNSTAP_NO_MESSAGE', 'dnstap frame carries no message');
  return result;
}

/** What encodeDnstap writes; every field is optional. */
export interface DnstapInput {
  identity?: string | Uint8Array;
  version?: string | Uint8Array;
  extra?: Uint8Array;
  message: Partial<DnstapMessage>;
}

/** Protobuf writer over a scratch buffer (grown when a frame needs more); `take` copies the result out. */
class ProtoWriter {
  buf = Buffer.allocUnsafe(4096);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  varint(value: number): void {
    this.room(10);
    let v = value;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  varintField(field: number, value: number | undefined): void {
    if (value === undefined) return;
    this.tag(field, VARINT);
    this.varint(value);
  }

  fixed32Field(field: number, value: number | undefined): void {
    if (value === undefined) return;
    this.tag(field, FIXED32);
    this.room(4);
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }

  bytesField(field: number, value: Uint8Array | string | undefined): void {
    if (value === undefined) return;
    this.tag(field, LENGTH_DELIMITED);
    if (typeof value === 'string') {
      const length = Buffer.byteLength(value);
      this.varint(length);
      this.room(length);
      this.pos += this.buf.write(value, this.pos);
    } else {
      this.varint(value.length);
      this.room(value.length);
      this.buf.set(value, this.pos);
      this.pos += value.length;
    }
  }

  /** A length-delimited field whose body `write` writes now; its length is known only afterwards. */
  nested(field: number, write: () => void): void {
    this.tag(field, LENGTH_DELIMITED);
    // Room for the longest length varint a frame can need (5 bytes), then the body is moved back if shorter.
    this.room(5);
    const lengthAt = this.pos;
    this.pos += 5;
    write();
    const length = this.pos - lengthAt - 5;
    let size = 1;
    for (let v = length; v > 0x7f; v = Math.floor(v / 128)) size++;
    if (size < 5) this.buf.copy(this.buf, lengthAt + size, lengthAt + 5, this.pos);
    this.pos -= 5 - size;
    const end = this.pos;
    this.pos = lengthAt;
    this.varint(length);
    this.pos = end;
  }

  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    return out;
  }
}

const writer = new ProtoWriter();

/**
 * Encodes a dnstap frame (simulators, test senders). Time fields are written when non-zero (as resolvers
 * do); the message type defaults to CLIENT_QUERY.
 */
export function encodeDnstap(input: DnstapInput): Buffer {
  const m = input.message;
  const w = writer;
  w.pos = 0;
  w.bytesField(1, input.identity);
  w.bytesField(2, input.version);
  w.bytesField(3, input.extra);
  w.nested(14, () => {
    w.varintField(1, m.type ?? DnstapMessageType.CLIENT_QUERY);
    w.varintField(2, m.socketFamily);
    w.varintField(3, m.socketProtocol);
    w.bytesField(4, m.queryAddress);
    w.bytesField(5, m.responseAddress);
    w.varintField(6, m.queryPort);
    w.varintField(7, m.responsePort);
    if (m.queryTimeSec) {
      w.varintField(8, m.queryTimeSec);
      w.fixed32Field(9, m.queryTimeNsec ?? 0);
    }
    w.bytesField(10, m.queryMessage);
    if (m.responseTimeSec) {
      w.varintField(12, m.responseTimeSec);
      w.fixed32Field(13, m.responseTimeNsec ?? 0);
    }
    w.bytesField(14, m.responseMessage);
  });
  w.varintField(15, 1);
  return w.take();
}
