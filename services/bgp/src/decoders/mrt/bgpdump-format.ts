/**
 * Lines in the format of `bgpdump -m` (one route per line, `|`-separated), so our decoding can be compared line
 * by line with bgpdump's. Written from the format's observable output (the expected files shipped with the
 * captures), not from bgpdump's code:
 *
 *   TABLE_DUMP|<time>|B|<peer ip>|<peer as>|<prefix>|<as path>|<origin>|<next hop>|<local pref>|<med>|<communities>|<AG|NAG>|<aggregator as> <aggregator ip>|
 *   TABLE_DUMP2|… same fields …                 (TABLE_DUMP_V2; TABLE_DUMP2_AP adds the path id after the prefix)
 *   BGP4MP|<time>|A|… same fields from <peer ip> on …
 *   BGP4MP|<time>|W|<peer ip>|<peer as>|<prefix>
 *   BGP4MP|<time>|STATE|<peer ip>|<peer as>|<old state>|<new state>
 *
 * Time is the MRT header's (the dump's time for RIB entries, not the route's originated time); BGP4MP_ET
 * records print `<seconds>.<microseconds>`. A missing LOCAL_PREF or MED prints 0, a missing aggregator an empty
 * field, a missing ORIGIN `INCOMPLETE` and a missing next hop `255.255.255.255` (bgpdump's defaults, seen in
 * `bview.ipv4_unicast_add_path` for entries without attributes). Large communities are not printed. An UPDATE prints its withdrawals (IPv4, then MP_UNREACH) before its announcements (IPv4, then
 * MP_REACH); OPEN, KEEPALIVE and NOTIFICATION messages print nothing. The ADD-PATH variants of BGP4MP print
 * `BGP4MP_AP` with the path id after the prefix (no oracle among the captures for that one).
 */

import { formatIpAddress } from '@kansoku/contracts/ip-address';

import { formatAsPath } from '../bgp/as-path.ts';
import type { PathAttributes, Prefix } from '../bgp/types.ts';
import { MRT_TYPE_BGP4MP_ET, type MrtRecord } from './types.ts';

/**
 * An address as C's inet_ntop prints it: RFC 5952 text, except an IPv6 address whose first 96 bits are zero
 * (and is not :: or ::1 … i.e. whose longest zero run is exactly the first six groups) prints its last four
 * octets dotted (`::1.2.3.4`, the deprecated IPv4-compatible form).
 */
export function formatAddressLikeInetNtop(address: Uint8Array): string {
  if (address.length === 16) {
    let zeroGroups = 0;
    while (zeroGroups < 8 && address[zeroGroups * 2] === 0 && address[zeroGroups * 2 + 1] === 0) zeroGroups++;
    if (zeroGroups === 6) return `::${address[12]}.${address[13]}.${address[14]}.${address[15]}`;
  }
  return formatIpAddress(address);
}

function prefixText(prefix: Prefix): string {
  return `${formatAddressLikeInetNtop(prefix.address)}/${prefix.length}`;
}

const ORIGINS = ['IGP', 'EGP', 'INCOMPLETE'] as const;

function communitiesText(attributes: PathAttributes): string {
  const parts: string[] = [];
  for (const community of attributes.communities ?? [])
    parts.push(`${community >>> 16}:${community & 0xffff}`);
  return parts.join(' ');
}

/** The fields from the AS path to the end of the line (with the trailing `|`). */
function attributeFields(attributes: PathAttributes, nextHop: Uint8Array | undefined): string {
  const origin = ORIGINS[attributes.origin ?? 2];
  const aggregator = attributes.aggregator
    ? `${attributes.aggregator.asn} ${formatAddressLikeInetNtop(attributes.aggregator.address)}`
    : '';
  return [
    formatAsPath(attributes.asPath),
    origin,
    nextHop === undefined ? '255.255.255.255' : formatAddressLikeInetNtop(nextHop),
    attributes.localPref ?? 0,
    attributes.med ?? 0,
    communitiesText(attributes),
    attributes.atomicAggregate ? 'AG' : 'NAG',
    aggregator,
    '',
  ].join('|');
}

/** Next hop of a route of `afi`: MP_REACH's global next hop for IPv6 (and for IPv4 when present), else NEXT_HOP. */
function nextHopFor(attributes: PathAttributes, afi: number): Uint8Array | undefined {
  if (afi === 2) return attributes.mpReach?.nextHop ?? attributes.nextHop;
  return attributes.nextHop ?? attributes.mpReach?.nextHop;
}

function timeText(record: MrtRecord): string {
  const { header } = record;
  if (header.type === MRT_TYPE_BGP4MP_ET && header.microseconds !== undefined) {
    return `${header.timestamp}.${String(header.microseconds).padStart(6, '0')}`;
  }
  return String(header.timestamp);
}

/** The `bgpdump -m` lines of one record (none for records bgpdump prints nothing for). */
export function formatBgpdumpLines(record: MrtRecord): string[] {
  const time = timeText(record);
  switch (record.kind) {
    case 'table-dump':
      return record.entries.map(
        (entry) =>
          `TABLE_DUMP|${time}|B|${formatAddressLikeInetNtop(entry.peer.address)}|${entry.peer.asn}|${prefixText(entry.prefix)}|${attributeFields(entry.attributes, nextHopFor(entry.attributes, entry.prefix.afi))}`,
      );
    case 'rib': {
      const label = record.addPath ? 'TABLE_DUMP2_AP' : 'TABLE_DUMP2';
      const prefix = prefixText(record.prefix);
      return record.entries.map((entry) => {
        const pathId = entry.pathId === undefined ? '' : `${entry.pathId}|`;
        const peer = `${formatAddressLikeInetNtop(entry.peer.address)}|${entry.peer.asn}`;
        return `${label}|${time}|B|${peer}|${prefix}|${pathId}${attributeFields(entry.attributes, nextHopFor(entry.attributes, record.afi))}`;
      });
    }
    case 'bgp4mp-state-change': {
      const label = record.header.type === MRT_TYPE_BGP4MP_ET ? 'BGP4MP_ET' : 'BGP4MP';
      return [
        `${label}|${time}|STATE|${formatAddressLikeInetNtop(record.peerAddress)}|${record.peerAs}|${record.oldState}|${record.newState}`,
      ];
    }
    case 'bgp4mp-message': {
      const { message } = record;
      if (message.type !== 'update') return [];
      const base = record.header.type === MRT_TYPE_BGP4MP_ET ? 'BGP4MP_ET' : 'BGP4MP';
      const label = record.addPath ? `${base}_AP` : base;
      const peer = `${formatAddressLikeInetNtop(record.peerAddress)}|${record.peerAs}`;
      const withId = (prefix: Prefix): string =>
        prefix.pathId === undefined ? prefixText(prefix) : `${prefixText(prefix)}|${prefix.pathId}`;
      const lines: string[] = [];
      const { attributes } = message;
      for (const prefix of [...message.withdrawn, ...(attributes.mpUnreach?.withdrawn ?? [])]) {
        lines.push(`${label}|${time}|W|${peer}|${withId(prefix)}`);
      }
      for (const prefix of message.nlri) {
        lines.push(
          `${label}|${time}|A|${peer}|${withId(prefix)}|${attributeFields(attributes, nextHopFor(attributes, 1))}`,
        );
      }
      for (const prefix of attributes.mpReach?.nlri ?? []) {
        lines.push(
          `${label}|${time}|A|${peer}|${withId(prefix)}|${attributeFields(attributes, nextHopFor(attributes, prefix.afi))}`,
        );
      }
      return lines;
    }
    default:
      return [];
  }
}
