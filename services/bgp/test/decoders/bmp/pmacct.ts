/**
 * pmacct's decoding of its own BMP test captures (`<case>__output-bmp-00.json`, one JSON object per line), as
 * a second opinion, and ours of the same captures, both reduced to the fields the two have in common and
 * formatted the same way, so a test compares them as sorted lists of strings.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { formatAsPath } from '../../../src/decoders/bgp/as-path.ts';
import { formatPrefix } from '../../../src/decoders/bgp/prefix.ts';
import { updateRoutes } from '../../../src/decoders/bgp/routes.ts';
import type { Prefix } from '../../../src/decoders/bgp/types.ts';
import type { BmpMessage, BmpPeerHeader, RibType } from '../../../src/decoders/bmp/index.ts';
import { bmpCaptures } from './captures.ts';

export type PmacctRecord = Record<string, unknown>;

export function readPmacctOutput(caseName: string): PmacctRecord[] {
  return readFileSync(join(bmpCaptures, `${caseName}__output-bmp-00.json`), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as PmacctRecord);
}

const RIB_NAMES: Record<RibType, string> = {
  'adj-rib-in-pre': 'Adj-Rib-In Pre-Policy',
  'adj-rib-in-post': 'Adj-Rib-In Post-Policy',
  'adj-rib-out-pre': 'Adj-Rib-Out Pre-Policy',
  'adj-rib-out-post': 'Adj-Rib-Out Post-Policy',
  'loc-rib': 'Loc-Rib',
};

const PEER_TYPE_CODES = {
  'global-instance': 0,
  'rd-instance': 1,
  'local-instance': 2,
  'loc-rib-instance': 3,
};

/** A route distinguisher as pmacct prints it, `type:administrator:assigned` (RFC 4364 §4.2); null for zero. */
export function formatRouteDistinguisher(rd: bigint): string | null {
  if (rd === 0n) return null;
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(rd);
  const type = bytes.readUInt16BE(0);
  if (type === 0) return `0:${bytes.readUInt16BE(2)}:${bytes.readUInt32BE(4)}`;
  if (type === 1) return `1:${bytes.subarray(2, 6).join('.')}:${bytes.readUInt16BE(6)}`;
  return `${type}:${bytes.readUInt32BE(2)}:${bytes.readUInt16BE(6)}`;
}

/** pmacct's `seconds.micros` of the per-peer header time. */
function formatTime(peer: BmpPeerHeader): string {
  return `${peer.timestampSeconds}.${String(peer.timestampMicros).padStart(6, '0')}`;
}

function peerFields(peer: BmpPeerHeader) {
  return {
    peer_ip: peer.address,
    peer_asn: peer.asn,
    bgp_id: peer.bgpId,
    bmp_rib_type: RIB_NAMES[peer.rib],
    rd: formatRouteDistinguisher(peer.distinguisher),
    timestamp: formatTime(peer),
  };
}

/** pmacct's lists come as arrays in some cases and space-joined strings in others; null or empty when none. */
function list(value: unknown): string {
  if (value === null || value === undefined) return '';
  return Array.isArray(value) ? value.join(' ') : String(value);
}

function pick(record: PmacctRecord, keys: readonly string[]): string {
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
const EOR_KEYS = [...PEER_KEYS, 'afi', 'safi'] as const;
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

/** Families the BGP parser decodes (IPv4/IPv6 unicast and multicast); pmacct's VPN and labelled ones are left out. */
export function decodedFamily(record: PmacctRecord): boolean {
  return (record.afi === 1 || record.afi === 2) && (record.safi === 1 || record.safi === 2);
}

export interface Comparable {
  peerUp: string[];
  peerDown: string[];
  stats: string[];
  /** Announcements, with their attributes. */
  announce: string[];
  /** Withdrawals (pmacct repeats the withdrawn route's stored attributes; only the route is compared). */
  withdraw: string[];
  endOfRib: string[];
}

/** Ours only: withdrawals of a route the same peer and RIB never announced before in the capture. */
export interface OurComparable extends Comparable {
  withdrawnUnknown: string[];
}

function emptyComparable(): Comparable {
  return { peerUp: [], peerDown: [], stats: [], announce: [], withdraw: [], endOfRib: [] };
}

function sorted(comparable: Comparable): Comparable {
  for (const list of Object.values(comparable) as string[][]) list.sort();
  return comparable;
}

/** pmacct's records of one router (by its address in the JSON), in the shape compared. */
export function pmacctComparable(records: readonly PmacctRecord[], router: string): Comparable {
  const out = emptyComparable();
  for (const raw of records) {
    if (raw.bmp_router !== router || raw.event_type !== 'log') continue;
    const record: PmacctRecord = {
      ...raw,
      as_path: list(raw.as_path),
      comms: list(raw.comms),
      lcomms: list(raw.lcomms),
      bgp_nexthop: unmapped(raw.bgp_nexthop),
    };
    switch (record.bmp_msg_type) {
      case 'peer_up':
        // pmacct numbers peer types 0-3 as RFC 7854 and RFC 9069 do.
        out.peerUp.push(pick(record, PEER_UP_KEYS));
        break;
      case 'peer_down':
        out.peerDown.push(pick(record, PEER_DOWN_KEYS));
        break;
      case 'stats':
        out.stats.push(pick(record, STATS_KEYS));
        break;
      case 'route_monitor':
        if (!decodedFamily(record)) break;
        if (record.log_type === 'update') out.announce.push(pick(record, ANNOUNCE_KEYS));
        else if (record.log_type === 'withdraw') out.withdraw.push(pick(record, ROUTE_KEYS));
        else if (record.log_type === 'end-of-rib') out.endOfRib.push(pick(record, EOR_KEYS));
        break;
    }
  }
  return sorted(out);
}

const ORIGINS = ['i', 'e', '?'] as const;

/**
 * Deviation: pmacct turns next hops between their 4-octet and IPv4-mapped IPv6 forms. In 204's Loc-RIB, an
 * IPv4 route's 4-octet MP_REACH next hop (`00 01 01 04 cb 00 71 36`) prints as `::ffff:203.0.113.54`, and an
 * IPv6 route's 16-octet `::ffff:203.0.113.23` prints as `203.0.113.23`. We report the octets sent; both sides
 * are compared with an IPv4-mapped address written as the IPv4 address it maps.
 */
function unmapped(nextHop: unknown): unknown {
  return typeof nextHop === 'string' && /^::ffff:\d+\.\d+\.\d+\.\d+$/.test(nextHop)
    ? nextHop.slice('::ffff:'.length)
    : nextHop;
}

function nextHopText(bytes: Uint8Array | undefined): unknown {
  return bytes === undefined ? null : unmapped(formatIpAddress(bytes));
}

/**
 * Our decoding of one router's messages, in the shape compared. Deviation: pmacct logs a withdrawal only
 * for a route in its RIB, so a withdrawal of a route never announced (204's Loc-RIB instance 2:4226809946:12
 * withdraws 192.0.2.11/32 and 192.0.2.73/32 at 1705334748, before it first announces them at 1705334940)
 * goes to `withdrawnUnknown` instead; the test pins that list.
 */
export function ourComparable(messages: readonly BmpMessage[]): OurComparable {
  const out: OurComparable = { ...emptyComparable(), withdrawnUnknown: [] };
  const rib = new Set<string>();
  const routeKey = (route: { ip_prefix: string; as_path_id: number | null; safi: number }, peer: object) =>
    JSON.stringify([peer, route.safi, route.ip_prefix, route.as_path_id]);
  for (const message of messages) {
    switch (message.type) {
      case 'peer-up':
        out.peerUp.push(
          pick(
            {
              ...peerFields(message.peer),
              peer_type: PEER_TYPE_CODES[message.peer.peerType],
              local_ip: message.localAddress,
              local_port: message.localPort,
              remote_port: message.remotePort,
              local_as: message.sentOpen.asn,
            },
            PEER_UP_KEYS,
          ),
        );
        break;
      case 'peer-down':
        out.peerDown.push(
          pick(
            {
              ...peerFields(message.peer),
              peer_type: PEER_TYPE_CODES[message.peer.peerType],
              reason_type: message.reason,
              reason_loc_code: message.fsmEventCode ?? null,
            },
            PEER_DOWN_KEYS,
          ),
        );
        break;
      case 'statistics-report':
        for (const stat of message.stats) {
          if (stat.kind === 'unknown') continue;
          out.stats.push(
            pick(
              {
                ...peerFields(message.peer),
                counter_type: stat.type,
                counter_value: Number(stat.value),
                afi: stat.kind === 'afi-safi-gauge64' ? stat.afi : null,
                safi: stat.kind === 'afi-safi-gauge64' ? stat.safi : null,
              },
              STATS_KEYS,
            ),
          );
        }
        break;
      case 'route-monitoring': {
        const peer = peerFields(message.peer);
        const { attributes } = message.update;
        const routes = updateRoutes(message.update);
        const peerOnly = { ...peer, timestamp: undefined };
        const announce = (prefix: Prefix, safi: number, nextHop: Uint8Array | undefined) => {
          const entry = { ...route(prefix, 'update', safi), ...announced(nextHop) };
          rib.add(routeKey(entry, peerOnly));
          out.announce.push(pick(entry, ANNOUNCE_KEYS));
        };
        const withdraw = (prefix: Prefix, safi: number) => {
          const entry = route(prefix, 'withdraw', safi);
          const key = routeKey(entry, peerOnly);
          if (rib.delete(key)) out.withdraw.push(pick(entry, ROUTE_KEYS));
          else out.withdrawnUnknown.push(pick(entry, ROUTE_KEYS));
        };
        const route = (prefix: Prefix, logType: string, safi: number) => ({
          ...peer,
          log_type: logType,
          afi: prefix.afi,
          safi,
          ip_prefix: formatPrefix(prefix),
          as_path_id: prefix.pathId ?? null,
        });
        if (routes.endOfRib !== undefined) {
          out.endOfRib.push(pick({ ...peer, ...routes.endOfRib }, EOR_KEYS));
        }
        for (const prefix of message.update.nlri) announce(prefix, 1, attributes.nextHop);
        const reach = attributes.mpReach;
        for (const prefix of reach?.nlri ?? []) announce(prefix, reach!.safi, reach!.nextHop);
        for (const prefix of message.update.withdrawn) withdraw(prefix, 1);
        const unreach = attributes.mpUnreach;
        for (const prefix of unreach?.withdrawn ?? []) withdraw(prefix, unreach!.safi);
        function announced(nextHop: Uint8Array | undefined) {
          return {
            bgp_nexthop: nextHopText(nextHop),
            as_path: formatAsPath(attributes.asPath),
            // pmacct prints communities sorted by value; we keep them in wire order, so sort a copy.
            comms: [...(attributes.communities ?? [])]
              .sort((a, b) => a - b)
              .map((c) => `${c >>> 16}:${c & 0xffff}`)
              .join(' '),
            lcomms: (attributes.largeCommunities ?? [])
              .map((c) => `${c.globalAdministrator}:${c.localData1}:${c.localData2}`)
              .join(' '),
            origin: attributes.origin === undefined ? null : ORIGINS[attributes.origin],
            local_pref: attributes.localPref ?? null,
            med: attributes.med ?? null,
          };
        }
        break;
      }
      default:
        break;
    }
  }
  out.withdrawnUnknown.sort();
  return { ...sorted(out), withdrawnUnknown: out.withdrawnUnknown };
}
