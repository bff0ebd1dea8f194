/**
 * Decodes a captured frame down to its transport: link layer (Ethernet with 802.1Q / QinQ tags and MPLS,
 * Linux cooked SLL and SLL2, raw IP, BSD null/loopback), then IPv4 or IPv6 (walking the extension headers),
 * then UDP or TCP. Fragments are reported as fragments, not reassembled. Whatever the input, the result is
 * a decoded packet or a PacketDecodeError with a stable code.
 */

import { KansokuError } from '../errors.ts';
import { ByteReader, TruncatedInputError } from '../net/byte-reader.ts';
import { formatIPv4, formatIPv6 } from '../net/ip-address.ts';

/** LINKTYPE_* values this decoder reads. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export const IpProtocol = {
  HOP_BY_HOP: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  IPV6_ROUTING: 43,
  IPV6_FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  IPV6_NO_NEXT: 59,
  IPV6_DESTINATION_OPTIONS: 60,
  MOBILITY: 135,
  HIP: 139,
  SHIM6: 140,
} as const;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;
const ETHERTYPE_MPLS = 0x8847;
const ETHERTYPE_MPLS_MULTICAST = 0x8848;
/** Tags and labels followed before giving up on a frame: real stacks are a handful deep. */
const MAX_ENCAPSULATIONS = 16;

export type PacketErrorCode =
  | 'KANSOKU_PACKET_TRUNCATED'
  | 'KANSOKU_PACKET_MALFORMED'
  | 'KANSOKU_PACKET_UNSUPPORTED_LINK_TYPE'
  | 'KANSOKU_PACKET_NOT_IP';

export class PacketDecodeError extends KansokuError {
  declare readonly code: PacketErrorCode;

  constructor(code: PacketErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export interface IpFragment {
  /** IPv4 identification (16 bits) or IPv6 fragment header identification (32 bits). */
  id: number;
  /** Offset of this fragment's data in the original payload, in bytes. */
  offset: number;
  moreFragments: boolean;
}

interface DecodedPacketBase {
  ipVersion: 4 | 6;
  src: string;
  dst: string;
  /**
   * IP protocol of the payload: for IPv6 the one after the extension headers (17 UDP, 6 TCP, 58 ICMPv6, 41
   * IPv6-in-IP, …).
   */
  protocol: number;
  /** TTL (IPv4) or hop limit (IPv6). */
  ttl: number;
  /** 802.1Q / 802.1ad VLAN IDs, outermost first; empty when untagged. */
  vlanIds: number[];
  /** MPLS labels, outermost first; empty when none. */
  mplsLabels: number[];
  /** The capture has fewer bytes than the IP or UDP header declares (snaplen): the payload is cut short. */
  truncated: boolean;
}

export interface DecodedUdpPacket extends DecodedPacketBase {
  kind: 'udp';
  srcPort: number;
  dstPort: number;
  /** UDP payload, bounded by the UDP length (Ethernet padding excluded). */
  payload: Buffer;
}

export interface DecodedTcpPacket extends DecodedPacketBase {
  kind: 'tcp';
  srcPort: number;
  dstPort: number;
  /** TCP segment payload (after options). */
  payload: Buffer;
  seq: number;
  ack: number;
  /** Flag bits of byte 13 (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80). */
  flags: number;
}

/** A fragment of a larger IP packet; the payload is this fragment's share of the IP payload. */
export interface DecodedFragment extends DecodedPacketBase {
  kind: 'fragment';
  fragment: IpFragment;
  payload: Buffer;
}

/** Any other IP payload (ICMP, GRE, tunnels, ESP): the payload is the IP payload. */
export interface DecodedOtherPacket extends DecodedPacketBase {
  kind: 'other';
  payload: Buffer;
}

export type DecodedPacket = DecodedUdpPacket | DecodedTcpPacket | DecodedFragment | DecodedOtherPacket;

/** The IP header fields every result carries, gathered while decoding. */
type IpHeader = { -readonly [K in keyof DecodedPacketBase]: DecodedPacketBase[K] };

interface LinkContext {
  vlanIds: number[];
  mplsLabels: number[];
}

/**
 * Decodes one captured frame of link type `linkType` (as the pcap reader reports it).
 * Throws PacketDecodeError: KANSOKU_PACKET_TRUNCATED (the frame ends inside a header),
 * KANSOKU_PACKET_MALFORMED (impossible header values), KANSOKU_PACKET_UNSUPPORTED_LINK_TYPE,
 * KANSOKU_PACKET_NOT_IP (ARP, LLDP, MPLS-carried Ethernet, …).
 */
export function decodePacket(linkType: number, frame: Buffer): DecodedPacket {
  try {
    const context: LinkContext = { vlanIds: [], mplsLabels: [] };
    const reader = new ByteReader(frame);
    switch (linkType) {
      case LinkType.ETHERNET:
        return decodeEthernet(reader, context);
      case LinkType.LINUX_SLL:
        return decodeSll(reader, context);
      case LinkType.LINUX_SLL2:
        return decodeSll2(reader, context);
      case LinkType.RAW:
        return decodeIpByVersion(reader, context);
      case LinkType.IPV4:
        return decodeIPv4(reader, context);
      case LinkType.IPV6:
        return decodeIPv6(reader, context);
      case LinkType.NULL:
      case LinkType.LOOP:
        return decodeLoopback(reader, context, linkType === LinkType.LOOP);
      default:
        throw new PacketDecodeError(
          'KANSOKU_PACKET_UNSUPPORTED_LINK_TYPE',
          `link type ${linkType} is not decoded`,
        );
    }
  } catch (error) {
    if (error instanceof TruncatedInputError) {
      throw new PacketDecodeError(
        'KANSOKU_PACKET_TRUNCATED',
        `frame ends inside a header: ${error.message}`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}

/** Like decodePacket, but returns the error instead of throwing it (hot loops that count failures). */
export function tryDecodePacket(
  linkType: number,
  frame: Buffer,
): { ok: true; packet: DecodedPacket } | { ok: false; error: PacketDecodeError } {
  try {
    return { ok: true, packet: decodePacket(linkType, frame) };
  } catch (error) {
    if (error instanceof PacketDecodeError) return { ok: false, error };
    throw error;
  }
}

function decodeEthernet(reader: ByteReader, context: LinkContext): DecodedPacket {
  reader.skip(12); // destination and source MAC
  return decodeByEtherType(reader, reader.u16(), context);
}

function decodeByEtherType(reader: ByteReader, firstEtherType: number, context: LinkContext): DecodedPacket {
  let etherType = firstEtherType;
  for (let depth = 0; depth < MAX_ENCAPSULATIONS; depth++) {
    switch (etherType) {
      case ETHERTYPE_IPV4:
        return decodeIPv4(reader, context);
      case ETHERTYPE_IPV6:
        return decodeIPv6(reader, context);
      case ETHERTYPE_VLAN:
      case ETHERTYPE_QINQ:
      case ETHERTYPE_QINQ_OLD:
        context.vlanIds.push(reader.u16() & 0x0fff);
        etherType = reader.u16();
        continue;
      case ETHERTYPE_MPLS:
      case ETHERTYPE_MPLS_MULTICAST:
        return decodeMpls(reader, context);
      default:
        throw new PacketDecodeError(
          'KANSOKU_PACKET_NOT_IP',
          `ethertype 0x${etherType.toString(16).padStart(4, '0')} is not IP`,
        );
    }
  }
  throw new PacketDecodeError('KANSOKU_PACKET_MALFORMED', `more than ${MAX_ENCAPSULATIONS} VLAN tags`);
}

function decodeMpls(reader: ByteReader, context: LinkContext): DecodedPacket {
  for (let depth = 0; depth < MAX_ENCAPSULATIONS; depth++) {
    const entry = reader.u32();
    context.mplsLabels.push(entry >>> 12);
    if ((entry & 0x100) !== 0) {
      // Bottom of stack: MPLS does not say what follows; IP is recognised by its version nibble.
      const version = reader.peekU8() >> 4;
      if (version === 4) return decodeIPv4(reader, context);
      if (version === 6) return decodeIPv6(reader, context);
      throw new PacketDecodeError(
        'KANSOKU_PACKET_NOT_IP',
        `MPLS payload starts with nibble ${version}, not IP`,
      );
    }
  }
  throw new PacketDecodeError('KANSOKU_PACKET_MALFORMED', `more than ${MAX_ENCAPSULATIONS} MPLS labels`);
}

function decodeSll(reader: ByteReader, context: LinkContext): DecodedPacket {
  // packet type, ARPHRD type, address length, address (8 bytes, padded)
  reader.skip(2 + 2 + 2 + 8);
  return decodeByEtherType(reader, reader.u16(), context);
}

function decodeSll2(reader: ByteReader, context: LinkContext): DecodedPacket {
  const protocol = reader.u16();
  // reserved, interface index, ARPHRD type, packet type, address length, address (8 bytes, padded)
  reader.skip(2 + 4 + 2 + 1 + 1 + 8);
  return decodeByEtherType(reader, protocol, context);
}

function decodeLoopback(reader: ByteReader, context: LinkContext, networkOrder: boolean): DecodedPacket {
  // LINKTYPE_NULL holds the address family in the capturing host's byte order; LINKTYPE_LOOP in network order.
  const raw = reader.bytes(4);
  const family = networkOrder ? raw.readUInt32BE(0) : Math.min(raw.readUInt32LE(0), raw.readUInt32BE(0));
  switch (family) {
    case 2:
      return decodeIPv4(reader, context);
    // AF_INET6 of NetBSD/OpenBSD, FreeBSD, macOS: all three appear in captures.
    case 24:
    case 28:
    case 30:
      return decodeIPv6(reader, context);
    default:
      throw new PacketDecodeError('KANSOKU_PACKET_NOT_IP', `loopback address family ${family} is not IP`);
  }
}

function decodeIpByVersion(reader: ByteReader, context: LinkContext): DecodedPacket {
  const version = reader.peekU8() >> 4;
  if (version === 4) return decodeIPv4(reader, context);
  if (version === 6) return decodeIPv6(reader, context);
  throw new PacketDecodeError('KANSOKU_PACKET_MALFORMED', `raw IP packet of version ${version}`);
}

function decodeIPv4(reader: ByteReader, context: LinkContext): DecodedPacket {
  const bytes = reader.buffer;
  const start = reader.position;
  const versionAndLength = reader.u8();
  const version = versionAndLength >> 4;
  const headerLength = (versionAndLength & 0x0f) * 4;
  if (version !== 4)
    throw new PacketDecodeError('KANSOKU_PACKET_MALFORMED', `IPv4 header with version ${version}`);
  if (headerLength < 20) {
    throw new PacketDecodeError('KANSOKU_PACKET_MALFORMED', `IPv4 header length ${headerLength} is below 20`);
  }
  reader.skip(1); // DSCP, ECN
  const totalLength = reader.u16();
  const id = reader.u16();
  const flagsAndOffset = reader.u16();
  const ttl = reader.u8();
  const protocol = reader.u8();
  reader.skip(2); // checksum
  reader.require(8 + headerLength - 20);
  const src = formatIPv4(bytes, start + 12);
  const dst = formatIPv4(bytes, start + 16);
  reader.skip(8 + headerLength - 20);

  // A total length of 0 is what captures of TCP segmentation offload show: trust the capture then.
  const available = reader.remaining;
  let payloadLength = available;
  let truncated = false;
  if (totalLength !== 0) {
    if (totalLength < headerLength) {
      throw new PacketDecodeError(
        'KANSOKU_PACKET_MALFORMED',
        `IPv4 total length ${totalLength} is below its header length ${headerLength}`,
      );
    }
    payloadLength = totalLength - headerLength;
    if (payloadLength > available) {
      truncated = true;
      payloadLength = available;
    }
  }
  const payload = reader.bytes(payloadLength);
  const header: IpHeader = {
    ipVersion: 4,
    src,
    dst,
    protocol,
    ttl,
    vlanIds: context.vlanIds,
    mplsLabels: context.mplsLabels,
    truncated,
  };
  const moreFragments = (flagsAndOffset & 0x2000) !== 0;
  const fragmentOffset = (flagsAndOffset & 0x1fff) * 8;
  if (moreFragments || fragmentOffset !== 0) {
    return fragmentPacket(header, { id, offset: fragmentOffset, moreFragments }, payload);
  }
  return decodeTransport(header, payload);
}

function decodeIPv6(reader: ByteReader, context: LinkContext): DecodedPacket {
  const bytes = reader.buffer;
  const start = reader.position;
  const first = reader.u32();
  const version = first >>> 28;
  if (version !== 6)
    throw new PacketDecodeError('KANSOKU_PACKET_MALFORMED', `IPv6 header with version ${version}`);
  const payloadLengthField = reader.u16();
  let nextHeader = reader.u8();
  const hopLimit = reader.u8();
  reader.require(32);
  const src = formatIPv6(bytes, start + 8);
  const dst = formatIPv6(bytes, start + 24);
  reader.skip(32);

  // A payload length of 0 means a jumbogram (hop-by-hop option) or offload: trust the capture then.
  let truncated = false;
  let length = reader.remaining;
  if (payloadLengthField !== 0) {
    if (payloadLengthField > length) truncated = true;
    else length = payloadLengthField;
  }
  const body = reader.sub(length);
  const header: IpHeader = {
    ipVersion: 6,
    src,
    dst,
    protocol: nextHeader,
    ttl: hopLimit,
    vlanIds: context.vlanIds,
    mplsLabels: context.mplsLabels,
    truncated,
  };

  for (let depth = 0; depth < MAX_ENCAPSULATIONS; depth++) {
    switch (nextHeader) {
      case IpProtocol.HOP_BY_HOP:
      case IpProtocol.IPV6_ROUTING:
      case IpProtocol.IPV6_DESTINATION_OPTIONS:
      case IpProtocol.MOBILITY:
      case IpProtocol.HIP:
      case IpProtocol.SHIM6: {
        const following = body.u8();
        const extensionLength = (body.u8() + 1) * 8;
        body.skip(extensionLength - 2);
        nextHeader = following;
        continue;
      }
      case IpProtocol.AH: {
        // AH counts its length in 4-byte units, minus 2.
        const following = body.u8();
        const extensionLength = (body.u8() + 2) * 4;
        body.skip(extensionLength - 2);
        nextHeader = following;
        continue;
      }
      case IpProtocol.IPV6_FRAGMENT: {
        const following = body.u8();
        body.skip(1);
        const offsetAndFlags = body.u16();
        const id = body.u32();
        const offset = offsetAndFlags & 0xfff8;
        const moreFragments = (offsetAndFlags & 0x1) !== 0;
        if (offset !== 0 || moreFragments) {
          header.protocol = following;
          return fragmentPacket(header, { id, offset, moreFragments }, body.rest());
        }
        // An atomic fragment (offset 0, no more): the packet is whole.
        nextHeader = following;
        continue;
      }
      case IpProtocol.IPV6_NO_NEXT:
        header.protocol = nextHeader;
        return otherPacket(header, body.rest().subarray(0, 0));
      default:
        header.protocol = nextHeader;
        return decodeTransport(header, body.rest());
    }
  }
  throw new PacketDecodeError(
    'KANSOKU_PACKET_MALFORMED',
    `more than ${MAX_ENCAPSULATIONS} IPv6 extension headers`,
  );
}

function decodeTransport(header: IpHeader, ipPayload: Buffer): DecodedPacket {
  if (header.protocol === IpProtocol.UDP) {
    const reader = new ByteReader(ipPayload);
    const srcPort = reader.u16();
    const dstPort = reader.u16();
    const udpLength = reader.u16();
    reader.skip(2); // checksum
    let payloadLength = reader.remaining;
    // A UDP length of 0 is legal for IPv6 jumbograms; below 8 is impossible otherwise.
    if (udpLength !== 0) {
      if (udpLength < 8) {
        throw new PacketDecodeError(
          'KANSOKU_PACKET_MALFORMED',
          `UDP length ${udpLength} is below its header`,
        );
      }
      if (udpLength - 8 > payloadLength) header.truncated = true;
      else payloadLength = udpLength - 8;
    }
    return {
      kind: 'udp',
      ipVersion: header.ipVersion,
      src: header.src,
      dst: header.dst,
      protocol: header.protocol,
      ttl: header.ttl,
      vlanIds: header.vlanIds,
      mplsLabels: header.mplsLabels,
      truncated: header.truncated,
      srcPort,
      dstPort,
      payload: reader.bytes(payloadLength),
    };
  }
  if (header.protocol === IpProtocol.TCP) {
    const reader = new ByteReader(ipPayload);
    const srcPort = reader.u16();
    const dstPort = reader.u16();
    const seq = reader.u32();
    const ack = reader.u32();
    const dataOffset = (reader.u8() >> 4) * 4;
    const flags = reader.u8();
    if (dataOffset < 20) {
      throw new PacketDecodeError('KANSOKU_PACKET_MALFORMED', `TCP data offset ${dataOffset} is below 20`);
    }
    reader.skip(4); // window, checksum
    reader.skip(2 + dataOffset - 20); // urgent pointer, options
    return {
      kind: 'tcp',
      ipVersion: header.ipVersion,
      src: header.src,
      dst: header.dst,
      protocol: header.protocol,
      ttl: header.ttl,
      vlanIds: header.vlanIds,
      mplsLabels: header.mplsLabels,
      truncated: header.truncated,
      srcPort,
      dstPort,
      payload: reader.rest(),
      seq,
      ack,
      flags,
    };
  }
  return otherPacket(header, ipPayload);
}

// Results are built as literals with one property order per kind: spreading a shared base object costs
// several times the rest of the decode.
function fragmentPacket(header: IpHeader, fragment: IpFragment, payload: Buffer): DecodedFragment {
  return {
    kind: 'fragment',
    ipVersion: header.ipVersion,
    src: header.src,
    dst: header.dst,
    protocol: header.protocol,
    ttl: header.ttl,
    vlanIds: header.vlanIds,
    mplsLabels: header.mplsLabels,
    truncated: header.truncated,
    fragment,
    payload,
  };
}

function otherPacket(header: IpHeader, payload: Buffer): DecodedOtherPacket {
  return {
    kind: 'other',
    ipVersion: header.ipVersion,
    src: header.src,
    dst: header.dst,
    protocol: header.protocol,
    ttl: header.ttl,
    vlanIds: header.vlanIds,
    mplsLabels: header.mplsLabels,
    truncated: header.truncated,
    payload,
  };
}
