/**
 * Decoding of one MRT record body (RFC 6396, RFC 8050 ADD-PATH subtypes, and the deprecated types of RFC 6396
 * appendix B that the 1999 RIS files use). Framing, decompression and the TABLE_DUMP length quirk are in
 * reader.ts.
 */

import { KansokuError } from '@kansoku/kit/errors';
import { ByteReader, TruncatedInputError } from '@kansoku/kit/net/byte-reader';

import { parsePathAttributes } from '../bgp/attributes.ts';
import { BgpDecodeError } from '../bgp/errors.ts';
import { parseBgpMessage, parseBgpMessageBody } from '../bgp/message.ts';
import { readPrefix } from '../bgp/prefix.ts';
import {
  BGP_KEEPALIVE,
  BGP_NOTIFICATION,
  BGP_OPEN,
  BGP_UPDATE,
  type BgpSessionOptions,
} from '../bgp/types.ts';
import { MRT_ERROR_CODES, MrtDecodeError } from './errors.ts';
import {
  type Bgp4mpPeering,
  MRT_TYPE_BGP,
  MRT_TYPE_BGP4MP,
  MRT_TYPE_BGP4MP_ET,
  MRT_TYPE_BGP4PLUS,
  MRT_TYPE_BGP4PLUS_01,
  MRT_TYPE_TABLE_DUMP,
  MRT_TYPE_TABLE_DUMP_V2,
  type MrtHeader,
  type MrtPeer,
  type MrtRecord,
  type TableDumpEntry,
} from './types.ts';

/** What the decoder remembers between records: the last PEER_INDEX_TABLE. */
export interface MrtDecoderState {
  peers?: MrtPeer[];
}

const copy = (bytes: Buffer): Uint8Array => new Uint8Array(bytes);
const noAddPath = (): boolean => false;
const anyAddPath = (): boolean => true;

function badRecord(message: string): MrtDecodeError {
  return new MrtDecodeError(MRT_ERROR_CODES.badRecord, message);
}

function addressLength(afi: number): 4 | 16 {
  if (afi === 1) return 4;
  if (afi === 2) return 16;
  throw badRecord(`unknown address family ${afi}`);
}

/**
 * Bytes a TABLE_DUMP body's entries take when walked as one view/sequence pair followed by entries: the
 * declared length when the record is well formed. Returns `undefined` when the walk cannot finish inside `body`.
 */
export function tableDumpSpan(body: Buffer, afi: number): number | undefined {
  const size = afi === 2 ? 16 : 4;
  // prefix, length, status, originated time, peer address, peer AS, attribute length
  const fixed = size + 1 + 1 + 4 + size + 2 + 2;
  let at = 4;
  while (at < body.length) {
    if (at + fixed > body.length) return undefined;
    at += fixed + body.readUInt16BE(at + fixed - 2);
  }
  return at === body.length ? at : undefined;
}

/** Decodes one record body; throws KansokuError subclasses (callers turn them into `malformed` records). */
export function decodeMrtRecord(header: MrtHeader, body: Buffer, state: MrtDecoderState): MrtRecord {
  try {
    switch (header.type) {
      case MRT_TYPE_TABLE_DUMP:
        return decodeTableDump(header, body, 0);
      case MRT_TYPE_TABLE_DUMP_V2:
        return decodeTableDumpV2(header, body, state);
      case MRT_TYPE_BGP4MP:
      case MRT_TYPE_BGP4MP_ET:
        return decodeBgp4mp(header, body);
      case MRT_TYPE_BGP:
      case MRT_TYPE_BGP4PLUS:
      case MRT_TYPE_BGP4PLUS_01:
        return decodeLegacyBgp(header, body);
      default:
        return { kind: 'unsupported', header };
    }
  } catch (error) {
    if (error instanceof TruncatedInputError) {
      throw new MrtDecodeError(
        MRT_ERROR_CODES.badRecord,
        `type ${header.type} subtype ${header.subtype}: a field overruns the record (${error.message})`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** TABLE_DUMP (RFC 6396 §4.2): subtype is the AFI; ASNs are 2-octet. */
export function decodeTableDump(header: MrtHeader, body: Buffer, lengthCorrection: number): MrtRecord {
  const afi = header.subtype;
  const size = addressLength(afi);
  const reader = new ByteReader(body);
  const view = reader.u16();
  const sequence = reader.u16();
  const entries: TableDumpEntry[] = [];
  while (!reader.atEnd) {
    const address = new Uint8Array(size);
    address.set(reader.bytes(size));
    const length = reader.u8();
    if (length > size * 8) throw badRecord(`TABLE_DUMP prefix length ${length}`);
    const status = reader.u8();
    const originatedTime = reader.u32();
    const peerAddress = copy(reader.bytes(size));
    const peerAs = reader.u16();
    const attributes = parsePathAttributes(reader.bytes(reader.u16()), {
      as4: false,
      addPath: noAddPath,
      mrtRibAfi: afi as 1 | 2,
    });
    entries.push({
      prefix: { afi: afi as 1 | 2, address, length },
      status,
      originatedTime,
      peer: { address: peerAddress, asn: peerAs },
      attributes,
    });
  }
  return { kind: 'table-dump', header, view, sequence, entries, lengthCorrection };
}

function decodeTableDumpV2(header: MrtHeader, body: Buffer, state: MrtDecoderState): MrtRecord {
  const reader = new ByteReader(body);
  const subtype = header.subtype;
  if (subtype === 1) {
    const collectorBgpId = copy(reader.bytes(4));
    const viewName = reader.bytes(reader.u16()).toString('utf8');
    const count = reader.u16();
    const peers: MrtPeer[] = [];
    for (let i = 0; i < count; i++) {
      const peerType = reader.u8();
      const bgpId = copy(reader.bytes(4));
      const address = copy(reader.bytes(peerType & 1 ? 16 : 4));
      const asn = peerType & 2 ? reader.u32() : reader.u16();
      peers.push({ address, asn, bgpId });
    }
    state.peers = peers;
    return { kind: 'peer-index-table', header, collectorBgpId, viewName, peers };
  }
  if (subtype === 6 || subtype === 12) {
    const sequence = reader.u32();
    const afi = reader.u16();
    const safi = reader.u8();
    // The NLRI's encoding depends on the family; the entry count follows it, so it is only read for the
    // families whose NLRI is a plain prefix.
    let entryCount = -1;
    if ((afi === 1 || afi === 2) && (safi === 1 || safi === 2)) {
      readPrefix(reader, afi, subtype === 12);
      entryCount = reader.u16();
    }
    return { kind: 'rib-generic', header, sequence, afi, safi, entryCount };
  }
  if ((subtype >= 2 && subtype <= 5) || (subtype >= 8 && subtype <= 11)) {
    const addPath = subtype >= 8;
    const base = addPath ? subtype - 6 : subtype;
    const afi: 1 | 2 = base <= 3 ? 1 : 2;
    const safi = base === 2 || base === 4 ? 1 : 2;
    const sequence = reader.u32();
    const prefix = readPrefix(reader, afi, false);
    const count = reader.u16();
    const peers = state.peers;
    const entries: MrtRecord & { kind: 'rib' } = {
      kind: 'rib',
      header,
      sequence,
      afi,
      safi,
      addPath,
      prefix,
      entries: [],
    };
    for (let i = 0; i < count; i++) {
      const peerIndex = reader.u16();
      const originatedTime = reader.u32();
      const pathId = addPath ? reader.u32() : undefined;
      const attributes = parsePathAttributes(reader.bytes(reader.u16()), {
        as4: true,
        addPath: noAddPath,
        mrtRibAfi: afi,
      });
      const peer = peers?.[peerIndex];
      if (peer === undefined) {
        throw new MrtDecodeError(
          MRT_ERROR_CODES.unknownPeer,
          `RIB entry of peer index ${peerIndex}; the peer index table has ${peers?.length ?? 'no'} peers`,
        );
      }
      entries.entries.push(
        pathId === undefined
          ? { peerIndex, peer, originatedTime, attributes }
          : { peerIndex, peer, originatedTime, pathId, attributes },
      );
    }
    return entries;
  }
  return { kind: 'unsupported', header };
}

function readPeering(reader: ByteReader, asnSize: 2 | 4): Bgp4mpPeering {
  const peerAs = asnSize === 4 ? reader.u32() : reader.u16();
  const localAs = asnSize === 4 ? reader.u32() : reader.u16();
  const interfaceIndex = reader.u16();
  const afi = reader.u16();
  const size = addressLength(afi);
  const peerAddress = copy(reader.bytes(size));
  const localAddress = copy(reader.bytes(size));
  return { peerAs, localAs, interfaceIndex, afi, peerAddress, localAddress };
}

/** BGP4MP and BGP4MP_ET (RFC 6396 §4.4, §4.5; RFC 8050 §4). */
function decodeBgp4mp(header: MrtHeader, body: Buffer): MrtRecord {
  const reader = new ByteReader(body);
  const subtype = header.subtype;
  if (subtype === 0 || subtype === 5) {
    const peering = readPeering(reader, subtype === 5 ? 4 : 2);
    const oldState = reader.u16();
    const newState = reader.u16();
    return { kind: 'bgp4mp-state-change', header, ...peering, oldState, newState };
  }
  if (subtype === 1 || (subtype >= 4 && subtype <= 11 && subtype !== 5)) {
    const as4 = subtype === 4 || subtype === 7 || subtype === 9 || subtype === 11;
    const addPath = subtype >= 8;
    const local = subtype === 6 || subtype === 7 || subtype === 10 || subtype === 11;
    const peering = readPeering(reader, as4 ? 4 : 2);
    const options: BgpSessionOptions = { as4, addPath: addPath ? anyAddPath : noAddPath };
    const message = parseBgpMessage(reader.rest(), options);
    return { kind: 'bgp4mp-message', header, ...peering, as4, addPath, local, message };
  }
  return { kind: 'unsupported', header };
}

/**
 * The deprecated MRT types 5 (BGP), 9 (BGP4PLUS) and 10 (BGP4PLUS_01) of RFC 6396 appendix B, written by the
 * MRT daemon that RIPE RIS ran in 1999 (capture `rrc00__1999.09__updates`). They differ from BGP4MP in three
 * ways: the subtype is the BGP message type (1 UPDATE, 3 STATE_CHANGE, 5 OPEN, 6 NOTIFY, 7 KEEPALIVE; 0 NULL,
 * 2 PREF_UPDATE and 4 SYNC carry nothing we use); the header is peer AS (2), peer address, local AS (2), local
 * address, without interface index or AFI (type 5 has IPv4 addresses, types 9 and 10 IPv6); and the BGP
 * message follows WITHOUT its 19-octet header (no marker, length or type). STATE_CHANGE has the peer AS and
 * address only, then old and new state.
 */
function decodeLegacyBgp(header: MrtHeader, body: Buffer): MrtRecord {
  const reader = new ByteReader(body);
  const size = header.type === MRT_TYPE_BGP ? 4 : 16;
  const afi = size === 4 ? 1 : 2;
  const subtype = header.subtype;
  if (subtype === 3) {
    const peerAs = reader.u16();
    const peerAddress = copy(reader.bytes(size));
    const oldState = reader.u16();
    const newState = reader.u16();
    return {
      kind: 'bgp4mp-state-change',
      header,
      peerAs,
      localAs: 0,
      interfaceIndex: 0,
      afi,
      peerAddress,
      localAddress: new Uint8Array(size),
      oldState,
      newState,
    };
  }
  const messageType =
    subtype === 1
      ? BGP_UPDATE
      : subtype === 5
        ? BGP_OPEN
        : subtype === 6
          ? BGP_NOTIFICATION
          : subtype === 7
            ? BGP_KEEPALIVE
            : 0;
  if (messageType === 0) return { kind: 'unsupported', header };
  const peerAs = reader.u16();
  const peerAddress = copy(reader.bytes(size));
  const localAs = reader.u16();
  const localAddress = copy(reader.bytes(size));
  const message = parseBgpMessageBody(messageType, reader.rest(), { as4: false, addPath: noAddPath });
  return {
    kind: 'bgp4mp-message',
    header,
    peerAs,
    localAs,
    interfaceIndex: 0,
    afi,
    peerAddress,
    localAddress,
    as4: false,
    addPath: false,
    local: false,
    message,
  };
}

/** Whether `error` is one of the typed decode errors (and not a bug). */
export function isDecodeError(error: unknown): error is KansokuError {
  return error instanceof MrtDecodeError || error instanceof BgpDecodeError || error instanceof KansokuError;
}
