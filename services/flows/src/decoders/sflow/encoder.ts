/**
 * sFlow v5 datagram writer, the mirror of datagram.ts: builds the datagrams the unit tests, the fuzzer's
 * seeds and a traffic simulator need, from the same shapes the parser returns.
 */

import {
  CounterRecordFormat,
  type ExtendedGateway,
  type ExtendedRouter,
  type ExtendedSwitch,
  FlowRecordFormat,
  type GenericInterfaceCounters,
  type SampledEthernet,
  type SampledHeader,
  type SampledIp,
  SampleFormat,
  SFLOW_VERSION,
  type SflowInterface,
} from './datagram.ts';

/** A record or sample ready to be framed: its format word and its body. */
export interface EncodedEntry {
  dataFormat: number;
  body: Buffer;
}

/** XDR writer: big-endian words, opaque data padded to 4 bytes. */
export class XdrWriter {
  readonly #parts: Buffer[] = [];

  u32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value >>> 0);
    this.#parts.push(b);
    return this;
  }

  u64(value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(value);
    this.#parts.push(b);
    return this;
  }

  /** Bytes as they are (fixed-size opaque of a multiple of 4, or already framed data). */
  raw(bytes: Uint8Array): this {
    this.#parts.push(Buffer.from(bytes));
    return this;
  }

  /** Fixed-size opaque: the bytes, padded to 4. */
  fixedOpaque(bytes: Uint8Array): this {
    this.raw(bytes);
    const padding = (4 - (bytes.length % 4)) % 4;
    if (padding > 0) this.#parts.push(Buffer.alloc(padding));
    return this;
  }

  /** Variable-size opaque: its length, the bytes, padding to 4. */
  opaque(bytes: Uint8Array): this {
    return this.u32(bytes.length).fixedOpaque(bytes);
  }

  /** An address: type 0 (empty), 1 (4 octets) or 2 (16 octets). */
  address(bytes: Uint8Array): this {
    if (bytes.length === 0) return this.u32(0);
    if (bytes.length === 4) return this.u32(1).raw(bytes);
    if (bytes.length === 16) return this.u32(2).raw(bytes);
    throw new RangeError(`an sFlow address has 0, 4 or 16 octets, not ${bytes.length}`);
  }

  /** A format word, a length and the body. */
  entry(entry: EncodedEntry): this {
    return this.u32(entry.dataFormat).u32(entry.body.length).raw(entry.body);
  }

  build(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

export function dataFormat(enterprise: number, format: number): number {
  return ((enterprise << 12) | (format & 0xfff)) >>> 0;
}

/** A record of any format, with its body as given. */
export function rawRecord(enterprise: number, format: number, body: Uint8Array): EncodedEntry {
  return { dataFormat: dataFormat(enterprise, format), body: Buffer.from(body) };
}

export function sampledHeaderRecord(record: SampledHeader): EncodedEntry {
  const body = new XdrWriter()
    .u32(record.protocol)
    .u32(record.frameLength)
    .u32(record.stripped)
    .opaque(record.header)
    .build();
  return { dataFormat: FlowRecordFormat.SAMPLED_HEADER, body };
}

export function sampledEthernetRecord(record: SampledEthernet): EncodedEntry {
  const body = new XdrWriter()
    .u32(record.length)
    .fixedOpaque(record.srcMac)
    .fixedOpaque(record.dstMac)
    .u32(record.etherType)
    .build();
  return { dataFormat: FlowRecordFormat.SAMPLED_ETHERNET, body };
}

export function sampledIpRecord(record: SampledIp): EncodedEntry {
  const body = new XdrWriter()
    .u32(record.length)
    .u32(record.protocol)
    .raw(record.src)
    .raw(record.dst)
    .u32(record.srcPort)
    .u32(record.dstPort)
    .u32(record.tcpFlags)
    .u32(record.tos)
    .build();
  const format = record.ipVersion === 4 ? FlowRecordFormat.SAMPLED_IPV4 : FlowRecordFormat.SAMPLED_IPV6;
  return { dataFormat: format, body };
}

export function extendedSwitchRecord(record: ExtendedSwitch): EncodedEntry {
  const body = new XdrWriter()
    .u32(record.srcVlan)
    .u32(record.srcPriority)
    .u32(record.dstVlan)
    .u32(record.dstPriority)
    .build();
  return { dataFormat: FlowRecordFormat.EXTENDED_SWITCH, body };
}

export function extendedRouterRecord(record: ExtendedRouter): EncodedEntry {
  const body = new XdrWriter()
    .address(record.nextHop)
    .u32(record.srcMaskLength)
    .u32(record.dstMaskLength)
    .build();
  return { dataFormat: FlowRecordFormat.EXTENDED_ROUTER, body };
}

export function extendedGatewayRecord(record: ExtendedGateway): EncodedEntry {
  const writer = new XdrWriter()
    .address(record.nextHop)
    .u32(record.as)
    .u32(record.srcAs)
    .u32(record.srcPeerAs)
    .u32(record.dstAsPath.length);
  for (const segment of record.dstAsPath) {
    writer.u32(segment.type).u32(segment.asns.length);
    for (const asn of segment.asns) writer.u32(asn);
  }
  writer.u32(record.communities.length);
  for (const community of record.communities) writer.u32(community);
  writer.u32(record.localPref);
  return { dataFormat: FlowRecordFormat.EXTENDED_GATEWAY, body: writer.build() };
}

export function genericInterfaceRecord(c: GenericInterfaceCounters): EncodedEntry {
  const body = new XdrWriter()
    .u32(c.ifIndex)
    .u32(c.ifType)
    .u64(c.ifSpeed)
    .u32(c.ifDirection)
    .u32(c.ifStatus)
    .u64(c.inOctets)
    .u32(c.inUnicastPackets)
    .u32(c.inMulticastPackets)
    .u32(c.inBroadcastPackets)
    .u32(c.inDiscards)
    .u32(c.inErrors)
    .u32(c.inUnknownProtocols)
    .u64(c.outOctets)
    .u32(c.outUnicastPackets)
    .u32(c.outMulticastPackets)
    .u32(c.outBroadcastPackets)
    .u32(c.outDiscards)
    .u32(c.outErrors)
    .u32(c.promiscuousMode)
    .build();
  return { dataFormat: CounterRecordFormat.GENERIC_INTERFACE, body };
}

export interface FlowSampleInit {
  /** Expanded form (format 3): 32-bit interface values and source index. */
  expanded?: boolean;
  sequenceNumber?: number;
  sourceIdType?: number;
  sourceIdIndex?: number;
  samplingRate: number;
  samplePool?: number;
  drops?: number;
  input?: SflowInterface;
  output?: SflowInterface;
  records: EncodedEntry[];
}

function compactInterface(iface: SflowInterface): number {
  return (((iface.format & 0x3) << 30) | (iface.value & 0x3fffffff)) >>> 0;
}

export function flowSample(init: FlowSampleInit): EncodedEntry {
  const expanded = init.expanded ?? false;
  const input = init.input ?? { format: 0, value: 0 };
  const output = init.output ?? { format: 0, value: 0 };
  const writer = new XdrWriter().u32(init.sequenceNumber ?? 1);
  sourceId(writer, expanded, init.sourceIdType ?? 0, init.sourceIdIndex ?? 0);
  writer
    .u32(init.samplingRate)
    .u32(init.samplePool ?? 0)
    .u32(init.drops ?? 0);
  if (expanded) writer.u32(input.format).u32(input.value).u32(output.format).u32(output.value);
  else writer.u32(compactInterface(input)).u32(compactInterface(output));
  writer.u32(init.records.length);
  for (const record of init.records) writer.entry(record);
  return { dataFormat: expanded ? SampleFormat.FLOW_EXPANDED : SampleFormat.FLOW, body: writer.build() };
}

export interface CounterSampleInit {
  expanded?: boolean;
  sequenceNumber?: number;
  sourceIdType?: number;
  sourceIdIndex?: number;
  records: EncodedEntry[];
}

export function counterSample(init: CounterSampleInit): EncodedEntry {
  const expanded = init.expanded ?? false;
  const writer = new XdrWriter().u32(init.sequenceNumber ?? 1);
  sourceId(writer, expanded, init.sourceIdType ?? 0, init.sourceIdIndex ?? 0);
  writer.u32(init.records.length);
  for (const record of init.records) writer.entry(record);
  return {
    dataFormat: expanded ? SampleFormat.COUNTERS_EXPANDED : SampleFormat.COUNTERS,
    body: writer.build(),
  };
}

function sourceId(writer: XdrWriter, expanded: boolean, type: number, index: number): void {
  if (expanded) writer.u32(type).u32(index);
  else writer.u32(((type & 0xff) << 24) | (index & 0xffffff));
}

export interface DatagramInit {
  /** 4 or 16 octets, or empty for address type 0. */
  agentAddress: Uint8Array;
  subAgentId?: number;
  sequenceNumber?: number;
  uptimeMs?: number;
  samples: EncodedEntry[];
}

export function encodeSflowDatagram(init: DatagramInit): Buffer {
  const writer = new XdrWriter()
    .u32(SFLOW_VERSION)
    .address(init.agentAddress)
    .u32(init.subAgentId ?? 0)
    .u32(init.sequenceNumber ?? 1)
    .u32(init.uptimeMs ?? 0)
    .u32(init.samples.length);
  for (const sample of init.samples) writer.entry(sample);
  return writer.build();
}
