/**
 * sFlow v5 decoder: datagrams in, normalised flow records and interface counters out. Pure decoding (the
 * collector owns the socket); the only state is per agent: the datagram sequence per sub-agent and the
 * counts, bounded by maxAgents with the least recently heard agent forgotten.
 *
 * What a flow sample becomes:
 * - exporter: the agent address (the datagram's source address when the agent sent none or 0.0.0.0);
 *   observation domain: the sub-agent id; export sequence number: the datagram's.
 * - packets: the sampling rate; bytes: the sampled frame's length × the sampling rate; raw packets 1 and
 *   raw bytes the frame's length. The frame's length is frame_length minus the bytes the agent stripped
 *   (FCS, removed encapsulations), except where an agent reports the part of the packet it did not copy as
 *   "stripped" (frame_length − stripped is the header's own length while the packet is longer): then
 *   frame_length alone. Without a sampled header, the sampled Ethernet or IP record's length.
 * - addresses, protocol, ports, TCP flags: from the sampled header (Ethernet, IPv4, IPv6, MPLS), else the
 *   sampled IPv4/IPv6 record. Tunnels are reported by their outer headers.
 * - interfaces: ifIndex of input and output; 0 for the agent itself (0x3FFFFFFF), an unknown, a discarded
 *   packet's output (counted as discardedSamples, and dropped when configured) and several outputs.
 * - direction: ingress when the sample's data source is the input interface, egress when it is the output.
 * - VLANs: extended switch record (ids 1–4095), else the sampled frame's outer 802.1Q tag as source VLAN.
 * - next hop and masks: extended router; next hop else the extended gateway's BGP next hop. AS numbers:
 *   the gateway's source AS and the last AS of its destination path (0 when empty: the RIB fills it).
 */

import {
  FlowDirection,
  FlowProtocol,
  type FlowRecord,
  IpVersion,
} from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import type { RateLimitedLog } from '@kansoku/kit/net/rate-limited-log';
import { applicationName as defaultApplicationName } from '../common/applications.ts';
import { resolveSflowDecoderConfig, type SflowDecoderConfig } from './config.ts';
import {
  formatKey,
  type GenericInterfaceCounters,
  InterfaceFormat,
  LOCAL_INTERFACE,
  parseSflowDatagram,
  type SflowCounterSample,
  type SflowDatagram,
  type SflowFlowSample,
  type SflowInterface,
  type SflowPartialHeader,
} from './datagram.ts';
import { SflowDecodeError } from './errors.ts';
import { decodeSampledHeader, type SampledPacket } from './sampled-header.ts';
import { AgentCounts, CountSet, type SflowDecoderStats } from './stats.ts';

/** Interface counters of one data source, from a generic interface counters record. */
export interface InterfaceCounters extends GenericInterfaceCounters {
  timeReceivedNs: bigint;
  /** The agent (or the datagram's source address when the agent sent none). */
  agentAddress: Uint8Array;
  subAgentId: number;
  /** Agent uptime when the datagram was sent, in milliseconds. */
  uptimeMs: number;
  /** The counter sample's own sequence number (per data source). */
  sequenceNumber: number;
  sourceIdType: number;
  sourceIdIndex: number;
  /** ifStatus bit 0 and bit 1. */
  adminUp: boolean;
  operUp: boolean;
}

export interface SflowDecodeResult {
  records: FlowRecord[];
  counters: InterfaceCounters[];
}

export interface SflowSource {
  /** The datagram's source address, 4 or 16 octets. */
  address: Uint8Array;
  port: number;
}

export interface SflowDecoderDeps {
  /** Application from protocol and ports; default the flows domain's shared table. */
  applicationName?: (protocol: number, srcPort: number, dstPort: number) => string;
  /** Where rejected datagrams are logged, one line per agent and code per interval. */
  log?: RateLimitedLog;
}

export interface SflowDecoder {
  /** Decodes one datagram; never throws for malformed input (it is counted and yields nothing). */
  decode(datagram: Buffer, source: SflowSource, receivedNs: bigint): SflowDecodeResult;
  stats(): SflowDecoderStats;
  readonly config: SflowDecoderConfig;
}

interface AgentState {
  readonly agent: string;
  readonly counts: CountSet;
  /** Sub-agent id → last datagram sequence number, least recently heard first. */
  readonly subAgents: Map<number, number>;
}

const SEQUENCE_HALF_RANGE = 0x80000000;

export function createSflowDecoder(
  options: Partial<SflowDecoderConfig> = {},
  deps: SflowDecoderDeps = {},
): SflowDecoder {
  const config = resolveSflowDecoderConfig(options);
  const applicationName = deps.applicationName ?? defaultApplicationName;
  const agents = new Map<string, AgentState>();
  const totals = new CountSet();
  let agentsEvicted = 0;

  function agentState(agent: string): AgentState {
    let state = agents.get(agent);
    if (state !== undefined) {
      // Most recently heard last: eviction takes the first.
      agents.delete(agent);
      agents.set(agent, state);
      return state;
    }
    if (agents.size >= config.maxAgents) {
      const oldest = agents.keys().next();
      if (oldest.done !== true) {
        agents.delete(oldest.value);
        agentsEvicted += 1;
      }
    }
    state = { agent, counts: new CountSet(), subAgents: new Map() };
    agents.set(agent, state);
    return state;
  }

  function trackSequence(state: AgentState, counts: AgentCounts, subAgentId: number, sequence: number): void {
    const last = state.subAgents.get(subAgentId);
    if (last === undefined) {
      if (state.subAgents.size >= config.maxSubAgentsPerAgent) {
        const oldest = state.subAgents.keys().next();
        if (oldest.done !== true) state.subAgents.delete(oldest.value);
      }
    } else {
      state.subAgents.delete(subAgentId);
      const missing = (sequence - last - 1) >>> 0;
      if (missing !== 0) {
        if (missing < SEQUENCE_HALF_RANGE) {
          counts.add('sequenceGaps');
          counts.add('missingDatagrams', missing);
        } else {
          counts.add('sequenceResets');
        }
      }
    }
    state.subAgents.set(subAgentId, sequence);
  }

  function reject(error: SflowDecodeError, partial: SflowPartialHeader, source: SflowSource): void {
    const agentAddress = usableAddress(partial.agentAddress) ? partial.agentAddress! : source.address;
    const agent = formatIpAddress(agentAddress);
    const state = agentState(agent);
    const counts = new AgentCounts(state.counts, totals);
    counts.add('datagrams');
    counts.addKey('decodeErrors', error.code);
    deps.log?.warn(
      `sflow:${agent}:${error.code}`,
      { agent, source: formatIpAddress(source.address), code: error.code },
      `sFlow datagram rejected: ${error.message}`,
    );
  }

  function flowRecord(
    datagram: SflowDatagram,
    exporter: Uint8Array,
    sample: SflowFlowSample,
    counts: AgentCounts,
    receivedNs: bigint,
  ): FlowRecord | undefined {
    if (sample.output.format === InterfaceFormat.DISCARDED) {
      counts.add('discardedSamples');
      if (config.discardedPackets === 'drop') return undefined;
    }

    let packet: SampledPacket | undefined;
    const sampledHeader = sample.sampledHeader;
    if (sampledHeader !== undefined) {
      const decoded = decodeSampledHeader(sampledHeader.protocol, sampledHeader.header);
      if (decoded.ok) {
        packet = decoded.packet;
        if (packet.partial) counts.add('partialHeaders');
      } else {
        counts.addKey('headerErrors', decoded.code);
      }
    }

    const rate = sample.samplingRate === 0 ? 1 : sample.samplingRate;
    const rawBytes = frameBytes(sample, packet);
    const inInterface = ifIndexOf(sample.input);
    const outInterface = ifIndexOf(sample.output);

    let ipVersion = IpVersion.UNSPECIFIED;
    let srcAddress: Uint8Array = EMPTY;
    let dstAddress: Uint8Array = EMPTY;
    let protocol = 0;
    let srcPort = 0;
    let dstPort = 0;
    let tcpFlags = 0;
    if (packet !== undefined) {
      ipVersion = packet.ipVersion === 4 ? IpVersion.V4 : IpVersion.V6;
      srcAddress = packet.src;
      dstAddress = packet.dst;
      protocol = packet.protocol;
      srcPort = packet.srcPort;
      dstPort = packet.dstPort;
      tcpFlags = packet.tcpFlags;
    } else if (sample.sampledIp !== undefined) {
      const ip = sample.sampledIp;
      ipVersion = ip.ipVersion === 4 ? IpVersion.V4 : IpVersion.V6;
      srcAddress = ip.src;
      dstAddress = ip.dst;
      protocol = ip.protocol;
      srcPort = ip.srcPort & 0xffff;
      dstPort = ip.dstPort & 0xffff;
      tcpFlags = ip.tcpFlags & 0xff;
    }

    let srcVlanId = 0;
    let dstVlanId = 0;
    const vlans = sample.extendedSwitch;
    if (vlans !== undefined) {
      if (validVlan(vlans.srcVlan)) srcVlanId = vlans.srcVlan;
      if (validVlan(vlans.dstVlan)) dstVlanId = vlans.dstVlan;
    }
    if (srcVlanId === 0 && packet !== undefined && packet.vlanIds.length > 0) srcVlanId = packet.vlanIds[0]!;

    const router = sample.extendedRouter;
    const gateway = sample.extendedGateway;
    let nextHopAddress: Uint8Array = EMPTY;
    if (router !== undefined && usableAddress(router.nextHop)) nextHopAddress = router.nextHop;
    else if (gateway !== undefined && usableAddress(gateway.nextHop)) nextHopAddress = gateway.nextHop;
    const maxMask = ipVersion === IpVersion.V4 ? 32 : 128;

    counts.add('records');
    // A proto3 message of protobuf-es v2 is a plain object: written as one literal in field order, it is
    // several times cheaper than create() on this hot path, and the type checks that no field is missing.
    return {
      $typeName: 'kansoku.flows.v1.FlowRecord',
      timeReceivedNs: receivedNs,
      timeFlowStartNs: receivedNs,
      timeFlowEndNs: receivedNs,
      exporterAddress: exporter,
      observationDomainId: datagram.subAgentId,
      flowProtocol: FlowProtocol.SFLOW_V5,
      exportSequenceNumber: datagram.sequenceNumber,
      inInterface,
      outInterface,
      direction: directionOf(sample, inInterface, outInterface),
      ipVersion,
      srcAddress,
      dstAddress,
      srcPrefixLength: router !== undefined && router.srcMaskLength <= maxMask ? router.srcMaskLength : 0,
      dstPrefixLength: router !== undefined && router.dstMaskLength <= maxMask ? router.dstMaskLength : 0,
      srcPort,
      dstPort,
      protocol,
      tcpFlags,
      bytes: BigInt(rawBytes) * BigInt(rate),
      packets: BigInt(rate),
      samplingRate: rate,
      rawBytes: BigInt(rawBytes),
      rawPackets: 1n,
      srcAs: gateway?.srcAs ?? 0,
      dstAs: gateway !== undefined ? lastAs(gateway.dstAsPath) : 0,
      nextHopAddress,
      srcVlanId,
      dstVlanId,
      applicationName: ipVersion === IpVersion.UNSPECIFIED ? '' : applicationName(protocol, srcPort, dstPort),
    };
  }

  function interfaceCounters(
    datagram: SflowDatagram,
    agentAddress: Uint8Array,
    sample: SflowCounterSample,
    receivedNs: bigint,
  ): InterfaceCounters | undefined {
    const generic = sample.genericInterface;
    if (generic === undefined) return undefined;
    return {
      ...generic,
      timeReceivedNs: receivedNs,
      agentAddress,
      subAgentId: datagram.subAgentId,
      uptimeMs: datagram.uptimeMs,
      sequenceNumber: sample.sequenceNumber,
      sourceIdType: sample.sourceIdType,
      sourceIdIndex: sample.sourceIdIndex,
      adminUp: (generic.ifStatus & 0x1) !== 0,
      operUp: (generic.ifStatus & 0x2) !== 0,
    };
  }

  return {
    config,

    decode(buffer, source, receivedNs) {
      const partial: SflowPartialHeader = { agentAddress: undefined, subAgentId: undefined };
      let datagram: SflowDatagram;
      try {
        datagram = parseSflowDatagram(buffer, partial);
      } catch (error) {
        if (!(error instanceof SflowDecodeError)) throw error;
        reject(error, partial, source);
        return { records: [], counters: [] };
      }

      const exporter = usableAddress(datagram.agentAddress)
        ? datagram.agentAddress
        : Uint8Array.from(source.address);
      const state = agentState(formatIpAddress(exporter));
      const counts = new AgentCounts(state.counts, totals);
      counts.add('datagrams');
      trackSequence(state, counts, datagram.subAgentId, datagram.sequenceNumber);

      for (const dataFormat of datagram.unknownSamples) {
        counts.addKey('unknownSampleFormats', formatKey(dataFormat));
      }
      const records: FlowRecord[] = [];
      for (const sample of datagram.flowSamples) {
        counts.add('flowSamples');
        for (const dataFormat of sample.unknownRecords) {
          counts.addKey('unknownFlowRecordFormats', formatKey(dataFormat));
        }
        const record = flowRecord(datagram, exporter, sample, counts, receivedNs);
        if (record !== undefined) records.push(record);
      }
      const counters: InterfaceCounters[] = [];
      for (const sample of datagram.counterSamples) {
        counts.add('counterSamples');
        for (const dataFormat of sample.unknownRecords) {
          counts.addKey('unknownCounterRecordFormats', formatKey(dataFormat));
        }
        const counter = interfaceCounters(datagram, exporter, sample, receivedNs);
        if (counter !== undefined) {
          counts.add('interfaceCounters');
          counters.push(counter);
        }
      }
      return { records, counters };
    },

    stats() {
      return {
        agents: [...agents.values()].map((state) => ({
          agent: state.agent,
          subAgents: state.subAgents.size,
          ...state.counts.snapshot(),
        })),
        agentsEvicted,
        totals: totals.snapshot(),
      };
    },
  };
}

const EMPTY = new Uint8Array(0);

/** A 4- or 16-octet address that is not all zeros. */
function usableAddress(address: Uint8Array | undefined): boolean {
  if (address === undefined || (address.length !== 4 && address.length !== 16)) return false;
  for (const octet of address) if (octet !== 0) return true;
  return false;
}

function ifIndexOf(iface: SflowInterface): number {
  if (iface.format !== InterfaceFormat.IF_INDEX || iface.value === LOCAL_INTERFACE) return 0;
  return iface.value;
}

function validVlan(id: number): boolean {
  return id >= 1 && id <= 4095;
}

/** The sample's data source (an ifIndex) is where the packet was sampled. */
function directionOf(sample: SflowFlowSample, inInterface: number, outInterface: number): FlowDirection {
  if (sample.sourceIdType !== 0 || sample.sourceIdIndex === 0) return FlowDirection.UNSPECIFIED;
  if (sample.sourceIdIndex === inInterface) return FlowDirection.INGRESS;
  if (sample.sourceIdIndex === outInterface) return FlowDirection.EGRESS;
  return FlowDirection.UNSPECIFIED;
}

function frameBytes(sample: SflowFlowSample, packet: SampledPacket | undefined): number {
  const header = sample.sampledHeader;
  if (header !== undefined) {
    const { frameLength, stripped } = header;
    if (stripped === 0 || stripped > frameLength) return frameLength;
    const cut = packet?.truncated === true;
    // Some agents report the uncopied rest of the packet as "stripped": frame_length alone is the length.
    if (cut && frameLength - stripped === header.header.length) return frameLength;
    return frameLength - stripped;
  }
  if (sample.sampledEthernet !== undefined) return sample.sampledEthernet.length;
  if (sample.sampledIp !== undefined) return sample.sampledIp.length;
  return 0;
}

/** The origin: the last AS of the last non-empty segment of the destination path. */
function lastAs(path: readonly { asns: number[] }[]): number {
  for (let i = path.length - 1; i >= 0; i--) {
    const asns = path[i]!.asns;
    if (asns.length > 0) return asns[asns.length - 1]!;
  }
  return 0;
}
