/**
 * MRT records → contracts.
 *
 * - TABLE_DUMP and TABLE_DUMP_V2 RIB entries → one ANNOUNCE per (peer, prefix, path id): a RIB load.
 * - BGP4MP UPDATEs received from a peer → ANNOUNCE/WITHDRAW per prefix, as the station does for BMP.
 * - BGP4MP state changes into Established → PEER_EVENT_TYPE_UP; out of Established → PEER_EVENT_TYPE_DOWN;
 *   other FSM transitions (Idle → Connect, …) say nothing about routes and are only counted.
 *
 * RIB type: both are published as RIB_TYPE_LOC_RIB (the proto's choice for TABLE_DUMP_V2 entries), so a bview
 * and the updates files that follow it compose into the same per-peer table. The router address is the
 * collector's: the PEER_INDEX_TABLE's collector BGP identifier for TABLE_DUMP_V2, the session's local address
 * for BGP4MP and TABLE_DUMP, unless the replay names one (`--router`), which is what composes a bview and
 * its updates under one router.
 */

import { create } from '@bufbuild/protobuf';
import {
  FeedSource,
  type Peer,
  type PeerEvent,
  PeerEventSchema,
  PeerEventType,
  PeerType,
  RibType,
  type RouteUpdate,
} from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { AFI_IPV4, AFI_IPV6, SAFI_UNICAST } from '../decoders/bgp/types.ts';
import type {
  Bgp4mpMessageRecord,
  Bgp4mpPeering,
  Bgp4mpStateChangeRecord,
  MrtHeader,
  RibRecord,
  TableDumpRecord,
} from '../decoders/mrt/types.ts';
import {
  announcedAttributes,
  announcement,
  type MappedUpdate,
  peerMessage,
  type RouteContext,
  routeUpdatesOf,
} from '../station/route-updates.ts';

/** BGP FSM state 6 (RFC 4271 §8.2.2; MRT numbers states the same way). */
export const BGP_STATE_ESTABLISHED = 6;

const EMPTY = new Uint8Array(0);

export function observedNsOf(header: MrtHeader): bigint {
  return BigInt(header.timestamp) * 1_000_000_000n + BigInt(header.microseconds ?? 0) * 1000n;
}

export interface MrtMappingContext {
  timeReceivedNs: bigint;
  /** The router to publish as; empty: the dump's own (see above). */
  routerAddress: Uint8Array;
  /** TABLE_DUMP_V2 collector BGP identifier from the last PEER_INDEX_TABLE. */
  collectorBgpId?: Uint8Array;
}

/** Peers are built once per (address, AS, BGP id) and shared by their messages. */
export class PeerCache {
  readonly #peers = new Map<string, Peer>();

  of(address: Uint8Array, asn: number, bgpId: Uint8Array | undefined): Peer {
    const key = `${Buffer.from(address).toString('hex')}|${asn}|${bgpId ? Buffer.from(bgpId).toString('hex') : ''}`;
    let peer = this.#peers.get(key);
    if (peer === undefined) {
      peer = peerMessage({
        address,
        asn,
        bgpId: bgpId ?? EMPTY,
        distinguisher: 0n,
        type: PeerType.GLOBAL_INSTANCE,
      });
      this.#peers.set(key, peer);
    }
    return peer;
  }
}

function routerOf(context: MrtMappingContext, fallback: Uint8Array | undefined): Uint8Array {
  if (context.routerAddress.length > 0) return context.routerAddress;
  return fallback ?? EMPTY;
}

function unicast(afi: number, safi: number): boolean {
  return safi === SAFI_UNICAST && (afi === AFI_IPV4 || afi === AFI_IPV6);
}

function ribContext(
  context: MrtMappingContext,
  header: MrtHeader,
  peer: Peer,
  router: Uint8Array,
  source: FeedSource,
): RouteContext {
  return {
    timeReceivedNs: context.timeReceivedNs,
    timeObservedNs: observedNsOf(header),
    routerAddress: router,
    peer,
    ribType: RibType.LOC_RIB,
    source,
  };
}

function entryAnnouncement(
  context: RouteContext,
  record: { afi: number },
  prefix: RibRecord['prefix'],
  attributes: RibRecord['entries'][number]['attributes'],
): RouteUpdate {
  // TABLE_DUMP_V2 IPv6 entries carry the next hop in an abbreviated MP_REACH_NLRI (RFC 6396 §4.3.4).
  const nextHop =
    (record.afi === AFI_IPV6 ? attributes.mpReach?.nextHop : attributes.nextHop) ??
    attributes.nextHop ??
    attributes.mpReach?.nextHop ??
    EMPTY;
  return announcement(context, prefix, nextHop, announcedAttributes(attributes));
}

/** A TABLE_DUMP_V2 RIB record: one ANNOUNCE per entry (peer), or the family skipped when not unicast. */
export function ribRecordUpdates(
  record: RibRecord,
  context: MrtMappingContext,
  peers: PeerCache,
): MappedUpdate {
  const out: MappedUpdate = { updates: [], announced: 0, withdrawn: 0, skipped: [] };
  if (!unicast(record.afi, record.safi)) {
    out.skipped.push({ afi: record.afi, safi: record.safi, prefixes: record.entries.length });
    return out;
  }
  const router = routerOf(context, context.collectorBgpId);
  for (const entry of record.entries) {
    const peer = peers.of(entry.peer.address, entry.peer.asn, entry.peer.bgpId);
    const prefix = entry.pathId === undefined ? record.prefix : { ...record.prefix, pathId: entry.pathId };
    out.updates.push(
      entryAnnouncement(
        ribContext(context, record.header, peer, router, FeedSource.MRT_TABLE_DUMP_V2),
        record,
        prefix,
        entry.attributes,
      ),
    );
    out.announced++;
  }
  return out;
}

/** A TABLE_DUMP (v1) record: one ANNOUNCE per entry. The format has no collector address; see `--router`. */
export function tableDumpUpdates(
  record: TableDumpRecord,
  context: MrtMappingContext,
  peers: PeerCache,
): MappedUpdate {
  const out: MappedUpdate = { updates: [], announced: 0, withdrawn: 0, skipped: [] };
  const router = routerOf(context, undefined);
  for (const entry of record.entries) {
    // TABLE_DUMP's subtype is the AFI; the format is unicast only.
    const peer = peers.of(entry.peer.address, entry.peer.asn, entry.peer.bgpId);
    out.updates.push(
      entryAnnouncement(
        ribContext(context, record.header, peer, router, FeedSource.MRT_TABLE_DUMP_V2),
        { afi: entry.prefix.afi },
        entry.prefix,
        entry.attributes,
      ),
    );
    out.announced++;
  }
  return out;
}

function bgp4mpPeer(peering: Bgp4mpPeering, peers: PeerCache): Peer {
  return peers.of(peering.peerAddress, peering.peerAs, undefined);
}

/** A BGP4MP message: the UPDATEs a peer sent, per prefix; other BGP messages give nothing. */
export function bgp4mpUpdates(
  record: Bgp4mpMessageRecord,
  context: MrtMappingContext,
  peers: PeerCache,
): MappedUpdate {
  if (record.message.type !== 'update' || record.local) {
    return { updates: [], announced: 0, withdrawn: 0, skipped: [] };
  }
  const route = ribContext(
    context,
    record.header,
    bgp4mpPeer(record, peers),
    routerOf(context, record.localAddress),
    FeedSource.MRT_BGP4MP,
  );
  return routeUpdatesOf(record.message, route);
}

/** A BGP4MP state change into or out of Established, as a peer event; undefined for other transitions. */
export function bgp4mpStateEvent(
  record: Bgp4mpStateChangeRecord,
  context: MrtMappingContext,
  peers: PeerCache,
): PeerEvent | undefined {
  const up = record.newState === BGP_STATE_ESTABLISHED && record.oldState !== BGP_STATE_ESTABLISHED;
  const down = record.oldState === BGP_STATE_ESTABLISHED && record.newState !== BGP_STATE_ESTABLISHED;
  if (!up && !down) return undefined;
  const base = {
    timeReceivedNs: context.timeReceivedNs,
    timeObservedNs: observedNsOf(record.header),
    routerAddress: routerOf(context, record.localAddress),
    peer: bgp4mpPeer(record, peers),
    source: FeedSource.MRT_BGP4MP,
  };
  if (up) {
    return create(PeerEventSchema, {
      ...base,
      type: PeerEventType.UP,
      detail: {
        case: 'up',
        value: { localAddress: record.localAddress, localAsn: record.localAs, addPathFamilies: [] },
      },
    });
  }
  return create(PeerEventSchema, {
    ...base,
    type: PeerEventType.DOWN,
    detail: { case: 'down', value: { reason: 0 } },
  });
}
