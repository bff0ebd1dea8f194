/**
 * The packet behind a sampled header record: kit's decodePacket reads the link layer (Ethernet, 802.1Q and
 * QinQ tags, MPLS), IPv4/IPv6 with extension headers and UDP/TCP; what sFlow needs on top is read here:
 * ICMP type and code, ports of a first fragment, MPLS as a header protocol, the address octets, and
 * headers the agent cut inside the transport header.
 *
 * Tunnels are not followed: a VXLAN, GRE or IP-in-IP packet is reported by its outer headers (the packet
 * as it crossed the sampled interface), like NetFlow exporters report it.
 */

import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { type DecodedPacket, IpProtocol, LinkType, tryDecodePacket } from '@kansoku/kit/pcap/index';
import { HeaderProtocol } from './datagram.ts';

/** Why a sampled header gave no IP packet (kit's packet error codes, and this one). */
export const HEADER_PROTOCOL_UNSUPPORTED = 'KANSOKU_SFLOW_HEADER_PROTOCOL_UNSUPPORTED';

export interface SampledPacket {
  ipVersion: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
  protocol: number;
  /** Transport ports; for ICMP and ICMPv6 dstPort is type << 8 | code (srcPort 0). */
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  /** 802.1Q / 802.1ad VLAN ids, outermost first. */
  vlanIds: number[];
  /** The IP packet is longer than the bytes the agent copied. */
  truncated: boolean;
  /**
   * The header ended inside the transport header (before the TCP options or the UDP length): addresses and
   * ports are real, and TCP flags are zero when the header ended before them.
   */
  partial: boolean;
}

export type SampledHeaderResult = { ok: true; packet: SampledPacket } | { ok: false; code: string };

/** Enough zeros after a cut header to complete any TCP header (options included) or UDP header. */
const CUT_HEADER_PADDING = 64;
const MAX_MPLS_LABELS = 16;

/** Decodes the packet at the start of a sampled header of the given header protocol. */
export function decodeSampledHeader(protocol: number, header: Buffer): SampledHeaderResult {
  switch (protocol) {
    case HeaderProtocol.ETHERNET:
      return decodeAt(LinkType.ETHERNET, header);
    case HeaderProtocol.IPV4:
      return decodeAt(LinkType.IPV4, header);
    case HeaderProtocol.IPV6:
      return decodeAt(LinkType.IPV6, header);
    case HeaderProtocol.MPLS:
      return decodeMplsHeader(header);
    default:
      return { ok: false, code: HEADER_PROTOCOL_UNSUPPORTED };
  }
}

/** A label stack, then IP (recognised by its version nibble, as MPLS does not say what it carries). */
function decodeMplsHeader(header: Buffer): SampledHeaderResult {
  for (let offset = 0, depth = 0; depth < MAX_MPLS_LABELS && offset + 4 <= header.length; depth++) {
    const bottomOfStack = (header[offset + 2]! & 0x01) !== 0;
    offset += 4;
    if (bottomOfStack) return decodeAt(LinkType.RAW, header.subarray(offset));
  }
  return { ok: false, code: 'KANSOKU_PACKET_MALFORMED' };
}

function decodeAt(linkType: number, header: Buffer): SampledHeaderResult {
  const first = tryDecodePacket(linkType, header);
  if (first.ok) return { ok: true, packet: describe(linkType, header, first.packet, header.length, false) };
  if (first.error.code !== 'KANSOKU_PACKET_TRUNCATED') return { ok: false, code: first.error.code };

  // The agent cut the header inside the IP or transport header. Decode a zero-padded copy and keep the
  // result only when everything it reports lies in the real bytes: a TCP header whose data offset byte is
  // padding reads as offset 0 and fails, and the payload start bounds what UDP and other protocols read.
  const padded = Buffer.alloc(header.length + CUT_HEADER_PADDING);
  header.copy(padded);
  const retry = tryDecodePacket(linkType, padded);
  if (!retry.ok) return { ok: false, code: first.error.code };
  const packet = retry.packet;
  const payloadStart = packet.payload.byteOffset - padded.byteOffset;
  const realEnd = header.length;
  const inRealBytes =
    packet.kind === 'tcp'
      ? true
      : packet.kind === 'udp'
        ? payloadStart - 4 <= realEnd
        : payloadStart <= realEnd;
  if (!inRealBytes) return { ok: false, code: first.error.code };
  return { ok: true, packet: describe(linkType, padded, packet, realEnd, true) };
}

/** Builds the result from a decoded packet; `realEnd` is where the agent's bytes end in `frame`. */
function describe(
  linkType: number,
  frame: Buffer,
  packet: DecodedPacket,
  realEnd: number,
  partial: boolean,
): SampledPacket {
  let srcPort = 0;
  let dstPort = 0;
  let tcpFlags = 0;
  const payloadStart = packet.payload.byteOffset - frame.byteOffset;
  switch (packet.kind) {
    case 'tcp':
      srcPort = packet.srcPort;
      dstPort = packet.dstPort;
      tcpFlags = packet.flags;
      // In a cut header the data offset byte (12) is real, or the padded decode would have failed; the
      // flags byte (13) may be padding: they count only when it lies in the agent's bytes.
      if (partial && payloadStart > realEnd) {
        const start = tcpHeaderStart(frame, payloadStart, packet.srcPort, packet.dstPort);
        if (start === undefined || start + 13 >= realEnd) tcpFlags = 0;
      }
      break;
    case 'udp':
      srcPort = packet.srcPort;
      dstPort = packet.dstPort;
      break;
    case 'fragment':
      // Only the first fragment carries the transport header.
      if (packet.fragment.offset === 0) {
        [srcPort, dstPort, tcpFlags] = transportOfFirstFragment(
          packet.protocol,
          packet.payload.subarray(0, Math.max(0, realEnd - payloadStart)),
        );
      }
      break;
    case 'other':
      if (packet.protocol === IpProtocol.ICMP || packet.protocol === IpProtocol.ICMPV6) {
        if (payloadStart + 2 <= realEnd) dstPort = (packet.payload[0]! << 8) | packet.payload[1]!;
      }
      break;
  }
  const [src, dst] = addressOctets(linkType, frame, packet);
  return {
    ipVersion: packet.ipVersion,
    src,
    dst,
    protocol: packet.protocol,
    srcPort,
    dstPort,
    tcpFlags,
    vlanIds: packet.vlanIds,
    truncated: packet.truncated || partial,
    partial,
  };
}

/**
 * Where the TCP header that ends at `payloadStart` begins: the one data offset (20–60) whose header holds
 * that offset and the decoded ports.
 */
function tcpHeaderStart(
  frame: Buffer,
  payloadStart: number,
  srcPort: number,
  dstPort: number,
): number | undefined {
  for (let length = 20; length <= 60; length += 4) {
    const start = payloadStart - length;
    if (start < 0) break;
    if (
      (frame[start + 12]! >> 4) * 4 === length &&
      frame.readUInt16BE(start) === srcPort &&
      frame.readUInt16BE(start + 2) === dstPort
    ) {
      return start;
    }
  }
  return undefined;
}

function transportOfFirstFragment(protocol: number, data: Buffer): [number, number, number] {
  if (protocol === IpProtocol.TCP || protocol === IpProtocol.UDP) {
    if (data.length < 4) return [0, 0, 0];
    const flags = protocol === IpProtocol.TCP && data.length >= 14 ? data[13]! : 0;
    return [data.readUInt16BE(0), data.readUInt16BE(2), flags];
  }
  if ((protocol === IpProtocol.ICMP || protocol === IpProtocol.ICMPV6) && data.length >= 2) {
    return [0, (data[0]! << 8) | data[1]!, 0];
  }
  return [0, 0, 0];
}

/**
 * The addresses as octets, copied from the frame: the IP header starts after the Ethernet header, its tags
 * and labels (which decodePacket reports), or at the start for raw IP. Checked against the version nibble;
 * the decoded text is the fallback.
 */
function addressOctets(linkType: number, frame: Buffer, packet: DecodedPacket): [Uint8Array, Uint8Array] {
  const ipStart =
    linkType === LinkType.ETHERNET ? 14 + 4 * (packet.vlanIds.length + packet.mplsLabels.length) : 0;
  const size = packet.ipVersion === 4 ? 4 : 16;
  const srcAt = ipStart + (packet.ipVersion === 4 ? 12 : 8);
  if (
    ipStart < frame.length &&
    frame[ipStart]! >> 4 === packet.ipVersion &&
    srcAt + 2 * size <= frame.length
  ) {
    const src = new Uint8Array(size);
    const dst = new Uint8Array(size);
    src.set(frame.subarray(srcAt, srcAt + size));
    dst.set(frame.subarray(srcAt + size, srcAt + 2 * size));
    return [src, dst];
  }
  return [parseIpAddress(packet.src), parseIpAddress(packet.dst)];
}
