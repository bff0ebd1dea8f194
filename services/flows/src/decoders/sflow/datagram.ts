/**
 * Structure of an sFlow version 5 datagram (sflow.org, "sFlow Version 5", July 2004): the datagram header,
 * its flow samples and counter samples (compact and expanded forms), and the records this collector uses.
 * Pure parsing: values are reported as the agent wrote them, their meaning is applied by the decoder.
 *
 * Everything is XDR: big-endian 32-bit words, opaque data padded to 4 bytes, every sample and record
 * prefixed by its format (enterprise << 12 | format) and its length, so records this parser does not know
 * are skipped by length and reported as unknown formats.
 */

import { ByteReader, TruncatedInputError } from '@kansoku/kit/net/byte-reader';
import { SflowDecodeError, SflowErrorCode } from './errors.ts';

export const SFLOW_VERSION = 5;

/** Standard (enterprise 0) sample formats. */
export const SampleFormat = {
  FLOW: 1,
  COUNTERS: 2,
  FLOW_EXPANDED: 3,
  COUNTERS_EXPANDED: 4,
} as const;

/** Standard (enterprise 0) flow record formats this parser reads. */
export const FlowRecordFormat = {
  SAMPLED_HEADER: 1,
  SAMPLED_ETHERNET: 2,
  SAMPLED_IPV4: 3,
  SAMPLED_IPV6: 4,
  EXTENDED_SWITCH: 1001,
  EXTENDED_ROUTER: 1002,
  EXTENDED_GATEWAY: 1003,
} as const;

/** Standard (enterprise 0) counter record formats this parser reads. */
export const CounterRecordFormat = {
  GENERIC_INTERFACE: 1,
} as const;

/** The two top bits of a compact interface (the `format` of an expanded one). */
export const InterfaceFormat = {
  /** The value is an ifIndex (0 unknown, LOCAL_INTERFACE the agent itself). */
  IF_INDEX: 0,
  /** The packet was dropped; the value is the reason (ICMP unreachable codes, 256+ sFlow reasons). */
  DISCARDED: 1,
  /** The packet went out of several interfaces; the value is their number (0 unknown). */
  MULTIPLE: 2,
} as const;

/** ifIndex value meaning "the agent itself" (packet sent or received by the device's own stack). */
export const LOCAL_INTERFACE = 0x3fffffff;

/** Header protocols of a sampled header record. */
export const HeaderProtocol = {
  ETHERNET: 1,
  IPV4: 11,
  IPV6: 12,
  MPLS: 13,
} as const;

/** Smallest sample or record: its format and length words. */
const MIN_ENTRY_BYTES = 8;

/** A format word split: enterprise (20 bits) and format (12 bits). */
export function formatKey(dataFormat: number): string {
  return `${dataFormat >>> 12}:${dataFormat & 0xfff}`;
}

export interface SflowInterface {
  /** InterfaceFormat: 0 ifIndex, 1 discarded, 2 multiple (3 undefined). */
  format: number;
  value: number;
}

export interface SampledHeader {
  /** HeaderProtocol (1 Ethernet, 11 IPv4, 12 IPv6, 13 MPLS, …). */
  protocol: number;
  /** Length of the packet on the wire (layer 2 protocols: including the FCS). */
  frameLength: number;
  /** Octets removed before the header was taken (FCS, tags the hardware stripped). */
  stripped: number;
  /** The first bytes of the packet: a view into the datagram. */
  header: Buffer;
}

export interface SampledEthernet {
  length: number;
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  etherType: number;
}

/** Structures 3 (sampled IPv4) and 4 (sampled IPv6). */
export interface SampledIp {
  ipVersion: 4 | 6;
  /** Length of the IP packet. */
  length: number;
  protocol: number;
  src: Uint8Array;
  dst: Uint8Array;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  /** IPv4 type of service or IPv6 priority. */
  tos: number;
}

export interface ExtendedSwitch {
  srcVlan: number;
  srcPriority: number;
  dstVlan: number;
  dstPriority: number;
}

export interface ExtendedRouter {
  /** Empty when the agent sent address type 0. */
  nextHop: Uint8Array;
  srcMaskLength: number;
  dstMaskLength: number;
}

export interface AsPathSegment {
  /** 1 AS_SET, 2 AS_SEQUENCE. */
  type: number;
  asns: number[];
}

export interface ExtendedGateway {
  nextHop: Uint8Array;
  /** The router's own AS. */
  as: number;
  srcAs: number;
  srcPeerAs: number;
  dstAsPath: AsPathSegment[];
  communities: number[];
  localPref: number;
}

export interface SflowFlowSample {
  expanded: boolean;
  sequenceNumber: number;
  /** 0 ifIndex, 1 smonVlanDataSource, 2 entPhysicalEntry. */
  sourceIdType: number;
  sourceIdIndex: number;
  samplingRate: number;
  samplePool: number;
  drops: number;
  input: SflowInterface;
  output: SflowInterface;
  sampledHeader: SampledHeader | undefined;
  sampledEthernet: SampledEthernet | undefined;
  sampledIp: SampledIp | undefined;
  extendedSwitch: ExtendedSwitch | undefined;
  extendedRouter: ExtendedRouter | undefined;
  extendedGateway: ExtendedGateway | undefined;
  /** Format words of the records skipped. */
  unknownRecords: number[];
}

export interface GenericInterfaceCounters {
  ifIndex: number;
  ifType: number;
  /** Bits per second. */
  ifSpeed: bigint;
  /** 0 unknown, 1 full duplex, 2 half duplex, 3 in, 4 out. */
  ifDirection: number;
  /** Bit 0 admin up, bit 1 operationally up. */
  ifStatus: number;
  inOctets: bigint;
  inUnicastPackets: number;
  inMulticastPackets: number;
  inBroadcastPackets: number;
  inDiscards: number;
  inErrors: number;
  inUnknownProtocols: number;
  outOctets: bigint;
  outUnicastPackets: number;
  outMulticastPackets: number;
  outBroadcastPackets: number;
  outDiscards: number;
  outErrors: number;
  promiscuousMode: number;
}

export interface SflowCounterSample {
  expanded: boolean;
  sequenceNumber: number;
  sourceIdType: number;
  sourceIdIndex: number;
  genericInterface: GenericInterfaceCounters | undefined;
  unknownRecords: number[];
}

export interface SflowDatagram {
  version: number;
  /** 4 or 16 octets; empty when the agent sent address type 0. */
  agentAddress: Uint8Array;
  subAgentId: number;
  sequenceNumber: number;
  uptimeMs: number;
  flowSamples: SflowFlowSample[];
  counterSamples: SflowCounterSample[];
  /** Format words of the samples skipped. */
  unknownSamples: number[];
}

/** The datagram's header, as far as it was read before a problem: who to count the problem against. */
export interface SflowPartialHeader {
  agentAddress: Uint8Array | undefined;
  subAgentId: number | undefined;
}

/**
 * Parses one datagram. Throws SflowDecodeError (with the code of the first problem met); `partial`, when
 * given, receives the agent address and sub-agent id as soon as they are read, so a malformed datagram can
 * still be counted against its agent.
 */
export function parseSflowDatagram(buffer: Buffer, partial?: SflowPartialHeader): SflowDatagram {
  const reader = new ByteReader(buffer);
  try {
    const version = reader.u32();
    if (version !== SFLOW_VERSION) {
      throw new SflowDecodeError(SflowErrorCode.BAD_VERSION, `sFlow version ${version}, expected 5`);
    }
    const agentAddress = readAddress(reader, 'agent');
    if (partial !== undefined) partial.agentAddress = agentAddress;
    const subAgentId = reader.u32();
    if (partial !== undefined) partial.subAgentId = subAgentId;
    const sequenceNumber = reader.u32();
    const uptimeMs = reader.u32();
    const sampleCount = reader.u32();
    if (sampleCount > reader.remaining / MIN_ENTRY_BYTES) {
      throw new SflowDecodeError(
        SflowErrorCode.TOO_MANY_SAMPLES,
        `${sampleCount} samples declared in ${reader.remaining} bytes`,
      );
    }
    const datagram: SflowDatagram = {
      version,
      agentAddress,
      subAgentId,
      sequenceNumber,
      uptimeMs,
      flowSamples: [],
      counterSamples: [],
      unknownSamples: [],
    };
    for (let i = 0; i < sampleCount; i++) {
      const dataFormat = reader.u32();
      const length = reader.u32();
      if (length > reader.remaining) {
        throw new SflowDecodeError(
          SflowErrorCode.SAMPLE_OVERRUN,
          `sample ${i} (${formatKey(dataFormat)}) declares ${length} bytes, ${reader.remaining} left`,
        );
      }
      const body = reader.sub(length);
      if (dataFormat >>> 12 !== 0) {
        datagram.unknownSamples.push(dataFormat);
        continue;
      }
      switch (dataFormat) {
        case SampleFormat.FLOW:
        case SampleFormat.FLOW_EXPANDED:
          datagram.flowSamples.push(
            inSample(() => parseFlowSample(body, dataFormat === SampleFormat.FLOW_EXPANDED)),
          );
          break;
        case SampleFormat.COUNTERS:
        case SampleFormat.COUNTERS_EXPANDED:
          datagram.counterSamples.push(
            inSample(() => parseCounterSample(body, dataFormat === SampleFormat.COUNTERS_EXPANDED)),
          );
          break;
        default:
          datagram.unknownSamples.push(dataFormat);
      }
    }
    return datagram;
  } catch (error) {
    if (error instanceof TruncatedInputError) {
      throw new SflowDecodeError(SflowErrorCode.TRUNCATED, `datagram ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** Runs a sample parser: a read past the sample's declared length means its fixed part did not fit. */
function inSample<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof TruncatedInputError) {
      throw new SflowDecodeError(SflowErrorCode.SAMPLE_MALFORMED, `sample ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

function readAddress(reader: ByteReader, what: string): Uint8Array {
  const type = reader.u32();
  switch (type) {
    case 0:
      return new Uint8Array(0);
    case 1:
      return copyBytes(reader.bytes(4));
    case 2:
      return copyBytes(reader.bytes(16));
    default:
      throw new SflowDecodeError(SflowErrorCode.BAD_ADDRESS_TYPE, `${what} address of type ${type}`);
  }
}

function copyBytes(view: Buffer): Uint8Array {
  const out = new Uint8Array(view.length);
  out.set(view);
  return out;
}

function compactInterface(word: number): SflowInterface {
  return { format: word >>> 30, value: word & 0x3fffffff };
}

/** Reads the record count and walks the records, handing each known one its own bounded reader. */
function walkRecords(
  reader: ByteReader,
  visit: (dataFormat: number, record: ByteReader) => boolean,
  unknown: number[],
): void {
  const count = reader.u32();
  if (count > reader.remaining / MIN_ENTRY_BYTES) {
    throw new SflowDecodeError(
      SflowErrorCode.TOO_MANY_RECORDS,
      `${count} records declared in ${reader.remaining} bytes`,
    );
  }
  for (let i = 0; i < count; i++) {
    const dataFormat = reader.u32();
    const length = reader.u32();
    if (length > reader.remaining) {
      throw new SflowDecodeError(
        SflowErrorCode.RECORD_OVERRUN,
        `record ${i} (${formatKey(dataFormat)}) declares ${length} bytes, ${reader.remaining} left in its sample`,
      );
    }
    const record = reader.sub(length);
    let known: boolean;
    try {
      known = visit(dataFormat, record);
    } catch (error) {
      if (error instanceof TruncatedInputError) {
        throw new SflowDecodeError(
          SflowErrorCode.RECORD_MALFORMED,
          `record ${formatKey(dataFormat)} of ${length} bytes: ${error.message}`,
          { cause: error },
        );
      }
      throw error;
    }
    if (!known) unknown.push(dataFormat);
  }
}

function parseFlowSample(reader: ByteReader, expanded: boolean): SflowFlowSample {
  const sequenceNumber = reader.u32();
  let sourceIdType: number;
  let sourceIdIndex: number;
  if (expanded) {
    sourceIdType = reader.u32();
    sourceIdIndex = reader.u32();
  } else {
    const sourceId = reader.u32();
    sourceIdType = sourceId >>> 24;
    sourceIdIndex = sourceId & 0xffffff;
  }
  const samplingRate = reader.u32();
  const samplePool = reader.u32();
  const drops = reader.u32();
  let input: SflowInterface;
  let output: SflowInterface;
  if (expanded) {
    input = { format: reader.u32(), value: reader.u32() };
    output = { format: reader.u32(), value: reader.u32() };
  } else {
    input = compactInterface(reader.u32());
    output = compactInterface(reader.u32());
  }
  const sample: SflowFlowSample = {
    expanded,
    sequenceNumber,
    sourceIdType,
    sourceIdIndex,
    samplingRate,
    samplePool,
    drops,
    input,
    output,
    sampledHeader: undefined,
    sampledEthernet: undefined,
    sampledIp: undefined,
    extendedSwitch: undefined,
    extendedRouter: undefined,
    extendedGateway: undefined,
    unknownRecords: [],
  };
  // A record kind repeated in one sample is read once: the first one wins.
  walkRecords(
    reader,
    (dataFormat, record) => {
      switch (dataFormat) {
        case FlowRecordFormat.SAMPLED_HEADER:
          sample.sampledHeader ??= parseSampledHeader(record);
          return true;
        case FlowRecordFormat.SAMPLED_ETHERNET:
          sample.sampledEthernet ??= parseSampledEthernet(record);
          return true;
        case FlowRecordFormat.SAMPLED_IPV4:
          sample.sampledIp ??= parseSampledIp(record, 4);
          return true;
        case FlowRecordFormat.SAMPLED_IPV6:
          sample.sampledIp ??= parseSampledIp(record, 6);
          return true;
        case FlowRecordFormat.EXTENDED_SWITCH:
          sample.extendedSwitch ??= {
            srcVlan: record.u32(),
            srcPriority: record.u32(),
            dstVlan: record.u32(),
            dstPriority: record.u32(),
          };
          return true;
        case FlowRecordFormat.EXTENDED_ROUTER:
          sample.extendedRouter ??= {
            nextHop: readAddress(record, 'next hop'),
            srcMaskLength: record.u32(),
            dstMaskLength: record.u32(),
          };
          return true;
        case FlowRecordFormat.EXTENDED_GATEWAY:
          sample.extendedGateway ??= parseExtendedGateway(record);
          return true;
        default:
          return false;
      }
    },
    sample.unknownRecords,
  );
  return sample;
}

function parseSampledHeader(record: ByteReader): SampledHeader {
  const protocol = record.u32();
  const frameLength = record.u32();
  const stripped = record.u32();
  const headerLength = record.u32();
  // The header is opaque<>: its length, its bytes, padding to 4 (the padding may be missing at the end).
  return { protocol, frameLength, stripped, header: record.bytes(headerLength) };
}

function parseSampledEthernet(record: ByteReader): SampledEthernet {
  const length = record.u32();
  // mac is opaque[6]: six bytes padded to eight.
  const srcMac = copyBytes(record.bytes(6));
  record.skip(2);
  const dstMac = copyBytes(record.bytes(6));
  record.skip(2);
  return { length, srcMac, dstMac, etherType: record.u32() };
}

function parseSampledIp(record: ByteReader, ipVersion: 4 | 6): SampledIp {
  const size = ipVersion === 4 ? 4 : 16;
  return {
    ipVersion,
    length: record.u32(),
    protocol: record.u32(),
    src: copyBytes(record.bytes(size)),
    dst: copyBytes(record.bytes(size)),
    srcPort: record.u32(),
    dstPort: record.u32(),
    tcpFlags: record.u32(),
    tos: record.u32(),
  };
}

function parseExtendedGateway(record: ByteReader): ExtendedGateway {
  const nextHop = readAddress(record, 'next hop');
  const as = record.u32();
  const srcAs = record.u32();
  const srcPeerAs = record.u32();
  const segmentCount = record.u32();
  // Each segment is at least its type and count words.
  if (segmentCount > record.remaining / 8) {
    throw new SflowDecodeError(
      SflowErrorCode.RECORD_MALFORMED,
      `extended gateway declares ${segmentCount} AS path segments in ${record.remaining} bytes`,
    );
  }
  const dstAsPath: AsPathSegment[] = [];
  for (let i = 0; i < segmentCount; i++) {
    const type = record.u32();
    const count = record.u32();
    if (count > record.remaining / 4) {
      throw new SflowDecodeError(
        SflowErrorCode.RECORD_MALFORMED,
        `AS path segment declares ${count} ASes in ${record.remaining} bytes`,
      );
    }
    const asns: number[] = [];
    for (let j = 0; j < count; j++) asns.push(record.u32());
    dstAsPath.push({ type, asns });
  }
  const communityCount = record.u32();
  if (communityCount > record.remaining / 4) {
    throw new SflowDecodeError(
      SflowErrorCode.RECORD_MALFORMED,
      `extended gateway declares ${communityCount} communities in ${record.remaining} bytes`,
    );
  }
  const communities: number[] = [];
  for (let i = 0; i < communityCount; i++) communities.push(record.u32());
  const localPref = record.u32();
  return { nextHop, as, srcAs, srcPeerAs, dstAsPath, communities, localPref };
}

function parseCounterSample(reader: ByteReader, expanded: boolean): SflowCounterSample {
  const sequenceNumber = reader.u32();
  let sourceIdType: number;
  let sourceIdIndex: number;
  if (expanded) {
    sourceIdType = reader.u32();
    sourceIdIndex = reader.u32();
  } else {
    const sourceId = reader.u32();
    sourceIdType = sourceId >>> 24;
    sourceIdIndex = sourceId & 0xffffff;
  }
  const sample: SflowCounterSample = {
    expanded,
    sequenceNumber,
    sourceIdType,
    sourceIdIndex,
    genericInterface: undefined,
    unknownRecords: [],
  };
  walkRecords(
    reader,
    (dataFormat, record) => {
      if (dataFormat !== CounterRecordFormat.GENERIC_INTERFACE) return false;
      sample.genericInterface ??= parseGenericInterface(record);
      return true;
    },
    sample.unknownRecords,
  );
  return sample;
}

function parseGenericInterface(record: ByteReader): GenericInterfaceCounters {
  return {
    ifIndex: record.u32(),
    ifType: record.u32(),
    ifSpeed: record.u64(),
    ifDirection: record.u32(),
    ifStatus: record.u32(),
    inOctets: record.u64(),
    inUnicastPackets: record.u32(),
    inMulticastPackets: record.u32(),
    inBroadcastPackets: record.u32(),
    inDiscards: record.u32(),
    inErrors: record.u32(),
    inUnknownProtocols: record.u32(),
    outOctets: record.u64(),
    outUnicastPackets: record.u32(),
    outMulticastPackets: record.u32(),
    outBroadcastPackets: record.u32(),
    outDiscards: record.u32(),
    outErrors: record.u32(),
    promiscuousMode: record.u32(),
  };
}
