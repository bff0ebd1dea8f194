/**
 * Decoded BGP routes → `kansoku.bgp.v1.RouteUpdate`: one message per prefix (an UPDATE with N prefixes gives N
 * messages), announcements with their path attributes, withdrawals without. Shared by the BMP station and the
 * MRT replay, so a route looks the same on the topic whatever fed it.
 *
 * Messages are built as plain protobuf-es literals (every field set, `$typeName` included) rather than with
 * `create()`, whose reflection cost about 25 µs per route; `toBinary`, `fromBinary` and the hand-written
 * encoder (route-update-codec.ts) treat them the same.
 *
 * Only IPv4 and IPv6 unicast are published: the RIB processor and IP → AS work on those. Other families
 * (multicast, VPN, EVPN, flowspec, …) are returned to the caller, which counts them per router.
 */

import {
  type AsPathSegment as AsPathSegmentMessage,
  type FeedSource,
  type LargeCommunity as LargeCommunityMessage,
  type Peer,
  type PeerType,
  type RibType,
  RouteAction,
  type RouteUpdate,
} from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { originAs } from '../decoders/bgp/as-path.ts';
import { updateRoutes } from '../decoders/bgp/routes.ts';
import {
  AFI_IPV4,
  AFI_IPV6,
  type BgpUpdate,
  type PathAttributes,
  type Prefix,
  SAFI_UNICAST,
} from '../decoders/bgp/types.ts';
import { encodeRouteAttributes, encodeRouteHead, type RouteUpdateBatchWriter } from './route-update-codec.ts';

/** Where the routes of one message come from: the same for each prefix of the message. */
export interface RouteContext {
  timeReceivedNs: bigint;
  timeObservedNs: bigint;
  routerAddress: Uint8Array;
  peer: Peer;
  ribType: RibType;
  source: FeedSource;
}

/** A family that is not published (anything but IPv4/IPv6 unicast), with the number of prefixes or NLRI bytes. */
export interface SkippedFamily {
  afi: number;
  safi: number;
  /** Prefixes decoded but not published (multicast), or 0 when the family's NLRI were not decoded. */
  prefixes: number;
}

export interface MappedUpdate {
  updates: RouteUpdate[];
  announced: number;
  withdrawn: number;
  skipped: SkippedFamily[];
  /** The UPDATE was an End-of-RIB marker for this family (nothing published; RFC 4724). */
  endOfRib?: { afi: number; safi: number };
}

const EMPTY = new Uint8Array(0);

export function peerMessage(fields: {
  address: Uint8Array;
  asn: number;
  bgpId: Uint8Array;
  distinguisher: bigint;
  type: PeerType;
}): Peer {
  return {
    $typeName: 'kansoku.bgp.v1.Peer',
    address: fields.address,
    asn: fields.asn,
    bgpId: fields.bgpId,
    distinguisher: fields.distinguisher,
    type: fields.type,
  };
}

/** The attribute fields of an announcement, built once per UPDATE and shared by its prefixes' messages. */
interface AnnouncedAttributes {
  asPath: AsPathSegmentMessage[];
  originAs: number;
  communities: number[];
  largeCommunities: LargeCommunityMessage[];
  extendedCommunities: bigint[];
  localPref?: number;
  med?: number;
  origin: number;
  atomicAggregate: boolean;
}

export function announcedAttributes(attributes: PathAttributes): AnnouncedAttributes {
  const path = attributes.asPath ?? [];
  const out: AnnouncedAttributes = {
    asPath: path.map((segment) => ({
      $typeName: 'kansoku.bgp.v1.AsPathSegment' as const,
      type: segment.type,
      asns: segment.asns,
    })),
    originAs: originAs(path) ?? 0,
    communities: attributes.communities ?? [],
    largeCommunities: (attributes.largeCommunities ?? []).map((community) => ({
      $typeName: 'kansoku.bgp.v1.LargeCommunity' as const,
      globalAdministrator: community.globalAdministrator,
      localData1: community.localData1,
      localData2: community.localData2,
    })),
    extendedCommunities: attributes.extendedCommunities ?? [],
    // Wire 0/1/2 → enum 1/2/3 (the proto keeps 0 for "absent").
    origin: attributes.origin === undefined ? 0 : attributes.origin + 1,
    atomicAggregate: attributes.atomicAggregate,
  };
  if (attributes.localPref !== undefined) out.localPref = attributes.localPref;
  if (attributes.med !== undefined) out.med = attributes.med;
  return out;
}

function published(prefix: Prefix, safi: number): boolean {
  return safi === SAFI_UNICAST && (prefix.afi === AFI_IPV4 || prefix.afi === AFI_IPV6);
}

export function announcement(
  context: RouteContext,
  prefix: Prefix,
  nextHop: Uint8Array,
  attributes: AnnouncedAttributes,
): RouteUpdate {
  const update: RouteUpdate = {
    $typeName: 'kansoku.bgp.v1.RouteUpdate',
    timeReceivedNs: context.timeReceivedNs,
    timeObservedNs: context.timeObservedNs,
    routerAddress: context.routerAddress,
    peer: context.peer,
    ribType: context.ribType,
    source: context.source,
    action: RouteAction.ANNOUNCE,
    afi: prefix.afi,
    safi: SAFI_UNICAST,
    prefix: prefix.address,
    prefixLength: prefix.length,
    pathId: prefix.pathId ?? 0,
    asPath: attributes.asPath,
    originAs: attributes.originAs,
    nextHopAddress: nextHop,
    communities: attributes.communities,
    largeCommunities: attributes.largeCommunities,
    extendedCommunities: attributes.extendedCommunities,
    origin: attributes.origin,
    atomicAggregate: attributes.atomicAggregate,
  };
  if (attributes.localPref !== undefined) update.localPref = attributes.localPref;
  if (attributes.med !== undefined) update.med = attributes.med;
  return update;
}

export function withdrawal(context: RouteContext, prefix: Prefix): RouteUpdate {
  return {
    $typeName: 'kansoku.bgp.v1.RouteUpdate',
    timeReceivedNs: context.timeReceivedNs,
    timeObservedNs: context.timeObservedNs,
    routerAddress: context.routerAddress,
    peer: context.peer,
    ribType: context.ribType,
    source: context.source,
    action: RouteAction.WITHDRAW,
    afi: prefix.afi,
    safi: SAFI_UNICAST,
    prefix: prefix.address,
    prefixLength: prefix.length,
    pathId: prefix.pathId ?? 0,
    asPath: [],
    originAs: 0,
    nextHopAddress: EMPTY,
    communities: [],
    largeCommunities: [],
    extendedCommunities: [],
    origin: 0,
    atomicAggregate: false,
  };
}

function addSkipped(skipped: SkippedFamily[], afi: number, safi: number, prefixes: number): void {
  const existing = skipped.find((family) => family.afi === afi && family.safi === safi);
  if (existing) existing.prefixes += prefixes;
  else skipped.push({ afi, safi, prefixes });
}

/**
 * The RouteUpdates of one BGP UPDATE, withdrawals first (as in the UPDATE's wire order, so an UPDATE that
 * withdraws and re-announces a prefix leaves it announced). RFC 7606 treat-as-withdraw turns the UPDATE's
 * announcements into withdrawals (`updateRoutes`).
 */
export function routeUpdatesOf(update: BgpUpdate, context: RouteContext): MappedUpdate {
  const routes = updateRoutes(update);
  const out: MappedUpdate = { updates: [], announced: 0, withdrawn: 0, skipped: [] };
  const { attributes } = update;
  const unreachSafi = attributes.mpUnreach?.safi ?? SAFI_UNICAST;
  const ipv4Withdrawn = update.withdrawn.length;
  for (let i = 0; i < routes.withdrawn.length; i++) {
    const prefix = routes.withdrawn[i]!;
    // Withdrawn list order: IPv4 withdrawn, MP_UNREACH, then (treat-as-withdraw) announced ones.
    const safi = safiOfWithdrawn(i, ipv4Withdrawn, attributes, unreachSafi, update);
    if (!published(prefix, safi)) {
      addSkipped(out.skipped, prefix.afi, safi, 1);
      continue;
    }
    out.updates.push(withdrawal(context, prefix));
    out.withdrawn++;
  }
  if (routes.announced.length > 0) {
    const shared = announcedAttributes(attributes);
    for (const prefix of update.nlri) {
      out.updates.push(announcement(context, prefix, attributes.nextHop ?? EMPTY, shared));
      out.announced++;
    }
    const reach = attributes.mpReach;
    if (reach !== undefined) {
      for (const prefix of reach.nlri) {
        if (!published(prefix, reach.safi)) {
          addSkipped(out.skipped, prefix.afi, reach.safi, 1);
          continue;
        }
        out.updates.push(announcement(context, prefix, reach.nextHop, shared));
        out.announced++;
      }
    }
  }
  for (const other of attributes.otherFamilies) addSkipped(out.skipped, other.afi, other.safi, 0);
  if (routes.endOfRib) out.endOfRib = routes.endOfRib;
  return out;
}

function safiOfWithdrawn(
  index: number,
  ipv4Withdrawn: number,
  attributes: PathAttributes,
  unreachSafi: number,
  update: BgpUpdate,
): number {
  if (index < ipv4Withdrawn) return SAFI_UNICAST;
  const unreachCount = attributes.mpUnreach?.withdrawn.length ?? 0;
  if (index < ipv4Withdrawn + unreachCount) return unreachSafi;
  // Treat-as-withdraw: the UPDATE's IPv4 NLRI (unicast), then MP_REACH NLRI.
  const announcedIndex = index - ipv4Withdrawn - unreachCount;
  return announcedIndex < update.nlri.length ? SAFI_UNICAST : (attributes.mpReach?.safi ?? SAFI_UNICAST);
}

/** `routeUpdatesOf` as wire bytes: what the station publishes. */
export interface EncodedUpdate {
  /** One encoded RouteUpdate per published prefix, in `routeUpdatesOf`'s order (views of one buffer). */
  values: Uint8Array[];
  announced: number;
  withdrawn: number;
  skipped: SkippedFamily[];
  endOfRib?: { afi: number; safi: number };
}

/**
 * The same messages as `routeUpdatesOf(update, context).updates.map(encodeRouteUpdate)`, without building a
 * RouteUpdate per prefix: the fields before the prefix (time, router, peer, RIB, action, family) are encoded
 * once per UPDATE and family, the path attributes once per UPDATE and next hop, and each prefix's message is
 * those bytes copied around its own prefix, length and path id (`RouteUpdateBatchWriter`). Protobuf writes
 * fields in number order and the prefix fields (10-12) sit between the two groups, so the concatenation is
 * exactly what `toBinary` writes (tested on the captures).
 */
export function encodedRouteUpdatesOf(
  update: BgpUpdate,
  context: RouteContext,
  writer: RouteUpdateBatchWriter,
): EncodedUpdate {
  const routes = updateRoutes(update);
  const out: EncodedUpdate = { values: [], announced: 0, withdrawn: 0, skipped: [] };
  const { attributes } = update;
  const heads: (Uint8Array | undefined)[] = [undefined, undefined, undefined, undefined];
  const head = (action: RouteAction, afi: 1 | 2): Uint8Array => {
    const index = (action === RouteAction.ANNOUNCE ? 2 : 0) + afi - 1;
    let bytes = heads[index];
    if (bytes === undefined) {
      bytes = encodeRouteHead({
        timeReceivedNs: context.timeReceivedNs,
        timeObservedNs: context.timeObservedNs,
        routerAddress: context.routerAddress,
        peer: context.peer,
        ribType: context.ribType,
        source: context.source,
        action,
        afi,
        safi: SAFI_UNICAST,
      });
      heads[index] = bytes;
    }
    return bytes;
  };
  writer.reset();
  const unreachSafi = attributes.mpUnreach?.safi ?? SAFI_UNICAST;
  const ipv4Withdrawn = update.withdrawn.length;
  for (let i = 0; i < routes.withdrawn.length; i++) {
    const prefix = routes.withdrawn[i]!;
    const safi = safiOfWithdrawn(i, ipv4Withdrawn, attributes, unreachSafi, update);
    if (!published(prefix, safi)) {
      addSkipped(out.skipped, prefix.afi, safi, 1);
      continue;
    }
    writer.add(
      head(RouteAction.WITHDRAW, prefix.afi),
      prefix.address,
      prefix.length,
      prefix.pathId ?? 0,
      EMPTY,
    );
    out.withdrawn++;
  }
  if (routes.announced.length > 0) {
    const shared = announcedAttributes(attributes);
    if (update.nlri.length > 0) {
      const tail = encodeRouteAttributes({ ...shared, nextHopAddress: attributes.nextHop ?? EMPTY });
      for (const prefix of update.nlri) {
        writer.add(
          head(RouteAction.ANNOUNCE, prefix.afi),
          prefix.address,
          prefix.length,
          prefix.pathId ?? 0,
          tail,
        );
        out.announced++;
      }
    }
    const reach = attributes.mpReach;
    if (reach !== undefined && reach.nlri.length > 0) {
      const tail = encodeRouteAttributes({ ...shared, nextHopAddress: reach.nextHop });
      for (const prefix of reach.nlri) {
        if (!published(prefix, reach.safi)) {
          addSkipped(out.skipped, prefix.afi, reach.safi, 1);
          continue;
        }
        writer.add(
          head(RouteAction.ANNOUNCE, prefix.afi),
          prefix.address,
          prefix.length,
          prefix.pathId ?? 0,
          tail,
        );
        out.announced++;
      }
    }
  }
  if (writer.count > 0) out.values = writer.take();
  for (const other of attributes.otherFamilies) addSkipped(out.skipped, other.afi, other.safi, 0);
  if (routes.endOfRib) out.endOfRib = routes.endOfRib;
  return out;
}
