/**
 * Writes routes as an MRT TABLE_DUMP_V2 file (RFC 6396 §4.3: a PEER_INDEX_TABLE, then one RIB_IPV4_UNICAST
 * record per prefix). The gobgpd end-to-end test needs it: `gobgp mrt inject` reads TABLE_DUMP_V2 only, and the
 * large real bview of the captures (bview.20020722.2337.gz) is TABLE_DUMP; its entries are re-written here
 * with their attributes (ORIGIN, AS_PATH with 4-octet ASNs as TABLE_DUMP_V2 requires, NEXT_HOP, MED,
 * LOCAL_PREF, ATOMIC_AGGREGATE, COMMUNITIES).
 */

import type { PathAttributes } from '../../src/decoders/bgp/types.ts';
import { readMrt } from '../../src/decoders/mrt/reader.ts';

export interface Tdv2Route {
  /** 4 octets. */
  prefix: Uint8Array;
  length: number;
  peer: { address: Uint8Array; asn: number };
  originatedTime: number;
  attributes: PathAttributes;
}

function header(timestamp: number, subtype: number, body: Buffer): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt32BE(timestamp, 0);
  out.writeUInt16BE(13, 4);
  out.writeUInt16BE(subtype, 6);
  out.writeUInt32BE(body.length, 8);
  return Buffer.concat([out, body]);
}

function attribute(flags: number, type: number, value: Buffer): Buffer {
  if (value.length > 255) {
    const head = Buffer.from([flags | 0x10, type, 0, 0]);
    head.writeUInt16BE(value.length, 2);
    return Buffer.concat([head, value]);
  }
  return Buffer.concat([Buffer.from([flags, type, value.length]), value]);
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}

export function encodeAttributes(attributes: PathAttributes): Buffer {
  const parts: Buffer[] = [];
  if (attributes.origin !== undefined) parts.push(attribute(0x40, 1, Buffer.from([attributes.origin])));
  const segments = (attributes.asPath ?? []).map((segment) =>
    Buffer.concat([Buffer.from([segment.type, segment.asns.length]), ...segment.asns.map(u32)]),
  );
  parts.push(attribute(0x40, 2, Buffer.concat(segments)));
  if (attributes.nextHop !== undefined) parts.push(attribute(0x40, 3, Buffer.from(attributes.nextHop)));
  if (attributes.med !== undefined) parts.push(attribute(0x80, 4, u32(attributes.med)));
  if (attributes.localPref !== undefined) parts.push(attribute(0x40, 5, u32(attributes.localPref)));
  if (attributes.atomicAggregate) parts.push(attribute(0x40, 6, Buffer.alloc(0)));
  if (attributes.communities !== undefined && attributes.communities.length > 0) {
    parts.push(attribute(0xc0, 8, Buffer.concat(attributes.communities.map(u32))));
  }
  return Buffer.concat(parts);
}

/** A TABLE_DUMP_V2 file of `routes` (IPv4 unicast), entries of one prefix grouped in one RIB record. */
export function writeTdv2(routes: readonly Tdv2Route[], timestamp: number): Buffer {
  const peerIndex = new Map<string, number>();
  const peers: Tdv2Route['peer'][] = [];
  for (const route of routes) {
    const key = `${route.peer.address.join('.')}|${route.peer.asn}`;
    if (!peerIndex.has(key)) {
      peerIndex.set(key, peers.length);
      peers.push(route.peer);
    }
  }
  const peerEntries = peers.map((peer) =>
    // Type: IPv4 address, 4-octet AS (bit 1).
    Buffer.concat([Buffer.from([0x02]), Buffer.from(peer.address), Buffer.from(peer.address), u32(peer.asn)]),
  );
  const count = Buffer.alloc(2);
  count.writeUInt16BE(peers.length);
  const index = header(
    timestamp,
    1,
    Buffer.concat([Buffer.from([192, 0, 2, 1]), Buffer.from([0, 0]), count, ...peerEntries]),
  );
  const byPrefix = new Map<string, Tdv2Route[]>();
  for (const route of routes) {
    const key = `${route.prefix.join('.')}/${route.length}`;
    const list = byPrefix.get(key);
    if (list) list.push(route);
    else byPrefix.set(key, [route]);
  }
  const records: Buffer[] = [index];
  let sequence = 0;
  for (const entries of byPrefix.values()) {
    const first = entries[0]!;
    const prefixBytes = Buffer.from(first.prefix.subarray(0, (first.length + 7) >> 3));
    const head = Buffer.alloc(4 + 1);
    head.writeUInt32BE(sequence++, 0);
    head[4] = first.length;
    const entryCount = Buffer.alloc(2);
    entryCount.writeUInt16BE(entries.length);
    const encoded = entries.map((entry) => {
      const attributes = encodeAttributes(entry.attributes);
      const fixed = Buffer.alloc(8);
      fixed.writeUInt16BE(peerIndex.get(`${entry.peer.address.join('.')}|${entry.peer.asn}`)!, 0);
      fixed.writeUInt32BE(entry.originatedTime, 2);
      fixed.writeUInt16BE(attributes.length, 6);
      return Buffer.concat([fixed, attributes]);
    });
    records.push(header(timestamp, 2, Buffer.concat([head, prefixBytes, entryCount, ...encoded])));
  }
  return Buffer.concat(records);
}

/** The first `prefixes` prefixes of a TABLE_DUMP (v1) or TABLE_DUMP_V2 IPv4 file, every entry of each. */
export async function ipv4RoutesOf(file: string, prefixes: number): Promise<Tdv2Route[]> {
  const routes: Tdv2Route[] = [];
  const seen = new Set<string>();
  for await (const record of readMrt(file)) {
    const entries =
      record.kind === 'table-dump'
        ? record.entries
        : record.kind === 'rib' && record.afi === 1 && record.safi === 1
          ? record.entries.map((e) => ({ prefix: record.prefix, ...e }))
          : [];
    for (const entry of entries) {
      if (entry.prefix.afi !== 1 || entry.attributes.nextHop === undefined) continue;
      const key = `${entry.prefix.address.join('.')}/${entry.prefix.length}`;
      if (!seen.has(key)) {
        if (seen.size >= prefixes) return routes;
        seen.add(key);
      }
      routes.push({
        prefix: entry.prefix.address,
        length: entry.prefix.length,
        peer: { address: entry.peer.address, asn: entry.peer.asn },
        originatedTime: entry.originatedTime,
        attributes: entry.attributes,
      });
    }
  }
  return routes;
}
