/**
 * Decodes one framed BMP message (RFC 7854 §4; RFC 9069 Loc-RIB; RFC 8671 Adj-RIB-Out) of a router
 * connection whose state is `session`. Peer Up remembers the peer's negotiated capabilities, Peer Down forgets
 * them, Route Monitoring is decoded with them. Malformed input throws BmpDecodeError, nothing else.
 */

import { ByteReader, TruncatedInputError } from '@kansoku/kit/net/byte-reader';
import { formatIPv4, formatIPv6 } from '@kansoku/kit/net/ip-address';
import { AS4_SESSION } from '../bgp/message.ts';
import { bgpSessionOptions, decodeBgpPdu, negotiatedAddPath, readBgpMessage } from './bgp-pdu.ts';
import { BmpDecodeError, BmpErrorCode } from './errors.ts';
import { BMP_COMMON_HEADER_LENGTH, BMP_VERSION } from './framer.ts';
import type { BmpSession } from './session.ts';
import {
  type BgpSessionCapabilities,
  type BmpInformation,
  BmpInformationType,
  type BmpMessage,
  BmpMessageType,
  BmpPeerDownReason,
  BmpPeerFlag,
  type BmpPeerHeader,
  type BmpPeerType,
  BmpPeerTypeCode,
  type BmpStat,
  BmpStatType,
  type BmpTlv,
  type RibType,
} from './types.ts';

/** The per-peer header: type, flags, distinguisher, address, AS, BGP ID, timestamp. */
export const BMP_PER_PEER_HEADER_LENGTH = 42;

const PEER_TYPES: readonly BmpPeerType[] = [
  'global-instance',
  'rd-instance',
  'local-instance',
  'loc-rib-instance',
];

/**
 * Decodes `buffer`, one whole BMP message as the framer returns it (common header included). Throws
 * BmpDecodeError: TRUNCATED, BAD_VERSION, BAD_LENGTH, UNKNOWN_MESSAGE_TYPE, UNKNOWN_PEER_TYPE, MALFORMED,
 * BAD_BGP_PDU.
 */
export function parseBmpMessage(buffer: Buffer, session: BmpSession): BmpMessage {
  try {
    return parseMessage(buffer, session);
  } catch (error) {
    if (error instanceof TruncatedInputError) {
      throw new BmpDecodeError(BmpErrorCode.TRUNCATED, `BMP message truncated: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

function parseMessage(buffer: Buffer, session: BmpSession): BmpMessage {
  const header = new ByteReader(buffer);
  const version = header.u8();
  if (version !== BMP_VERSION) {
    throw new BmpDecodeError(BmpErrorCode.BAD_VERSION, `BMP version ${version}, expected 3`);
  }
  const length = header.u32();
  const messageType = header.u8();
  if (length < BMP_COMMON_HEADER_LENGTH) {
    throw new BmpDecodeError(BmpErrorCode.BAD_LENGTH, `BMP message length ${length} below its header`);
  }
  const reader = header.sub(length - BMP_COMMON_HEADER_LENGTH);
  switch (messageType) {
    case BmpMessageType.ROUTE_MONITORING:
      return parseRouteMonitoring(reader, session);
    case BmpMessageType.STATISTICS_REPORT:
      return parseStatisticsReport(reader);
    case BmpMessageType.PEER_DOWN:
      return parsePeerDown(reader, session);
    case BmpMessageType.PEER_UP:
      return parsePeerUp(reader, session);
    case BmpMessageType.INITIATION:
      return { type: 'initiation', information: parseInformation(reader) };
    case BmpMessageType.TERMINATION:
      return parseTermination(reader);
    case BmpMessageType.ROUTE_MIRRORING:
      return parseRouteMirroring(reader);
    default:
      throw new BmpDecodeError(BmpErrorCode.UNKNOWN_MESSAGE_TYPE, `BMP message type ${messageType}`);
  }
}

function ribOf(peerType: BmpPeerType, flags: number): RibType {
  if (peerType === 'loc-rib-instance') return 'loc-rib';
  const post = (flags & BmpPeerFlag.POST_POLICY) !== 0;
  if (flags & BmpPeerFlag.ADJ_RIB_OUT) return post ? 'adj-rib-out-post' : 'adj-rib-out-pre';
  return post ? 'adj-rib-in-post' : 'adj-rib-in-pre';
}

/** Reads 16 address bytes: IPv6, or IPv4 in the last 4 (RFC 7854 §4.2). */
function readAddress(reader: ByteReader, ipv6: boolean): { text: string; bytes: Buffer } {
  const field = reader.bytes(16);
  const bytes = ipv6 ? field : field.subarray(12);
  return { text: ipv6 ? formatIPv6(bytes) : formatIPv4(bytes), bytes };
}

export function parsePeerHeader(reader: ByteReader): BmpPeerHeader {
  const typeCode = reader.u8();
  const peerType = PEER_TYPES[typeCode];
  if (peerType === undefined) {
    throw new BmpDecodeError(BmpErrorCode.UNKNOWN_PEER_TYPE, `BMP peer type ${typeCode}`);
  }
  const flags = reader.u8();
  const locRib = typeCode === BmpPeerTypeCode.LOC_RIB_INSTANCE;
  const ipv6 = !locRib && (flags & BmpPeerFlag.IPV6) !== 0;
  const distinguisher = reader.u64();
  const address = readAddress(reader, ipv6);
  const asn = reader.u32();
  const bgpId = formatIPv4(reader.bytes(4));
  const timestampSeconds = reader.u32();
  const timestampMicros = reader.u32();
  return {
    peerType,
    flags,
    ipv6,
    postPolicy: !locRib && (flags & BmpPeerFlag.POST_POLICY) !== 0,
    legacyAsPath: !locRib && (flags & BmpPeerFlag.LEGACY_AS_PATH) !== 0,
    adjRibOut: !locRib && (flags & BmpPeerFlag.ADJ_RIB_OUT) !== 0,
    filtered: locRib && (flags & BmpPeerFlag.LOC_RIB_FILTERED) !== 0,
    rib: ribOf(peerType, flags),
    distinguisher,
    address: address.text,
    addressBytes: address.bytes,
    asn,
    bgpId,
    timestampSeconds,
    timestampMicros,
  };
}

/** The capabilities a peer's UPDATEs of this RIB were encoded with. */
export function capabilitiesFor(
  session: BmpSession,
  peer: BmpPeerHeader,
): { capabilities: BgpSessionCapabilities; known: boolean } {
  const state = session.peer(peer);
  const base = state === undefined ? session.defaultCapabilities : undefined;
  const as4 = (state?.as4 ?? base!.as4) && !peer.legacyAsPath;
  const addPath =
    state === undefined ? base!.addPath : peer.adjRibOut ? state.addPathSend : state.addPathReceive;
  return { capabilities: { as4, addPath }, known: state !== undefined };
}

function parseRouteMonitoring(reader: ByteReader, session: BmpSession): BmpMessage {
  const peer = parsePeerHeader(reader);
  const { pdu } = readBgpMessage(reader);
  const { capabilities, known } = capabilitiesFor(session, peer);
  if (!known) session.counters.unknownPeerMessages += 1;
  const update = decodeBgpPdu(pdu, 'update', bgpSessionOptions(capabilities), 'route monitoring');
  return { type: 'route-monitoring', peer, pdu, update, capabilities, peerKnown: known };
}

function statKind(type: number): 'counter32' | 'gauge64' | 'afi-safi-gauge64' | undefined {
  if (type <= BmpStatType.INVALIDATED_AS_CONFED_LOOP) return 'counter32';
  switch (type) {
    case BmpStatType.TREAT_AS_WITHDRAW_UPDATES:
    case BmpStatType.TREAT_AS_WITHDRAW_PREFIXES:
    case BmpStatType.DUPLICATE_UPDATES:
      return 'counter32';
    case BmpStatType.ADJ_RIB_IN_ROUTES:
    case BmpStatType.LOC_RIB_ROUTES:
    case BmpStatType.ADJ_RIB_OUT_PRE_POLICY_ROUTES:
    case BmpStatType.ADJ_RIB_OUT_POST_POLICY_ROUTES:
      return 'gauge64';
    case BmpStatType.ADJ_RIB_IN_ROUTES_PER_AFI_SAFI:
    case BmpStatType.LOC_RIB_ROUTES_PER_AFI_SAFI:
    case BmpStatType.ADJ_RIB_OUT_PRE_POLICY_ROUTES_PER_AFI_SAFI:
    case BmpStatType.ADJ_RIB_OUT_POST_POLICY_ROUTES_PER_AFI_SAFI:
      return 'afi-safi-gauge64';
    default:
      return undefined;
  }
}

/** An unsigned integer of 4 or 8 bytes (some routers send 64-bit values for the 32-bit counters). */
function readUnsigned(value: Buffer, offset: number): bigint | undefined {
  const size = value.length - offset;
  if (size === 4) return BigInt(value.readUInt32BE(offset));
  if (size === 8) return value.readBigUInt64BE(offset);
  return undefined;
}

function parseStat(type: number, value: Buffer): BmpStat {
  const kind = statKind(type);
  if (kind === 'counter32' || kind === 'gauge64') {
    const number = readUnsigned(value, 0);
    if (number !== undefined) return { type, kind, value: number };
  } else if (kind === 'afi-safi-gauge64' && value.length >= 3) {
    const number = readUnsigned(value, 3);
    if (number !== undefined) {
      return { type, kind, afi: value.readUInt16BE(0), safi: value[2]!, value: number };
    }
  }
  return { type, kind: 'unknown', value };
}

function parseStatisticsReport(reader: ByteReader): BmpMessage {
  const peer = parsePeerHeader(reader);
  const count = reader.u32();
  const stats: BmpStat[] = [];
  let unknownStats = 0;
  // The count cannot exceed what the message holds (4 bytes per stat at least); checked as stats are read.
  for (let i = 0; i < count; i++) {
    const type = reader.u16();
    const length = reader.u16();
    const stat = parseStat(type, reader.bytes(length));
    if (stat.kind === 'unknown') unknownStats += 1;
    stats.push(stat);
  }
  return { type: 'statistics-report', peer, stats, unknownStats };
}

function parseTlvs(reader: ByteReader): BmpTlv[] {
  const tlvs: BmpTlv[] = [];
  while (!reader.atEnd) {
    const type = reader.u16();
    const length = reader.u16();
    tlvs.push({ type, value: reader.bytes(length) });
  }
  return tlvs;
}

function parseInformation(reader: ByteReader): BmpInformation {
  const tlvs = parseTlvs(reader);
  const information: BmpInformation = { tlvs, strings: [] };
  for (const { type, value } of tlvs) {
    const text = value.toString('utf8');
    switch (type) {
      case BmpInformationType.STRING:
        information.strings.push(text);
        break;
      case BmpInformationType.SYS_DESCR:
        information.sysDescr = text;
        break;
      case BmpInformationType.SYS_NAME:
        information.sysName = text;
        break;
      case BmpInformationType.VRF_TABLE_NAME:
        information.vrfTableName = text;
        break;
      case BmpInformationType.ADMIN_LABEL:
        information.adminLabel = text;
        break;
    }
  }
  return information;
}

function parsePeerDown(reader: ByteReader, session: BmpSession): BmpMessage {
  const peer = parsePeerHeader(reader);
  const reason = reader.u8();
  session.peerDown(peer);
  switch (reason) {
    case BmpPeerDownReason.LOCAL_NOTIFICATION:
    case BmpPeerDownReason.REMOTE_NOTIFICATION: {
      const { pdu } = readBgpMessage(reader);
      return {
        type: 'peer-down',
        peer,
        reason,
        notificationPdu: pdu,
        notification: decodeBgpPdu(pdu, 'notification', AS4_SESSION, 'peer down'),
      };
    }
    case BmpPeerDownReason.LOCAL_NO_NOTIFICATION:
      return { type: 'peer-down', peer, reason, fsmEventCode: reader.u16() };
    case BmpPeerDownReason.REMOTE_NO_NOTIFICATION:
    case BmpPeerDownReason.PEER_DECONFIGURED:
      return { type: 'peer-down', peer, reason };
    case BmpPeerDownReason.LOCAL_SYSTEM_CLOSED:
      return { type: 'peer-down', peer, reason, information: parseInformation(reader) };
    default:
      return { type: 'peer-down', peer, reason, data: reader.rest() };
  }
}

function parsePeerUp(reader: ByteReader, session: BmpSession): BmpMessage {
  const peer = parsePeerHeader(reader);
  const local = readAddress(reader, peer.ipv6);
  const localPort = reader.u16();
  const remotePort = reader.u16();
  const sent = readBgpMessage(reader);
  const received = readBgpMessage(reader);
  const sentOpen = decodeBgpPdu(sent.pdu, 'open', AS4_SESSION, 'peer up sent OPEN');
  const receivedOpen = decodeBgpPdu(received.pdu, 'open', AS4_SESSION, 'peer up received OPEN');
  const information = parseInformation(reader);
  const as4 = sentOpen.fourOctetAs !== undefined && receivedOpen.fourOctetAs !== undefined;
  const addPathReceive = negotiatedAddPath(receivedOpen, sentOpen);
  const addPathSend = negotiatedAddPath(sentOpen, receivedOpen);
  session.peerUp(peer, { as4, addPathReceive, addPathSend });
  return {
    type: 'peer-up',
    peer,
    localAddress: local.text,
    localAddressBytes: local.bytes,
    localPort,
    remotePort,
    sentOpen,
    receivedOpen,
    sentOpenPdu: sent.pdu,
    receivedOpenPdu: received.pdu,
    information,
    as4,
    addPathReceive,
    addPathSend,
  };
}

function parseTermination(reader: ByteReader): BmpMessage {
  const tlvs = parseTlvs(reader);
  const strings: string[] = [];
  let reason: number | undefined;
  for (const { type, value } of tlvs) {
    if (type === 0) strings.push(value.toString('utf8'));
    else if (type === 1) {
      if (value.length !== 2) {
        throw new BmpDecodeError(BmpErrorCode.MALFORMED, `termination reason of ${value.length} bytes`);
      }
      reason = value.readUInt16BE(0);
    }
  }
  return reason === undefined
    ? { type: 'termination', tlvs, strings }
    : { type: 'termination', tlvs, strings, reason };
}

function parseRouteMirroring(reader: ByteReader): BmpMessage {
  const peer = parsePeerHeader(reader);
  const tlvs = parseTlvs(reader);
  const bgpMessages: Buffer[] = [];
  const information: number[] = [];
  for (const { type, value } of tlvs) {
    if (type === 0) {
      bgpMessages.push(readBgpMessage(new ByteReader(value)).pdu);
    } else if (type === 1) {
      if (value.length !== 2) {
        throw new BmpDecodeError(
          BmpErrorCode.MALFORMED,
          `route mirroring information of ${value.length} bytes`,
        );
      }
      information.push(value.readUInt16BE(0));
    }
  }
  return { type: 'route-mirroring', peer, tlvs, bgpMessages, information };
}
