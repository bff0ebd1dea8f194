/**
 * What the BGP message parser returns: plain typed objects (no protobuf) so a full table parses fast. Every
 * field maps onto `kansoku.bgp.v1.RouteUpdate` / `PeerEvent` directly (see `docs` in the proto).
 */

import type { AttributeError } from './errors.ts';

/** IANA address family numbers the parser decodes; others are counted (see `OtherFamily`). */
export const AFI_IPV4 = 1;
export const AFI_IPV6 = 2;
export const SAFI_UNICAST = 1;
export const SAFI_MULTICAST = 2;

/** What the session negotiated, which the wire format depends on. */
export interface BgpSessionOptions {
  /** Both sides sent the 4-octet AS capability (RFC 6793): AS_PATH and AGGREGATOR carry 4-octet ASNs. */
  as4: boolean;
  /** Whether NLRI of (afi, safi) carry an ADD-PATH path identifier (RFC 7911; we are the receiver). */
  addPath: (afi: number, safi: number) => boolean;
}

/** A prefix: network address with the host bits cleared (4 or 16 octets) and its length. */
export interface Prefix {
  afi: 1 | 2;
  /** 4 octets for IPv4, 16 for IPv6, host bits zero. */
  address: Uint8Array;
  length: number;
  /** ADD-PATH path identifier; undefined when the family does not use ADD-PATH. */
  pathId?: number;
}

export const AS_SET = 1;
export const AS_SEQUENCE = 2;
export const AS_CONFED_SEQUENCE = 3;
export const AS_CONFED_SET = 4;

export interface AsPathSegment {
  /** 1 AS_SET, 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET (the proto enum's numbers). */
  type: 1 | 2 | 3 | 4;
  asns: number[];
}

export interface Aggregator {
  asn: number;
  /** 4 octets. */
  address: Uint8Array;
}

export interface LargeCommunity {
  globalAdministrator: number;
  localData1: number;
  localData2: number;
}

/** MP_REACH_NLRI of a decoded family (IPv4 or IPv6, unicast or multicast). */
export interface MpReach {
  afi: 1 | 2;
  safi: number;
  /** Global next hop: 4 or 16 octets (an IPv4 family may have an IPv6 next hop, RFC 8950). */
  nextHop: Uint8Array;
  /** IPv6 link-local next hop when the next hop field holds two addresses (32 octets). */
  linkLocalNextHop?: Uint8Array;
  nlri: Prefix[];
}

export interface MpUnreach {
  afi: 1 | 2;
  safi: number;
  withdrawn: Prefix[];
}

/** MP_REACH / MP_UNREACH of a family the parser does not decode: counted by (afi, safi), never dropped silently. */
export interface OtherFamily {
  attribute: 'mp-reach' | 'mp-unreach';
  afi: number;
  safi: number;
  /** Bytes of NLRI skipped. */
  nlriLength: number;
}

/** An attribute the parser keeps as it came (type, flags and value). */
export interface UnknownAttribute {
  type: number;
  flags: number;
  length: number;
  value: Uint8Array;
}

export interface PathAttributes {
  /** Wire value: 0 IGP, 1 EGP, 2 INCOMPLETE. */
  origin?: 0 | 1 | 2;
  /** AS_PATH with 4-octet ASNs; for a 2-octet session already merged with AS4_PATH (RFC 6793 §4.2.3). */
  asPath?: AsPathSegment[];
  /** AS_PATH as received, before the AS4_PATH merge (2-octet ASNs for a 2-octet session). */
  asPathReceived?: AsPathSegment[];
  /** AS4_PATH as received (only meaningful from a 2-octet speaker). */
  as4Path?: AsPathSegment[];
  /** NEXT_HOP (IPv4, 4 octets). */
  nextHop?: Uint8Array;
  med?: number;
  localPref?: number;
  atomicAggregate: boolean;
  /** AGGREGATOR, with AS4_AGGREGATOR applied for a 2-octet session. */
  aggregator?: Aggregator;
  as4Aggregator?: Aggregator;
  /** RFC 1997 communities as 32-bit values (asn << 16 | value), unsigned. */
  communities?: number[];
  /** RFC 4360 extended communities, 8 octets each as a big-endian 64-bit value. */
  extendedCommunities?: bigint[];
  largeCommunities?: LargeCommunity[];
  originatorId?: Uint8Array;
  clusterList?: Uint8Array[];
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  otherFamilies: OtherFamily[];
  unknown: UnknownAttribute[];
  /** Recoverable attribute errors (RFC 7606); empty for a well-formed attribute set. */
  errors: AttributeError[];
  /** RFC 7606 treat-as-withdraw: every prefix announced by this UPDATE must be handled as withdrawn. */
  treatAsWithdraw: boolean;
}

export interface Capability {
  code: number;
  value: Uint8Array;
}

export interface AddPathFamily {
  afi: number;
  safi: number;
  /** 1 receive, 2 send, 3 both (RFC 7911). */
  sendReceive: number;
}

export interface BgpOpen {
  type: 'open';
  /** Bytes the message took (header included). */
  length: number;
  version: number;
  /** The 2-octet "My Autonomous System" field (AS_TRANS 23456 for a 4-octet ASN). */
  myAs: number;
  /** The speaker's ASN: the 4-octet AS capability's value when present, else `myAs`. */
  asn: number;
  holdTime: number;
  /** 4 octets. */
  bgpId: Uint8Array;
  /** Every capability, in order, including the ones also decoded below. */
  capabilities: Capability[];
  /** 4-octet AS capability value (RFC 6793), when sent. */
  fourOctetAs?: number;
  multiprotocol: { afi: number; safi: number }[];
  addPath: AddPathFamily[];
  routeRefresh: boolean;
  /** Optional parameters other than capabilities (type, value). */
  otherParameters: { type: number; value: Uint8Array }[];
}

export interface BgpUpdate {
  type: 'update';
  length: number;
  /** IPv4 unicast withdrawn routes (MP_UNREACH ones are in `attributes.mpUnreach`). */
  withdrawn: Prefix[];
  attributes: PathAttributes;
  /** IPv4 unicast NLRI (MP_REACH ones are in `attributes.mpReach`). */
  nlri: Prefix[];
}

export interface BgpNotification {
  type: 'notification';
  length: number;
  code: number;
  subcode: number;
  data: Uint8Array;
}

export interface BgpKeepalive {
  type: 'keepalive';
  length: number;
}

export interface BgpRouteRefresh {
  type: 'route-refresh';
  length: number;
  afi: number;
  /** RFC 7313 message subtype (0 normal request, 1 BoRR, 2 EoRR). */
  subtype: number;
  safi: number;
}

export type BgpMessage = BgpOpen | BgpUpdate | BgpNotification | BgpKeepalive | BgpRouteRefresh;

export const BGP_OPEN = 1;
export const BGP_UPDATE = 2;
export const BGP_NOTIFICATION = 3;
export const BGP_KEEPALIVE = 4;
export const BGP_ROUTE_REFRESH = 5;
