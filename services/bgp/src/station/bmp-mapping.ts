/**
 * Decoded BMP messages → contracts: Route Monitoring → RouteUpdates (route-updates.ts), Peer Up / Peer Down /
 * Statistics Report → PeerEvent. The router address is the BMP speaker's (the TCP peer of the station).
 */

import { create } from '@bufbuild/protobuf';
import {
  AddressFamilySchema,
  FeedSource,
  type Peer,
  type PeerEvent,
  PeerEventSchema,
  PeerEventType,
  PeerStatSchema,
  PeerType,
  RibType,
} from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import type {
  AddPathFamilies,
  BmpPeerDown,
  BmpPeerHeader,
  BmpPeerType,
  BmpPeerUp,
  RibType as BmpRibType,
  BmpRouteMonitoring,
  BmpStatisticsReport,
} from '../decoders/bmp/types.ts';
import type { RouteUpdateBatchWriter } from './route-update-codec.ts';
import {
  type EncodedUpdate,
  encodedRouteUpdatesOf,
  type MappedUpdate,
  peerMessage,
  type RouteContext,
  routeUpdatesOf,
} from './route-updates.ts';

const PEER_TYPES: Record<BmpPeerType, PeerType> = {
  'global-instance': PeerType.GLOBAL_INSTANCE,
  'rd-instance': PeerType.RD_INSTANCE,
  'local-instance': PeerType.LOCAL_INSTANCE,
  'loc-rib-instance': PeerType.LOC_RIB_INSTANCE,
};

const RIB_TYPES: Record<BmpRibType, RibType> = {
  'adj-rib-in-pre': RibType.ADJ_RIB_IN_PRE_POLICY,
  'adj-rib-in-post': RibType.ADJ_RIB_IN_POST_POLICY,
  'adj-rib-out-pre': RibType.ADJ_RIB_OUT_PRE_POLICY,
  'adj-rib-out-post': RibType.ADJ_RIB_OUT_POST_POLICY,
  'loc-rib': RibType.LOC_RIB,
};

const EMPTY = new Uint8Array(0);

function ipv4Bytes(dotted: string): Uint8Array {
  const parts = dotted.split('.');
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i] ?? 0);
  return out;
}

/** The per-peer header as the contracts' Peer. RFC 9069: a Loc-RIB instance has no neighbour address. */
export function peerOfHeader(header: BmpPeerHeader): Peer {
  return peerMessage({
    address: header.peerType === 'loc-rib-instance' ? EMPTY : Uint8Array.from(header.addressBytes),
    asn: header.asn,
    bgpId: ipv4Bytes(header.bgpId),
    distinguisher: header.distinguisher,
    type: PEER_TYPES[header.peerType],
  });
}

export function ribTypeOf(header: BmpPeerHeader): RibType {
  return RIB_TYPES[header.rib];
}

/** The router's time stamp of the message; zero when the router sent none. */
export function observedNs(header: BmpPeerHeader): bigint {
  return BigInt(header.timestampSeconds) * 1_000_000_000n + BigInt(header.timestampMicros) * 1000n;
}

export interface BmpMappingContext {
  /** 4 or 16 octets: the router's address (IPv4-mapped IPv6 written as IPv4). */
  routerAddress: Uint8Array;
  timeReceivedNs: bigint;
}

/** `peer`: the Peer to use (the station passes its per-connection one, built once per peer). */
export function routeMonitoringUpdates(
  message: BmpRouteMonitoring,
  context: BmpMappingContext,
  peer: Peer = peerOfHeader(message.peer),
): MappedUpdate {
  const route: RouteContext = {
    timeReceivedNs: context.timeReceivedNs,
    timeObservedNs: observedNs(message.peer),
    routerAddress: context.routerAddress,
    peer,
    ribType: ribTypeOf(message.peer),
    source: FeedSource.BMP,
  };
  return routeUpdatesOf(message.update, route);
}

/** `routeMonitoringUpdates`, encoded (what the station publishes; see `encodedRouteUpdatesOf`). */
export function routeMonitoringEncoded(
  message: BmpRouteMonitoring,
  context: BmpMappingContext,
  peer: Peer,
  writer: RouteUpdateBatchWriter,
): EncodedUpdate {
  const route: RouteContext = {
    timeReceivedNs: context.timeReceivedNs,
    timeObservedNs: observedNs(message.peer),
    routerAddress: context.routerAddress,
    peer,
    ribType: ribTypeOf(message.peer),
    source: FeedSource.BMP,
  };
  return encodedRouteUpdatesOf(message.update, route, writer);
}

function families(keys: AddPathFamilies) {
  return [...keys].map((key) => {
    const [afi, safi] = key.split('/');
    return create(AddressFamilySchema, { afi: Number(afi), safi: Number(safi) });
  });
}

function eventBase(header: BmpPeerHeader, context: BmpMappingContext, type: PeerEventType) {
  return {
    timeReceivedNs: context.timeReceivedNs,
    timeObservedNs: observedNs(header),
    routerAddress: context.routerAddress,
    peer: peerOfHeader(header),
    source: FeedSource.BMP,
    type,
  };
}

export function peerUpEvent(message: BmpPeerUp, context: BmpMappingContext): PeerEvent {
  // The hold time in use is the smaller of the two proposed (RFC 4271 §4.2).
  const holdTime = Math.min(message.sentOpen.holdTime, message.receivedOpen.holdTime);
  return create(PeerEventSchema, {
    ...eventBase(message.peer, context, PeerEventType.UP),
    detail: {
      case: 'up',
      value: {
        localAddress: Uint8Array.from(message.localAddressBytes),
        localPort: message.localPort,
        remotePort: message.remotePort,
        localAsn: message.sentOpen.asn,
        holdTimeSeconds: holdTime,
        fourOctetAsn: message.as4,
        addPathFamilies: families(message.addPathReceive),
      },
    },
  });
}

export function peerDownEvent(message: BmpPeerDown, context: BmpMappingContext): PeerEvent {
  return create(PeerEventSchema, {
    ...eventBase(message.peer, context, PeerEventType.DOWN),
    detail: {
      case: 'down',
      value: {
        // Reasons 1-6 share the proto's numbers; an unknown one is kept as its number (open enum).
        reason: message.reason,
        notificationCode: message.notification?.code ?? 0,
        notificationSubcode: message.notification?.subcode ?? 0,
        fsmEventCode: message.fsmEventCode ?? 0,
      },
    },
  });
}

/** A Statistics Report; stats of unknown type or size are left out (the caller counts them). */
export function statsEvent(message: BmpStatisticsReport, context: BmpMappingContext): PeerEvent {
  const stats = [];
  for (const stat of message.stats) {
    if (stat.kind === 'unknown') continue;
    stats.push(
      create(PeerStatSchema, {
        statType: stat.type,
        value: stat.value,
        ...(stat.kind === 'afi-safi-gauge64'
          ? { family: create(AddressFamilySchema, { afi: stat.afi, safi: stat.safi }) }
          : {}),
      }),
    );
  }
  return create(PeerEventSchema, {
    ...eventBase(message.peer, context, PeerEventType.STATS),
    detail: { case: 'stats', value: { stats } },
  });
}

/**
 * The DOWN event the station emits for a peer that was up when its router's connection closed (or the router
 * sent a Termination): the router will re-send its routes after the next Peer Up, so the processor drops
 * these. Reason: LOCAL_SYSTEM_CLOSED is the closest RFC code; the time observed is zero (the router said
 * nothing).
 */
export function connectionLostEvent(peer: Peer, context: BmpMappingContext): PeerEvent {
  return create(PeerEventSchema, {
    timeReceivedNs: context.timeReceivedNs,
    timeObservedNs: 0n,
    routerAddress: context.routerAddress,
    peer,
    source: FeedSource.BMP,
    type: PeerEventType.DOWN,
    detail: { case: 'down', value: { reason: 0 } },
  });
}
