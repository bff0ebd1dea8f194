/**
 * BGP path attributes (RFC 4271 §4.3 and §5, RFC 4760, RFC 6793, RFC 1997, RFC 4360, RFC 8092, RFC 4456) with the
 * revised error handling of RFC 7606. What happens to a malformed attribute:
 *
 * - treat-as-withdraw (the UPDATE's announced routes are to be withdrawn, `treatAsWithdraw` is set): ORIGIN
 *   (length ≠ 1 or value > 2), AS_PATH (bad segment type, empty or overrunning segment), NEXT_HOP (length ≠ 4),
 *   MULTI_EXIT_DISC and LOCAL_PREF (length ≠ 4), COMMUNITIES (length not a multiple of 4), ORIGINATOR_ID
 *   (length ≠ 4), CLUSTER_LIST (not a multiple of 4), EXTENDED_COMMUNITIES (not a multiple of 8),
 *   LARGE_COMMUNITIES (not a multiple of 12, RFC 8092 §6), an attribute whose length runs past the attribute
 *   area (RFC 7606 §4: the rest of the area is not parsed), and a missing well-known mandatory attribute when
 *   the UPDATE announces routes (§3 d; checked by the UPDATE parser, not for MRT RIB entries).
 * - attribute-discard (the attribute is dropped, the routes stand): ATOMIC_AGGREGATE (length ≠ 0),
 *   AGGREGATOR (length ≠ 6 or 8), AS4_PATH and AS4_AGGREGATOR (RFC 6793 §6), and every repeat of an attribute
 *   after the first (§3 g).
 * - session reset, thrown as BgpDecodeError: MP_REACH_NLRI / MP_UNREACH_NLRI whose fixed part or next hop cannot
 *   be parsed, that overrun the attribute area, or that occur twice (§3 g, §7.11: their NLRI cannot be
 *   located, so the routes cannot even be withdrawn).
 * - an NLRI field that ends in a prefix that cannot be read (`KANSOKU_BGP_NLRI_MALFORMED`): see nlriMalformed.
 *
 * MP_REACH / MP_UNREACH of IPv4 and IPv6 unicast and multicast are decoded; other families are listed in
 * `otherFamilies` with their NLRI length and skipped.
 */

import { ByteReader } from '@kansoku/kit/net/byte-reader';

import { AS_TRANS, mergeAs4Path } from './as-path.ts';
import { type AttributeError, BGP_ERROR_CODES, BgpDecodeError } from './errors.ts';
import { readPrefixesUntilError } from './prefix.ts';
import type {
  Aggregator,
  AsPathSegment,
  BgpSessionOptions,
  LargeCommunity,
  PathAttributes,
  Prefix,
} from './types.ts';

export const ATTR_ORIGIN = 1;
export const ATTR_AS_PATH = 2;
export const ATTR_NEXT_HOP = 3;
export const ATTR_MED = 4;
export const ATTR_LOCAL_PREF = 5;
export const ATTR_ATOMIC_AGGREGATE = 6;
export const ATTR_AGGREGATOR = 7;
export const ATTR_COMMUNITIES = 8;
export const ATTR_ORIGINATOR_ID = 9;
export const ATTR_CLUSTER_LIST = 10;
export const ATTR_MP_REACH_NLRI = 14;
export const ATTR_MP_UNREACH_NLRI = 15;
export const ATTR_EXTENDED_COMMUNITIES = 16;
export const ATTR_AS4_PATH = 17;
export const ATTR_AS4_AGGREGATOR = 18;
export const ATTR_LARGE_COMMUNITIES = 32;

const FLAG_EXTENDED_LENGTH = 0x10;

export interface PathAttributeOptions extends BgpSessionOptions {
  /**
   * Set for an MRT TABLE_DUMP_V2 RIB entry of this family: its MP_REACH_NLRI may be the abbreviated form of
   * RFC 6396 §4.3.4 (next hop length and next hop only; AFI, SAFI and NLRI are in the RIB record).
   */
  mrtRibAfi?: 1 | 2;
}

function malformed(
  errors: AttributeError[],
  type: number,
  action: AttributeError['action'],
  message: string,
): void {
  errors.push({ code: 'KANSOKU_BGP_ATTRIBUTE_MALFORMED', type, action, message });
}

/** An attribute error that turns the UPDATE's announcements into withdrawals (RFC 7606). */
function withdrawAttribute(attributes: PathAttributes, type: number, message: string): void {
  malformed(attributes.errors, type, 'treat-as-withdraw', message);
  attributes.treatAsWithdraw = true;
}

/** An attribute error after which the attribute is ignored (RFC 7606). */
function discardAttribute(errors: AttributeError[], type: number, message: string): void {
  malformed(errors, type, 'attribute-discard', message);
}

/** AS_PATH / AS4_PATH segments, or undefined when malformed. */
function readAsPath(value: Buffer, asnSize: 2 | 4): AsPathSegment[] | undefined {
  const segments: AsPathSegment[] = [];
  let at = 0;
  while (at < value.length) {
    if (at + 2 > value.length) return undefined;
    const type = value[at]!;
    const count = value[at + 1]!;
    at += 2;
    if (type < 1 || type > 4 || count === 0 || at + count * asnSize > value.length) return undefined;
    const asns = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      asns[i] = asnSize === 4 ? value.readUInt32BE(at) : value.readUInt16BE(at);
      at += asnSize;
    }
    segments.push({ type: type as AsPathSegment['type'], asns });
  }
  return segments;
}

function copy(bytes: Buffer): Uint8Array {
  return new Uint8Array(bytes);
}

function readMpReach(value: Buffer, attributes: PathAttributes, options: PathAttributeOptions): void {
  const fail = (message: string): never => {
    throw new BgpDecodeError(BGP_ERROR_CODES.badMultiprotocol, `MP_REACH_NLRI: ${message}`);
  };
  // RFC 6396 §4.3.4: in TABLE_DUMP_V2 RIB entries only the next hop is written. Some dumpers write the full
  // attribute anyway; the abbreviated form is recognised by its first octet (the next hop length) being the
  // rest of the attribute.
  if (options.mrtRibAfi !== undefined && value.length >= 1 && value[0] === value.length - 1) {
    const nextHopLength = value[0]!;
    setNextHop(value.subarray(1, 1 + nextHopLength), options.mrtRibAfi, 1, [], attributes, fail);
    return;
  }
  if (value.length < 5) fail(`${value.length} bytes, shorter than its fixed part`);
  const afi = value.readUInt16BE(0);
  const safi = value[2]!;
  const nextHopLength = value[3]!;
  if (4 + nextHopLength + 1 > value.length) fail(`next hop length ${nextHopLength} overruns the attribute`);
  const nextHop = value.subarray(4, 4 + nextHopLength);
  // One reserved octet (formerly the SNPA count, RFC 4760 §3). Old speakers (RFC 2858) may still put SNPAs
  // there: skip them when the octet is non-zero.
  let at = 4 + nextHopLength;
  let snpas = value[at]!;
  at += 1;
  while (snpas-- > 0) {
    if (at >= value.length) fail('SNPA overruns the attribute');
    at += 1 + ((value[at]! + 1) >>> 1);
  }
  if (at > value.length) fail('SNPA overruns the attribute');
  const nlri = value.subarray(at);
  if ((afi === 1 || afi === 2) && (safi === 1 || safi === 2)) {
    if (options.mrtRibAfi !== undefined) {
      setNextHop(nextHop, afi, safi, [], attributes, fail);
      return;
    }
    const read = readPrefixesUntilError(nlri, afi, options.addPath(afi, safi));
    if (read.error !== undefined) nlriMalformed(attributes, ATTR_MP_REACH_NLRI, read.error);
    setNextHop(nextHop, afi, safi, read.prefixes, attributes, fail);
  } else {
    attributes.otherFamilies.push({ attribute: 'mp-reach', afi, safi, nlriLength: nlri.length });
  }
}

function setNextHop(
  nextHop: Buffer,
  afi: 1 | 2,
  safi: number,
  nlri: Prefix[],
  attributes: PathAttributes,
  fail: (message: string) => never,
): void {
  if (nextHop.length === 4 || nextHop.length === 16) {
    attributes.mpReach = { afi, safi, nextHop: copy(nextHop), nlri };
  } else if (nextHop.length === 32) {
    attributes.mpReach = {
      afi,
      safi,
      nextHop: copy(nextHop.subarray(0, 16)),
      linkLocalNextHop: copy(nextHop.subarray(16, 32)),
      nlri,
    };
  } else if (nextHop.length === 0 && nlri.length === 0) {
    attributes.mpReach = { afi, safi, nextHop: new Uint8Array(0), nlri };
  } else {
    fail(`next hop of ${nextHop.length} bytes for afi ${afi} safi ${safi}`);
  }
}

function readMpUnreach(value: Buffer, attributes: PathAttributes, options: PathAttributeOptions): void {
  if (value.length < 3) {
    throw new BgpDecodeError(BGP_ERROR_CODES.badMultiprotocol, `MP_UNREACH_NLRI: ${value.length} bytes`);
  }
  const afi = value.readUInt16BE(0);
  const safi = value[2]!;
  const nlri = value.subarray(3);
  if ((afi === 1 || afi === 2) && (safi === 1 || safi === 2)) {
    const read = readPrefixesUntilError(nlri, afi, options.addPath(afi, safi));
    if (read.error !== undefined) nlriMalformed(attributes, ATTR_MP_UNREACH_NLRI, read.error);
    attributes.mpUnreach = { afi, safi, withdrawn: read.prefixes };
  } else {
    attributes.otherFamilies.push({ attribute: 'mp-unreach', afi, safi, nlriLength: nlri.length });
  }
}

/**
 * An NLRI field (withdrawn routes, NLRI, or those of MP_REACH / MP_UNREACH) that ends in a prefix that cannot be
 * read. RFC 7606 §5.3 and §7.11 ask for a session reset; a collector is passive and cannot reset anything, so
 * the prefixes read before the fault are kept (bgpdump prints them too) and the UPDATE is marked
 * treat-as-withdraw, the safe effect on a RIB.
 */
export function nlriMalformed(attributes: PathAttributes, type: number, message: string): void {
  attributes.errors.push({ code: 'KANSOKU_BGP_NLRI_MALFORMED', type, action: 'treat-as-withdraw', message });
  attributes.treatAsWithdraw = true;
}

function readAggregator(value: Buffer, asnSize: 2 | 4): Aggregator {
  return {
    asn: asnSize === 4 ? value.readUInt32BE(0) : value.readUInt16BE(0),
    address: copy(value.subarray(asnSize, asnSize + 4)),
  };
}

/** A fresh, empty attribute set. */
export function emptyPathAttributes(): PathAttributes {
  return { atomicAggregate: false, otherFamilies: [], unknown: [], errors: [], treatAsWithdraw: false };
}

/**
 * Parses a path attribute area. Recoverable errors end up in `errors` (and `treatAsWithdraw`); an unusable
 * MP_REACH / MP_UNREACH throws BgpDecodeError.
 */
export function parsePathAttributes(area: Buffer, options: PathAttributeOptions): PathAttributes {
  const attributes = emptyPathAttributes();
  const { errors } = attributes;
  const seen = new Set<number>();
  const reader = new ByteReader(area);
  const asnSize = options.as4 ? 4 : 2;

  while (!reader.atEnd) {
    if (reader.remaining < 3) {
      malformed(
        errors,
        0,
        'treat-as-withdraw',
        `${reader.remaining} stray byte(s) at the end of the attributes`,
      );
      attributes.treatAsWithdraw = true;
      break;
    }
    const flags = reader.u8();
    const type = reader.u8();
    const extended = (flags & FLAG_EXTENDED_LENGTH) !== 0;
    if (extended && reader.remaining < 2) {
      malformed(errors, type, 'treat-as-withdraw', 'attribute length field overruns the attributes');
      attributes.treatAsWithdraw = true;
      break;
    }
    const length = extended ? reader.u16() : reader.u8();
    if (length > reader.remaining) {
      if (type === ATTR_MP_REACH_NLRI || type === ATTR_MP_UNREACH_NLRI) {
        throw new BgpDecodeError(
          BGP_ERROR_CODES.badAttributeLength,
          `attribute ${type} of ${length} bytes overruns the attributes (${reader.remaining} left)`,
        );
      }
      malformed(
        errors,
        type,
        'treat-as-withdraw',
        `attribute of ${length} bytes overruns the attributes (${reader.remaining} left)`,
      );
      attributes.treatAsWithdraw = true;
      break;
    }
    const value = reader.bytes(length);

    if (seen.has(type)) {
      if (type === ATTR_MP_REACH_NLRI || type === ATTR_MP_UNREACH_NLRI) {
        throw new BgpDecodeError(BGP_ERROR_CODES.badMultiprotocol, `attribute ${type} appears twice`);
      }
      errors.push({
        code: 'KANSOKU_BGP_ATTRIBUTE_DUPLICATE',
        type,
        action: 'attribute-discard',
        message: `attribute ${type} repeated; the first is kept`,
      });
      continue;
    }
    seen.add(type);

    switch (type) {
      case ATTR_ORIGIN:
        if (length !== 1 || value[0]! > 2)
          withdrawAttribute(attributes, type, `ORIGIN of ${length} bytes, value ${value[0]}`);
        else attributes.origin = value[0] as 0 | 1 | 2;
        break;
      case ATTR_AS_PATH: {
        const path = readAsPath(value, asnSize);
        if (path === undefined) withdrawAttribute(attributes, type, 'AS_PATH segments malformed');
        else attributes.asPathReceived = path;
        break;
      }
      case ATTR_NEXT_HOP:
        if (length !== 4) withdrawAttribute(attributes, type, `NEXT_HOP of ${length} bytes`);
        else attributes.nextHop = copy(value);
        break;
      case ATTR_MED:
        if (length !== 4) withdrawAttribute(attributes, type, `MULTI_EXIT_DISC of ${length} bytes`);
        else attributes.med = value.readUInt32BE(0);
        break;
      case ATTR_LOCAL_PREF:
        if (length !== 4) withdrawAttribute(attributes, type, `LOCAL_PREF of ${length} bytes`);
        else attributes.localPref = value.readUInt32BE(0);
        break;
      case ATTR_ATOMIC_AGGREGATE:
        if (length !== 0) discardAttribute(errors, type, `ATOMIC_AGGREGATE of ${length} bytes`);
        else attributes.atomicAggregate = true;
        break;
      case ATTR_AGGREGATOR:
        if (length !== asnSize + 4) discardAttribute(errors, type, `AGGREGATOR of ${length} bytes`);
        else attributes.aggregator = readAggregator(value, asnSize);
        break;
      case ATTR_COMMUNITIES:
        if (length % 4 !== 0) withdrawAttribute(attributes, type, `COMMUNITIES of ${length} bytes`);
        else {
          const communities = new Array<number>(length / 4);
          for (let i = 0; i < communities.length; i++) communities[i] = value.readUInt32BE(i * 4);
          attributes.communities = communities;
        }
        break;
      case ATTR_ORIGINATOR_ID:
        if (length !== 4) withdrawAttribute(attributes, type, `ORIGINATOR_ID of ${length} bytes`);
        else attributes.originatorId = copy(value);
        break;
      case ATTR_CLUSTER_LIST:
        if (length % 4 !== 0) withdrawAttribute(attributes, type, `CLUSTER_LIST of ${length} bytes`);
        else {
          const list: Uint8Array[] = [];
          for (let i = 0; i < length; i += 4) list.push(copy(value.subarray(i, i + 4)));
          attributes.clusterList = list;
        }
        break;
      case ATTR_MP_REACH_NLRI:
        readMpReach(value, attributes, options);
        break;
      case ATTR_MP_UNREACH_NLRI:
        readMpUnreach(value, attributes, options);
        break;
      case ATTR_EXTENDED_COMMUNITIES:
        if (length % 8 !== 0) withdrawAttribute(attributes, type, `EXTENDED_COMMUNITIES of ${length} bytes`);
        else {
          const list: bigint[] = [];
          for (let i = 0; i < length; i += 8) list.push(value.readBigUInt64BE(i));
          attributes.extendedCommunities = list;
        }
        break;
      case ATTR_AS4_PATH: {
        const path = readAsPath(value, 4);
        if (path === undefined) discardAttribute(errors, type, 'AS4_PATH segments malformed');
        else attributes.as4Path = path;
        break;
      }
      case ATTR_AS4_AGGREGATOR:
        if (length !== 8) discardAttribute(errors, type, `AS4_AGGREGATOR of ${length} bytes`);
        else attributes.as4Aggregator = readAggregator(value, 4);
        break;
      case ATTR_LARGE_COMMUNITIES:
        if (length % 12 !== 0) withdrawAttribute(attributes, type, `LARGE_COMMUNITIES of ${length} bytes`);
        else {
          const list: LargeCommunity[] = [];
          for (let i = 0; i < length; i += 12) {
            list.push({
              globalAdministrator: value.readUInt32BE(i),
              localData1: value.readUInt32BE(i + 4),
              localData2: value.readUInt32BE(i + 8),
            });
          }
          attributes.largeCommunities = list;
        }
        break;
      default:
        attributes.unknown.push({ type, flags, length, value: copy(value) });
    }
  }

  applyAs4(attributes, options.as4);
  return attributes;
}

/**
 * RFC 6793 §4.2.3, for an UPDATE from a 2-octet speaker: AS4_AGGREGATOR replaces an AGGREGATOR of AS_TRANS; an
 * AGGREGATOR with a real 2-octet ASN means a 2-octet speaker aggregated after the path left 4-octet land, so
 * AS4_AGGREGATOR and AS4_PATH are both stale and ignored; otherwise AS4_PATH is merged into AS_PATH. A 4-octet
 * session ignores both AS4 attributes (§4.1: they must not be sent between 4-octet speakers).
 */
function applyAs4(attributes: PathAttributes, as4: boolean): void {
  const received = attributes.asPathReceived;
  if (as4 || received === undefined) {
    attributes.asPath = received;
    return;
  }
  let useAs4Path = attributes.as4Path !== undefined;
  if (attributes.aggregator !== undefined && attributes.as4Aggregator !== undefined) {
    if (attributes.aggregator.asn !== AS_TRANS) useAs4Path = false;
    else attributes.aggregator = attributes.as4Aggregator;
  }
  attributes.asPath =
    useAs4Path && attributes.as4Path !== undefined ? mergeAs4Path(received, attributes.as4Path) : received;
}
