/**
 * DnsQuery (contracts/proto/kansoku/dns/v1/dns.proto) read by hand from its field numbers: the generic
 * reflection decoder (fromBinary) and its garbage were a fifth of the processor's time at load. The result is
 * the same plain message fromBinary gives (the tests compare both on random records). Unknown fields are
 * skipped by wire type; malformed input throws, and the sink counts the message as malformed.
 */
import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { KansokuError } from '@kansoku/kit';

export class DnsQueryDecodeError extends KansokuError {
  constructor(message: string) {
    super('KANSOKU_DNS_QUERY_MALFORMED', message);
  }
}

/** Shared by every message without an address (never written to). */
const EMPTY = new Uint8Array(0);
const TWO_32 = 4_294_967_296;

// The reader's cursor lives at module level (one decode runs at a time: decoding never awaits), so no
// closures are made per message.
let buf: Buffer = Buffer.alloc(0);
let pos = 0;
let end = 0;

/** Varints up to 2^53 as numbers; 64-bit fields go through readUint64. */
function varint(): number {
  let result = 0;
  let factor = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new DnsQueryDecodeError('varint runs past the end');
    const b = buf[pos++] as number;
    result += (b & 0x7f) * factor;
    if (b < 0x80) return result;
    factor *= 128;
  }
  throw new DnsQueryDecodeError('varint longer than 10 bytes');
}

function readUint64(): bigint {
  let lo = 0;
  let hi = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new DnsQueryDecodeError('varint runs past the end');
    const b = buf[pos++] as number;
    if (shift < 28) lo |= (b & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (b & 0x0f) << 28;
      hi |= (b & 0x7f) >>> 4;
    } else hi |= (b & 0x7f) << (shift - 32);
    if (b < 0x80) return BigInt(hi >>> 0) * 4_294_967_296n + BigInt(lo >>> 0);
    shift += 7;
  }
  throw new DnsQueryDecodeError('varint longer than 10 bytes');
}

function uint32(): number {
  return varint() % TWO_32;
}

function length(): number {
  const n = varint();
  if (n > end - pos) throw new DnsQueryDecodeError('length-delimited field runs past the end');
  return n;
}

function bytes(): Uint8Array {
  const n = length();
  const out = new Uint8Array(buf.buffer, buf.byteOffset + pos, n).slice();
  pos += n;
  return out;
}

function text(): string {
  const n = length();
  const out = buf.toString('utf8', pos, pos + n);
  pos += n;
  return out;
}

export function decodeDnsQueryFast(input: Buffer): DnsQuery {
  buf = input;
  pos = 0;
  end = input.length;
  const q: DnsQuery = {
    $typeName: 'kansoku.dns.v1.DnsQuery',
    timeQueryNs: 0n,
    timeReceivedNs: 0n,
    clientAddress: EMPTY,
    clientPort: 0,
    serverAddress: EMPTY,
    serverPort: 0,
    ipVersion: 0,
    transport: 0,
    messageId: 0,
    qname: '',
    qtype: 0,
    qclass: 0,
    recursionDesired: false,
    dnssecOk: false,
    querySizeBytes: 0,
    responseSeen: false,
    rcode: 0,
    responseTimeUs: 0n,
    responseSizeBytes: 0,
    answerCount: 0,
    truncated: false,
    source: 0,
    resolverIdentity: '',
  };

  while (pos < end) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      switch (field) {
        case 1:
          q.timeQueryNs = readUint64();
          continue;
        case 2:
          q.timeReceivedNs = readUint64();
          continue;
        case 18:
          q.responseTimeUs = readUint64();
          continue;
        case 4:
          q.clientPort = uint32();
          continue;
        case 6:
          q.serverPort = uint32();
          continue;
        case 7:
          q.ipVersion = uint32();
          continue;
        case 8:
          q.transport = uint32();
          continue;
        case 9:
          q.messageId = uint32();
          continue;
        case 11:
          q.qtype = uint32();
          continue;
        case 12:
          q.qclass = uint32();
          continue;
        case 13:
          q.recursionDesired = varint() !== 0;
          continue;
        case 14:
          q.dnssecOk = varint() !== 0;
          continue;
        case 15:
          q.querySizeBytes = uint32();
          continue;
        case 16:
          q.responseSeen = varint() !== 0;
          continue;
        case 17:
          q.rcode = uint32();
          continue;
        case 19:
          q.responseSizeBytes = uint32();
          continue;
        case 20:
          q.answerCount = uint32();
          continue;
        case 21:
          q.truncated = varint() !== 0;
          continue;
        case 22:
          q.source = uint32();
          continue;
        default:
          varint();
          continue;
      }
    }
    if (wire === 2) {
      switch (field) {
        case 3:
          q.clientAddress = bytes();
          continue;
        case 5:
          q.serverAddress = bytes();
          continue;
        case 10:
          q.qname = text();
          continue;
        case 23:
          q.resolverIdentity = text();
          continue;
        default: {
          // Not `pos += length()`: that reads pos before length() moves it past the length varint.
          const n = length();
          pos += n;
          continue;
        }
      }
    }
    if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new DnsQueryDecodeError(`unsupported wire type ${wire} (field ${field})`);
    if (pos > end) throw new DnsQueryDecodeError('fixed-size field runs past the end');
  }
  return q;
}

/**
 * The queries of a DnsQueryBatch (kansoku.dns.queries.v2), each read as `decodeDnsQueryFast` reads it. Fields
 * other than 1 (queries) are skipped by wire type; malformed input throws.
 */
export function decodeDnsQueryBatch(input: Buffer): DnsQuery[] {
  const queries: DnsQuery[] = [];
  forEachBatchQuery(input, (start, end) => {
    queries.push(decodeDnsQueryFast(input.subarray(start, end)));
  });
  return queries;
}

/** Calls `each(start, end)` for the bytes of every query in a DnsQueryBatch, in order; throws when malformed. */
export function forEachBatchQuery(input: Buffer, each: (start: number, end: number) => void): void {
  const length = input.length;
  let p = 0;
  const readVarint = (): number => {
    let result = 0;
    let factor = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= length) throw new DnsQueryDecodeError('varint runs past the end');
      const b = input[p++] as number;
      result += (b & 0x7f) * factor;
      if (b < 0x80) return result;
      factor *= 128;
    }
    throw new DnsQueryDecodeError('varint longer than 10 bytes');
  };
  while (p < length) {
    const tag = readVarint();
    const wire = tag & 7;
    if (wire === 2) {
      const n = readVarint();
      if (n > length - p) throw new DnsQueryDecodeError('length-delimited field runs past the end');
      if (Math.floor(tag / 8) === 1) each(p, p + n);
      p += n;
    } else if (wire === 0) readVarint();
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else throw new DnsQueryDecodeError(`unsupported wire type ${wire} in a batch`);
    if (p > length) throw new DnsQueryDecodeError('fixed-size field runs past the end');
  }
}
