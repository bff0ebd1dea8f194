/**
 * What the station publishes (RouteUpdate, PeerEvent), reduced to the fields pmacct's BMP JSON also has and
 * formatted as test/decoders/bmp/pmacct.ts formats pmacct's, so a test compares the two as sorted string lists.
 *
 * Differences by design, handled here and nowhere else:
 * - Only IPv4/IPv6 unicast is published; pmacct's multicast routes are filtered out (`unicastOnly`).
 * - End-of-RIB markers are counted by the station, not published: not compared.
 * - The contracts leave a Loc-RIB peer's address empty (RFC 9069 has none); pmacct prints 0.0.0.0.
 * - The contracts use path id 0 for "no ADD-PATH"; pmacct prints null.
 */

import {
  type PeerEvent,
  PeerType,
  RibType,
  RouteAction,
  type RouteUpdate,
} from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { formatAsPath } from '../../src/decoders/bgp/as-path.ts';
import type { AsPathSegment } from '../../src/decoders/bgp/types.ts';
import { type Comparable, formatRouteDistinguisher } from '../decoders/bmp/pmacct.ts';

const RIB_NAMES: Record<number, string> = {
  [RibType.ADJ_RIB_IN_PRE_POLICY]: 'Adj-Rib-In Pre-Policy',
  [RibType.ADJ_RIB_IN_POST_POLICY]: 'Adj-Rib-In Post-Policy',
  [RibType.ADJ_RIB_OUT_PRE_POLICY]: 'Adj-Rib-Out Pre-Policy',
  [RibType.ADJ_RIB_OUT_POST_POLICY]: 'Adj-Rib-Out Post-Policy',
  [RibType.LOC_RIB]: 'Loc-Rib',
};

const ORIGINS = [null, 'i', 'e', '?'] as const;

function pick(record: Record<string, unknown>, keys: readonly string[]): string {
  return JSON.stringify(Object.fromEntries(keys.map((key) => [key, record[key] ?? null])));
}

const PEER_KEYS = ['peer_ip', 'peer_asn', 'bgp_id', 'bmp_rib_type', 'rd', 'timestamp'] as const;
const PEER_UP_KEYS = [
  ...PEER_KEYS,
  'peer_type',
  'local_ip',
  'local_port',
  'remote_port',
  'local_as',
] as const;
const PEER_DOWN_KEYS = [...PEER_KEYS, 'peer_type', 'reason_type', 'reason_loc_code'] as const;
const STATS_KEYS = [...PEER_KEYS, 'counter_type', 'counter_value', 'afi', 'safi'] as const;
const ROUTE_KEYS = [...PEER_KEYS, 'log_type', 'afi', 'safi', 'ip_prefix', 'as_path_id'] as const;
const ANNOUNCE_KEYS = [
  ...ROUTE_KEYS,
  'bgp_nexthop',
  'as_path',
  'comms',
  'lcomms',
  'origin',
  'local_pref',
  'med',
] as const;

function unmapped(text: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/.test(text) ? text.slice('::ffff:'.length) : text;
}

function time(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const micros = (ns % 1_000_000_000n) / 1000n;
  return `${seconds}.${String(micros).padStart(6, '0')}`;
}

function peerFields(
  message: { peer?: RouteUpdate['peer']; timeObservedNs: bigint },
  ribType: number | undefined,
) {
  const peer = message.peer!;
  const locRib = peer.type === PeerType.LOC_RIB_INSTANCE;
  return {
    peer_ip: locRib && peer.address.length === 0 ? '0.0.0.0' : formatIpAddress(peer.address),
    peer_asn: peer.asn,
    bgp_id: formatIpAddress(peer.bgpId),
    // pmacct names peer events' RIB from the per-peer header flags, as the station's ribType does for routes.
    bmp_rib_type: ribType === undefined ? undefined : RIB_NAMES[ribType],
    rd: formatRouteDistinguisher(peer.distinguisher),
    timestamp: time(message.timeObservedNs),
  };
}

export interface ContractsComparable extends Comparable {
  /** Withdrawals of routes the same peer and RIB had not announced before (pmacct does not log those). */
  withdrawnUnknown: string[];
}

/** Our messages in the shape compared. Peer events have no RIB type in the contracts (see `unicastOnly`). */
export function contractsComparable(
  updates: readonly RouteUpdate[],
  events: readonly PeerEvent[],
): ContractsComparable {
  const out: ContractsComparable = {
    peerUp: [],
    peerDown: [],
    stats: [],
    announce: [],
    withdraw: [],
    endOfRib: [],
    withdrawnUnknown: [],
  };
  for (const event of events) {
    const peer = { ...peerFields(event, undefined), peer_type: event.peer!.type - 1 };
    switch (event.detail.case) {
      case 'up': {
        const up = event.detail.value;
        out.peerUp.push(
          pick(
            {
              ...peer,
              local_ip: formatIpAddress(up.localAddress),
              local_port: up.localPort,
              remote_port: up.remotePort,
              local_as: up.localAsn,
            },
            PEER_UP_KEYS,
          ),
        );
        break;
      }
      case 'down': {
        const down = event.detail.value;
        out.peerDown.push(
          pick(
            {
              ...peer,
              reason_type: down.reason,
              reason_loc_code: down.reason === 2 ? down.fsmEventCode : null,
            },
            PEER_DOWN_KEYS,
          ),
        );
        break;
      }
      case 'stats':
        for (const stat of event.detail.value.stats) {
          out.stats.push(
            pick(
              {
                ...peer,
                counter_type: stat.statType,
                counter_value: Number(stat.value),
                afi: stat.family?.afi ?? null,
                safi: stat.family?.safi ?? null,
              },
              STATS_KEYS,
            ),
          );
        }
        break;
      default:
        break;
    }
  }
  const rib = new Set<string>();
  for (const update of updates) {
    const peer = peerFields(update, update.ribType);
    const route = {
      ...peer,
      afi: update.afi,
      safi: update.safi,
      ip_prefix: `${formatIpAddress(update.prefix)}/${update.prefixLength}`,
      as_path_id: update.pathId === 0 ? null : update.pathId,
    };
    const key = JSON.stringify([
      { ...peer, timestamp: undefined },
      route.safi,
      route.ip_prefix,
      route.as_path_id,
    ]);
    if (update.action === RouteAction.ANNOUNCE) {
      rib.add(key);
      out.announce.push(
        pick(
          {
            ...route,
            log_type: 'update',
            bgp_nexthop:
              update.nextHopAddress.length === 0 ? null : unmapped(formatIpAddress(update.nextHopAddress)),
            as_path: formatAsPath(update.asPath as unknown as AsPathSegment[]),
            comms: [...update.communities]
              .sort((a, b) => a - b)
              .map((c) => `${c >>> 16}:${c & 0xffff}`)
              .join(' '),
            lcomms: update.largeCommunities
              .map((c) => `${c.globalAdministrator}:${c.localData1}:${c.localData2}`)
              .join(' '),
            origin: ORIGINS[update.origin] ?? null,
            local_pref: update.localPref ?? null,
            med: update.med ?? null,
          },
          ANNOUNCE_KEYS,
        ),
      );
    } else {
      const line = pick({ ...route, log_type: 'withdraw' }, ROUTE_KEYS);
      if (rib.delete(key)) out.withdraw.push(line);
      else out.withdrawnUnknown.push(line);
    }
  }
  for (const list of Object.values(out) as string[][]) list.sort();
  return out;
}

/**
 * pmacct's comparable without what the contracts do not carry: multicast routes, End-of-RIB markers, and the
 * RIB type of peer events (a router sends a Peer Up per RIB it monitors for a peer, pre- and post-policy; the
 * PeerEvent is about the peer's session, so both give the same event, and the lists still match as multisets).
 */
export function unicastOnly(comparable: Comparable): Comparable {
  const unicast = (line: string) => (JSON.parse(line) as { safi: number }).safi === 1;
  const noRib = (lines: string[]) =>
    lines.map((line) => JSON.stringify({ ...JSON.parse(line), bmp_rib_type: null })).sort();
  return {
    peerUp: noRib(comparable.peerUp),
    peerDown: noRib(comparable.peerDown),
    stats: noRib(comparable.stats),
    announce: comparable.announce.filter(unicast),
    withdraw: comparable.withdraw.filter(unicast),
    endOfRib: [],
  };
}
