/**
 * A hand-written protobuf encoder for DnsQuery: the collector writes one per DNS query, hundreds of
 * thousands a second, and the reflection-driven `toBinary` costs more than decoding the dnstap frame. It
 * writes the bytes `toBinary(DnsQuerySchema, q)` writes (fields in number order, proto3 defaults left out);
 * the tests hold it to that. Unusual records (unknown fields, negative enums, huge strings) go through
 * `toBinary`.
 */

import { toBinary } from '@bufbuild/protobuf';
import { type DnsQuery, DnsQuerySchema } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';

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
  return new Uint8Array(scratch.subarray(0, pos));
}
