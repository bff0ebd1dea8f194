/**
 * A hand-written protobuf encoder for FlowRecord, the message the flows collector writes hundreds of thousands
 * of times a second. It writes exactly the bytes `toBinary(FlowRecordSchema, record)` writes (fields in number
 * order, proto3 defaults left out) — the tests hold it to that — in a fraction of the time: the generic,
 * reflection-driven encoder took three quarters of the collector's time per record. Records with unknown
 * fields or negative enum values (neither comes from our decoders) go through `toBinary`.
 */
import { toBinary } from '@bufbuild/protobuf';
import { type FlowRecord, FlowRecordSchema } from './gen/kansoku/flows/v1/flows_pb.ts';

const VARINT = 0;
const LENGTH_DELIMITED = 2;
/** More than any record needs: 30 tags, 7 varints of 10 bytes, 4 byte fields of 16 and a short name. */
const SCRATCH_BYTES = 1024;
const MAX_NAME_BYTES = 256;

const scratch = new Uint8Array(SCRATCH_BYTES);
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
  if (value <= 0xffffffffn) {
    varint32(Number(value));
    return;
  }
  let lo = Number(value & 0xffffffffn);
  let hi = Number((value >> 32n) & 0xffffffffn);
  while (hi > 0 || lo > 0x7f) {
    scratch[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  scratch[pos++] = lo;
}

function tag(field: number, wireType: number): void {
  varint32((field << 3) | wireType);
}

function uint32Field(field: number, value: number): void {
  if (value === 0) return;
  tag(field, VARINT);
  varint32(value);
}

function uint64Field(field: number, value: bigint): void {
  if (value === 0n) return;
  tag(field, VARINT);
  varint64(value);
}

function bytesField(field: number, value: Uint8Array): void {
  if (value.length === 0) return;
  tag(field, LENGTH_DELIMITED);
  varint32(value.length);
  scratch.set(value, pos);
  pos += value.length;
}

const utf8 = new TextEncoder();
const nameCache = new Map<string, Uint8Array>();

function nameBytes(name: string): Uint8Array {
  let bytes = nameCache.get(name);
  if (!bytes) {
    bytes = utf8.encode(name);
    // Application names come from a small table; the cache stays small unless fed arbitrary strings.
    if (nameCache.size < 1024) nameCache.set(name, bytes);
  }
  return bytes;
}

function needsGenericEncoder(r: FlowRecord): boolean {
  return (
    (r.$unknown !== undefined && r.$unknown.length > 0) ||
    r.flowProtocol < 0 ||
    r.direction < 0 ||
    r.ipVersion < 0 ||
    r.exporterAddress.length > 64 ||
    r.srcAddress.length > 64 ||
    r.dstAddress.length > 64 ||
    r.nextHopAddress.length > 64 ||
    r.applicationName.length > MAX_NAME_BYTES / 4
  );
}

export function encodeFlowRecord(r: FlowRecord): Uint8Array {
  if (needsGenericEncoder(r)) return toBinary(FlowRecordSchema, r);
  pos = 0;
  uint64Field(1, r.timeReceivedNs);
  uint64Field(2, r.timeFlowStartNs);
  uint64Field(3, r.timeFlowEndNs);
  bytesField(4, r.exporterAddress);
  uint32Field(5, r.observationDomainId);
  uint32Field(6, r.flowProtocol);
  uint32Field(7, r.exportSequenceNumber);
  uint32Field(8, r.inInterface);
  uint32Field(9, r.outInterface);
  uint32Field(10, r.direction);
  uint32Field(11, r.ipVersion);
  bytesField(12, r.srcAddress);
  bytesField(13, r.dstAddress);
  uint32Field(14, r.srcPrefixLength);
  uint32Field(15, r.dstPrefixLength);
  uint32Field(16, r.srcPort);
  uint32Field(17, r.dstPort);
  uint32Field(18, r.protocol);
  uint32Field(19, r.tcpFlags);
  uint64Field(20, r.bytes);
  uint64Field(21, r.packets);
  uint32Field(22, r.samplingRate);
  uint64Field(23, r.rawBytes);
  uint64Field(24, r.rawPackets);
  uint32Field(25, r.srcAs);
  uint32Field(26, r.dstAs);
  bytesField(27, r.nextHopAddress);
  uint32Field(28, r.srcVlanId);
  uint32Field(29, r.dstVlanId);
  if (r.applicationName.length > 0) bytesField(30, nameBytes(r.applicationName));
  return scratch.slice(0, pos);
}
