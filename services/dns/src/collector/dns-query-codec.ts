/**
 * A hand-written protobuf encoder for DnsQuery and for DnsQueryBatch, the Kafka message that carries them
 * (kansoku.dns.queries.v2): the collector writes one query per DNS query, hundreds of thousands a second, and
 * the reflection-driven `toBinary` costs more than decoding the dnstap frame. It writes the bytes
 * `toBinary(DnsQuerySchema, q)` writes (fields in number order, proto3 defaults left out), and a batch is its
 * queries one after the other as field 1; the tests hold both to `toBinary`. Unusual records (unknown fields,
 * negative enums, huge strings) go through `toBinary`.
 */

import { toBinary } from '@bufbuild/protobuf';
import { type DnsQuery, DnsQuerySchema } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import type { DnsQueryBatch } from '@kansoku/contracts/gen/kansoku/dns/v2/dns_pb';

const VARINT = 0;
const LENGTH_DELIMITED = 2;
/** Names are at most 255 octets, escaped at most 4 characters each: ~1 KiB; identities are bounded below. */
const MAX_TEXT_CHARS = 1100;
const scratch = Buffer.alloc(4096);
let pos = 0;

function varint32(value: number): void {
  let v = value >>> 0;
  while (v > 0x7f) {
    scratch[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  scratch[pos++] = v;
}

function varint64(value: bigint): void {
  if (value <= 0xffffffffn && value >= 0n) {
    varint32(Number(value));
    return;
  }
  // uint64 semantics, as toBinary: a value outside the range is taken modulo 2^64. The two 32-bit halves
  // are shifted as numbers: BigInt arithmetic per 7 bits costs more than the rest of the record.
  const v = BigInt.asUintN(64, value);
  let lo = Number(v & 0xffffffffn);
  let hi = Number(v >> 32n);
  while (hi > 0 || lo > 0x7f) {
    scratch[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  scratch[pos++] = lo;
}

function key(field: number, wireType: number): void {
  scratch[pos++] = (field << 3) | wireType; // every field number here is below 16: one byte
}

function key2(field: number, wireType: number): void {
  varint32((field << 3) | wireType);
}

function u32(field: number, value: number): void {
  if (value === 0) return;
  if (field < 16) key(field, VARINT);
  else key2(field, VARINT);
  varint32(value);
}

function u64(field: number, value: bigint): void {
  if (BigInt.asUintN(64, value) === 0n) return;
  if (field < 16) key(field, VARINT);
  else key2(field, VARINT);
  varint64(value);
}

function bool(field: number, value: boolean): void {
  if (!value) return;
  if (field < 16) key(field, VARINT);
  else key2(field, VARINT);
  scratch[pos++] = 1;
}

function bytes(field: number, value: Uint8Array): void {
  if (value.length === 0) return;
  key(field, LENGTH_DELIMITED);
  varint32(value.length);
  scratch.set(value, pos);
  pos += value.length;
}

function text(field: number, value: string): void {
  if (value.length === 0) return;
  const length = Buffer.byteLength(value, 'utf8');
  if (field < 16) key(field, LENGTH_DELIMITED);
  else key2(field, LENGTH_DELIMITED);
  varint32(length);
  pos += scratch.write(value, pos, 'utf8');
}

function needsGenericEncoder(q: DnsQuery): boolean {
  return (
    (q.$unknown !== undefined && q.$unknown.length > 0) ||
    q.ipVersion < 0 ||
    q.transport < 0 ||
    q.source < 0 ||
    q.clientAddress.length > 64 ||
    q.serverAddress.length > 64 ||
    q.qname.length > MAX_TEXT_CHARS ||
    q.resolverIdentity.length > MAX_TEXT_CHARS / 4
  );
}

/** The protobuf encoding of `q`, byte-identical to `toBinary(DnsQuerySchema, q)`. */
export function encodeDnsQuery(q: DnsQuery): Uint8Array {
  if (needsGenericEncoder(q)) return toBinary(DnsQuerySchema, q);
  writeQuery(q);
  return new Uint8Array(scratch.subarray(0, pos));
}

/**
 * A DnsQueryBatch being written: `append` adds one query (as field 1), `take` returns the message's bytes and
 * starts the next one in the same buffer. The bytes are `toBinary(DnsQueryBatchSchema, { queries })`'s.
 */
export class DnsQueryBatchBuilder {
  private buffer = Buffer.allocUnsafe(4096);
  private at = 0;
  /** Queries appended since the last `take`. */
  count = 0;

  /** Bytes of the batch so far. */
  get bytes(): number {
    return this.at;
  }

  append(q: DnsQuery): void {
    let generic: Uint8Array | undefined;
    let length: number;
    if (needsGenericEncoder(q)) {
      generic = toBinary(DnsQuerySchema, q);
      length = generic.length;
    } else {
      writeQuery(q);
      length = pos;
    }
    if (this.at + length + 6 > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + length + 6));
      this.buffer.copy(grown, 0, 0, this.at);
      this.buffer = grown;
    }
    const out = this.buffer;
    out[this.at++] = 0x0a; // field 1 (queries), length-delimited
    let v = length;
    while (v > 0x7f) {
      out[this.at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[this.at++] = v;
    if (generic === undefined) scratch.copy(out, this.at, 0, length);
    else out.set(generic, this.at);
    this.at += length;
    this.count++;
  }

  /** The batch's bytes (a copy: the builder goes on with the next batch). */
  take(): Buffer {
    const bytes = Buffer.allocUnsafe(this.at);
    this.buffer.copy(bytes, 0, 0, this.at);
    this.at = 0;
    this.count = 0;
    return bytes;
  }
}

/** The protobuf encoding of a DnsQueryBatch, byte-identical to `toBinary(DnsQueryBatchSchema, batch)`. */
export function encodeDnsQueryBatch(batch: Pick<DnsQueryBatch, 'queries'>): Buffer {
  const builder = new DnsQueryBatchBuilder();
  for (const q of batch.queries) builder.append(q);
  return builder.take();
}

/** Writes `q` at the start of `scratch`; `pos` is its length after. */
function writeQuery(q: DnsQuery): void {
  pos = 0;
  u64(1, q.timeQueryNs);
  u64(2, q.timeReceivedNs);
  bytes(3, q.clientAddress);
  u32(4, q.clientPort);
  bytes(5, q.serverAddress);
  u32(6, q.serverPort);
  u32(7, q.ipVersion);
  u32(8, q.transport);
  u32(9, q.messageId);
  text(10, q.qname);
  u32(11, q.qtype);
  u32(12, q.qclass);
  bool(13, q.recursionDesired);
  bool(14, q.dnssecOk);
  u32(15, q.querySizeBytes);
  bool(16, q.responseSeen);
  u32(17, q.rcode);
  u64(18, q.responseTimeUs);
  u32(19, q.responseSizeBytes);
  u32(20, q.answerCount);
  bool(21, q.truncated);
  u32(22, q.source);
  text(23, q.resolverIdentity);
}
