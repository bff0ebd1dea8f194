/**
 * The live RIB: every peer's routes (Adj-RIB-In pre/post policy, Loc-RIB, Adj-RIB-Out as separate RIBs of the
 * peer), IPv4 and IPv6, ADD-PATH aware, in compact memory:
 *
 * - prefixes are interned once per family across peers (`PrefixTable`, typed arrays),
 * - attribute sets (AS path, communities, next hop, …) once across peers (`AttributeTable`),
 * - each peer keeps only (prefix id, path id) → attribute set id and receive time (`PeerRoutes`),
 * - IP → origin AS: a 16-8-8 trie for IPv4 (`LpmV4`). For IPv6 (a sixth of the routes, a few percent of
 *   traffic) a trie's blocks would cost more than the routes themselves; instead the prefix table's hash is
 *   probed, longest first, only at the lengths that occur near the address: a mask of lengths /33–/64 per /32
 *   and of /17–/32 per /16, plus the few lengths up to /16 and past /64 in use. A lookup is a handful of probes.
 *
 * Peer Down: the station emits it for each peer of a router whose session ended, and the router re-sends its
 * routes after it reconnects. Peer events and route updates travel on different topics (so they may be read
 * out of order around a reconnect): a Peer Down drops only the routes received before it, and an update
 * received before the last Peer Down of its peer, read late, is ignored.
 */

import { fromBinary } from '@bufbuild/protobuf';
import {
  type Peer,
  PeerSchema,
  RibType,
  RouteAction,
  type RouteUpdate,
  RouteUpdateSchema,
} from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { encodeRouteAttributes } from '../station/route-update-codec.ts';
import { AttributeTable, hashBytes, type RouteAttributes } from './attributes.ts';
import { encodeEntry, LpmV4 } from './lpm-v4.ts';
import { PeerRoutes } from './peer-routes.ts';
import { addressToWords, maskWords, PrefixTable } from './prefix-table.ts';
import { canonicalAttributesOrigin, type RouteUpdateReader } from './route-update-reader.ts';

export type Family = 4 | 6;

export interface PeerIdentity {
  /** Monitored router (BMP speaker or MRT collector), text form. */
  router: string;
  /** Peer distinguisher, decimal. */
  distinguisher: string;
  /** Neighbour address, text form; empty for Loc-RIB. */
  address: string;
}

export interface PeerInfo extends PeerIdentity {
  /** `router|distinguisher|address|ribType`: one RIB of one peer. */
  key: string;
  ribType: RibType;
  asn: number;
  bgpId: string;
}

export interface PeerSummary {
  info: PeerInfo;
  routes: { ipv4: number; ipv6: number };
  /** Routes per prefix length (index = length). */
  lengths: { ipv4: Uint32Array; ipv6: Uint32Array };
  /** ms since the epoch of the last Peer Down taken (0 if none). */
  lastDownMs: number;
}

/** What a change of the RIB looked like, for detectors. */
/**
 * An announcement that adds a prefix to the RIB (`originsBefore` empty) or brings an origin its other routes do
 * not carry. Re-announcements with an origin already present are not reported (the common case stays cheap).
 */
export interface AnnounceEvent {
  peer: PeerInfo;
  family: Family;
  /** `192.0.2.0/24`. */
  prefix(): string;
  length: number;
  address: Uint8Array;
  originAs: number;
  /** Origins of the prefix's routes (all peers) before this announcement, with route counts. */
  originsBefore: Map<number, number>;
  receivedMs: number;
}

export interface PrefixGoneEvent {
  family: Family;
  prefix: string;
  length: number;
  address: Uint8Array;
}

export interface RibObserver {
  onAnnounce?(event: AnnounceEvent): void;
  onPrefixGone?(event: PrefixGoneEvent): void;
  /** The origin the lookup answers for a prefix changed (0 = no route). */
  onOriginChange?(family: Family, prefixId: number, previous: number, current: number): void;
}

export interface LookupResult {
  family: Family;
  prefix: string;
  length: number;
  originAs: number;
  /** Every address in this aligned block around the address has the same answer (for caches). */
  uniformLength: number;
}

interface PeerState {
  info: PeerInfo;
  v4: PeerRoutes;
  v6: PeerRoutes;
  lastDownMs: number;
}

export function peerIdentityOf(routerAddress: Uint8Array, peer: Peer | undefined): PeerIdentity {
  return {
    router: routerAddress.length > 0 ? formatIpAddress(routerAddress) : '',
    distinguisher: (peer?.distinguisher ?? 0n).toString(),
    address: peer !== undefined && peer.address.length > 0 ? formatIpAddress(peer.address) : '',
  };
}

const identityKey = (p: PeerIdentity): string => `${p.router}|${p.distinguisher}|${p.address}`;

/**
 * A peer as its encoded RouteUpdates name it (router address bytes + Peer bytes), resolved once: the messages
 * of one peer carry the same bytes, so the fast path compares bytes instead of formatting addresses per route.
 */
export interface EncodedPeer {
  /** Router address bytes, then the Peer message's bytes (`routerLength` tells them apart). */
  readonly bytes: Uint8Array;
  readonly routerLength: number;
  readonly hash: number;
  readonly identity: PeerIdentity;
  readonly idKey: string;
  readonly asn: number;
  readonly bgpId: string;
  /** Its peer RIBs by RIB type, once they exist. */
  readonly states: (PeerState | undefined)[];
}

/** Entries of the direct-mapped cache of encoded peers. */
const PEER_CACHE_SIZE = 256;

function sameBytes(a: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[start + i]) return false;
  return true;
}

export class Rib {
  readonly prefixes4 = new PrefixTable(1);
  readonly prefixes6 = new PrefixTable(4);
  readonly attributes = new AttributeTable();
  private readonly lpm4 = new LpmV4();
  /**
   * Top 32 bits → mask of the lengths /33–/64 seen under that /32 (bit length − 33). Bits are not cleared on
   * withdrawal: a stale bit costs one probe that finds nothing, never a wrong answer, and the map stays bounded
   * by the (/32, length) pairs ever announced.
   */
  private readonly v6LongMasks = new Map<number, number>();
  /** Top 16 bits → mask of the lengths /17–/32 seen under that /16 (bit length − 17); same rule. */
  private readonly v6ShortMasks = new Map<number, number>();
  /** Lengths /0–/16 present, longest first. */
  private v6Shortest: number[] = [];
  /** Lengths past /64 present, longest first. */
  private v6VeryLong: number[] = [];
  private readonly peers = new Map<string, PeerState>();
  /** Peer identity key → its RIB keys. */
  private readonly ribsOfPeer = new Map<string, Set<string>>();
  private readonly downAt = new Map<string, number>();
  private readonly words = new Uint32Array(4);
  private readonly probe = new Uint32Array(4);
  private readonly peerCache: (EncodedPeer | undefined)[] = new Array(PEER_CACHE_SIZE);
  observer: RibObserver | undefined;

  constructor(observer?: RibObserver) {
    this.observer = observer;
  }

  /** Routes over all peers. */
  routeCount(): number {
    let total = 0;
    for (const peer of this.peers.values()) total += peer.v4.size + peer.v6.size;
    return total;
  }

  /** Bytes of the typed arrays (attribute sets included; the peer maps are on the JS heap, not counted here). */
  arrayBytes(): number {
    let bytes =
      this.prefixes4.byteSize() +
      this.prefixes6.byteSize() +
      this.lpm4.byteSize() +
      this.attributes.byteSize();
    for (const peer of this.peers.values()) bytes += peer.v4.byteSize() + peer.v6.byteSize();
    return bytes;
  }

  peerSummaries(): PeerSummary[] {
    return [...this.peers.values()].map((p) => ({
      info: p.info,
      routes: { ipv4: p.v4.size, ipv6: p.v6.size },
      lengths: { ipv4: p.v4.lengthCounts, ipv6: p.v6.lengthCounts },
      lastDownMs: p.lastDownMs,
    }));
  }

  private peerState(identity: PeerIdentity, ribType: RibType, asn: number, bgpId: string): PeerState {
    const idKey = identityKey(identity);
    const key = `${idKey}|${ribType}`;
    let state = this.peers.get(key);
    if (state === undefined) {
      state = {
        info: { ...identity, key, ribType, asn, bgpId },
        v4: new PeerRoutes(32),
        v6: new PeerRoutes(128),
        lastDownMs: this.downAt.get(idKey) ?? 0,
      };
      this.peers.set(key, state);
      const ribs = this.ribsOfPeer.get(idKey) ?? new Set<string>();
      ribs.add(key);
      this.ribsOfPeer.set(idKey, ribs);
    } else if (asn !== 0 && state.info.asn !== asn) {
      state.info = { ...state.info, asn, bgpId };
    }
    return state;
  }

  /** Applies one update from `kansoku.bgp.updates.v2`; false when it was ignored (stale or not unicast IP). */
  applyUpdate(update: RouteUpdate): boolean {
    const family: Family | undefined = update.afi === 1 ? 4 : update.afi === 2 ? 6 : undefined;
    if (family === undefined || (update.safi !== 1 && update.safi !== 0)) return false;
    if (update.prefix.length !== (family === 4 ? 4 : 16)) return false;
    const identity = peerIdentityOf(update.routerAddress, update.peer);
    const receivedMs = Number(update.timeReceivedNs / 1_000_000n);
    const downMs = this.downAt.get(identityKey(identity));
    if (downMs !== undefined && receivedMs < downMs) return false;
    const peer = this.peerState(
      identity,
      update.ribType,
      update.peer?.asn ?? 0,
      update.peer !== undefined && update.peer.bgpId.length === 4 ? formatIpAddress(update.peer.bgpId) : '',
    );
    if (update.action === RouteAction.ANNOUNCE) {
      const bytes = encodeRouteAttributes(update);
      this.announce(
        peer,
        family,
        update.prefix,
        update.prefixLength,
        update.pathId,
        this.attributes.acquireBytes(bytes, 0, bytes.length, update.originAs),
        update.originAs,
        receivedMs,
      );
      return true;
    }
    if (update.action === RouteAction.WITHDRAW) {
      this.withdraw(peer, family, update.prefix, update.prefixLength, update.pathId);
      return true;
    }
    return false;
  }

  /**
   * The peer an encoded RouteUpdate (read by `reader`) names, resolved once per distinct (router, Peer) bytes
   * and then found by comparing bytes (a direct-mapped cache of 256 peers).
   */
  peerOfRead(reader: RouteUpdateReader): EncodedPeer {
    const bytes = reader.bytes;
    const routerLength = reader.routerEnd - reader.routerStart;
    const peerLength = reader.peerEnd - reader.peerStart;
    let hash = hashBytes(bytes, reader.routerStart, reader.routerEnd);
    hash = Math.imul(hash ^ hashBytes(bytes, reader.peerStart, reader.peerEnd), 0x01000193) >>> 0;
    const slot = hash & (PEER_CACHE_SIZE - 1);
    const cached = this.peerCache[slot];
    if (
      cached !== undefined &&
      cached.hash === hash &&
      cached.routerLength === routerLength &&
      cached.bytes.length === routerLength + peerLength
    ) {
      let same = true;
      const c = cached.bytes;
      for (let i = 0; i < routerLength && same; i++) same = c[i] === bytes[reader.routerStart + i];
      for (let i = 0; i < peerLength && same; i++) same = c[routerLength + i] === bytes[reader.peerStart + i];
      if (same) return cached;
    }
    const key = new Uint8Array(routerLength + peerLength);
    key.set(bytes.subarray(reader.routerStart, reader.routerEnd));
    key.set(bytes.subarray(reader.peerStart, reader.peerEnd), routerLength);
    const routerAddress = key.slice(0, routerLength);
    const peer = reader.hasPeer ? fromBinary(PeerSchema, key.subarray(routerLength)) : undefined;
    const identity = peerIdentityOf(routerAddress, peer);
    const resolved: EncodedPeer = {
      bytes: key,
      routerLength,
      hash,
      identity,
      idKey: identityKey(identity),
      asn: peer?.asn ?? 0,
      bgpId: peer !== undefined && peer.bgpId.length === 4 ? formatIpAddress(peer.bgpId) : '',
      states: [],
    };
    this.peerCache[slot] = resolved;
    return resolved;
  }

  /**
   * Applies the RouteUpdate `reader` has just read (`peer`: `peerOfRead(reader)`), exactly as
   * `applyUpdate(fromBinary(RouteUpdateSchema, <the bytes read>))` would: the attribute set is found by its bytes
   * and decoded only when new. Throws what fromBinary throws on a malformed message.
   */
  applyRead(reader: RouteUpdateReader, peer: EncodedPeer): boolean {
    const bytes = reader.bytes;
    const family: Family | undefined = reader.afi === 1 ? 4 : reader.afi === 2 ? 6 : undefined;
    const start = reader.attributesStart;
    const end = reader.end;
    if (reader.action !== RouteAction.ANNOUNCE && start !== end) {
      // Our producers write no attributes on a withdrawal; anything else takes the general path.
      return this.applyGeneral(reader);
    }
    let attributeId = -1;
    let originAs = 0;
    if (reader.action === RouteAction.ANNOUNCE) {
      const hash = hashBytes(bytes, start, end);
      attributeId = this.attributes.find(bytes, start, end, hash);
      if (attributeId >= 0) originAs = this.attributes.originAs(attributeId);
      else {
        // A new set, taken as it is only when it is the canonical encoding of its values: checked in place, or
        // (anything the check does not vouch for) decoded and encoded again.
        originAs = canonicalAttributesOrigin(bytes, start, end);
        if (originAs < 0) {
          const decoded = fromBinary(RouteUpdateSchema, bytes.subarray(start, end));
          if (!sameBytes(encodeRouteAttributes(decoded), bytes, start, end)) return this.applyGeneral(reader);
          originAs = decoded.originAs;
        }
      }
    }
    if (family === undefined || (reader.safi !== 1 && reader.safi !== 0)) return false;
    if (reader.prefixEnd - reader.prefixStart !== (family === 4 ? 4 : 16)) return false;
    const receivedMs = reader.receivedMs;
    const downMs = this.downAt.get(peer.idKey);
    if (downMs !== undefined && receivedMs < downMs) return false;
    const ribType = reader.ribType;
    let state = ribType < 16 ? peer.states[ribType] : undefined;
    if (state === undefined || (peer.asn !== 0 && state.info.asn !== peer.asn)) {
      state = this.peerState(peer.identity, ribType, peer.asn, peer.bgpId);
      if (ribType < 16) peer.states[ribType] = state;
    }
    const prefix = bytes.subarray(reader.prefixStart, reader.prefixEnd);
    if (reader.action === RouteAction.ANNOUNCE) {
      if (attributeId >= 0) this.attributes.retain(attributeId);
      else attributeId = this.attributes.acquireBytes(bytes, start, end, originAs);
      this.announce(
        state,
        family,
        prefix,
        reader.prefixLength,
        reader.pathId,
        attributeId,
        originAs,
        receivedMs,
      );
      return true;
    }
    if (reader.action === RouteAction.WITHDRAW) {
      this.withdraw(state, family, prefix, reader.prefixLength, reader.pathId);
      return true;
    }
    return false;
  }

  /** The message `reader` read, through fromBinary and `applyUpdate`. */
  private applyGeneral(reader: RouteUpdateReader): boolean {
    return this.applyUpdate(fromBinary(RouteUpdateSchema, reader.bytes.subarray(reader.start, reader.end)));
  }

  /** Announces a route on a peer's RIB (the route with the same prefix and path id is replaced). */
  announceRoute(
    peer: { identity: PeerIdentity; ribType: RibType; asn?: number },
    family: Family,
    address: Uint8Array,
    length: number,
    pathId: number,
    attributes: string,
    originAs: number,
    receivedMs: number,
  ): void {
    const state = this.peerState(peer.identity, peer.ribType, peer.asn ?? 0, '');
    const attributeId = this.attributes.acquire(attributes, originAs);
    this.announce(state, family, address, length, pathId, attributeId, originAs, receivedMs);
  }

  withdrawRoute(
    peer: { identity: PeerIdentity; ribType: RibType },
    family: Family,
    address: Uint8Array,
    length: number,
    pathId: number,
  ): boolean {
    const state = this.peers.get(`${identityKey(peer.identity)}|${peer.ribType}`);
    return state === undefined ? false : this.withdraw(state, family, address, length, pathId);
  }

  /** `attributeId`: the route's attribute set, with one reference taken for this route by the caller. */
  private announce(
    peer: PeerState,
    family: Family,
    address: Uint8Array,
    length: number,
    pathId: number,
    attributeId: number,
    originAs: number,
    receivedMs: number,
  ): void {
    const table = family === 4 ? this.prefixes4 : this.prefixes6;
    const routes = family === 4 ? peer.v4 : peer.v6;
    if (length > table.bits) {
      this.attributes.release(attributeId);
      return;
    }
    addressToWords(address, length, this.words);
    const { id, created } = table.intern(this.words, length);
    const previous = routes.get(id, pathId);
    if (previous === attributeId) {
      // The same route again: it already holds a reference to the set.
      this.attributes.release(attributeId);
      routes.set(id, pathId, previous, receivedMs, length);
      return;
    }
    const observer = this.observer;
    if (observer?.onAnnounce !== undefined && (created || !table.hasOrigin(id, originAs))) {
      observer.onAnnounce({
        peer: peer.info,
        family,
        prefix: () => `${formatIpAddress(table.address(id))}/${length}`,
        length,
        address: table.address(id),
        originAs,
        originsBefore: table.originsOf(id),
        receivedMs,
      });
    }
    routes.set(id, pathId, attributeId, receivedMs, length);
    this.report(family, table.addRoute(id, originAs));
    if (previous >= 0) {
      const previousOrigin = this.attributes.originAs(previous);
      this.attributes.release(previous);
      this.report(family, table.removeRoute(id, previousOrigin));
    }
    if (created) {
      if (family === 4) this.lpm4.insert(id, this.words[0]!, length);
      else this.indexV6(this.words[0]!, length, 1);
    }
  }

  private withdraw(
    peer: PeerState,
    family: Family,
    address: Uint8Array,
    length: number,
    pathId: number,
  ): boolean {
    const table = family === 4 ? this.prefixes4 : this.prefixes6;
    if (length > table.bits) return false;
    addressToWords(address, length, this.words);
    const id = table.find(this.words, length);
    if (id < 0) return false;
    return this.removeRoute(peer, family, id, pathId);
  }

  private removeRoute(peer: PeerState, family: Family, id: number, pathId: number): boolean {
    const table = family === 4 ? this.prefixes4 : this.prefixes6;
    const routes = family === 4 ? peer.v4 : peer.v6;
    const length = table.length(id);
    const attributeId = routes.delete(id, pathId, length);
    if (attributeId < 0) return false;
    const origin = this.attributes.originAs(attributeId);
    this.attributes.release(attributeId);
    this.report(family, table.removeRoute(id, origin));
    if (table.routes(id) === 0) this.releasePrefix(family, id);
    return true;
  }

  private releasePrefix(family: Family, id: number): void {
    const table = family === 4 ? this.prefixes4 : this.prefixes6;
    const length = table.length(id);
    if (this.observer?.onPrefixGone !== undefined) {
      const address = table.address(id);
      this.observer.onPrefixGone({
        family,
        prefix: `${formatIpAddress(address)}/${length}`,
        length,
        address,
      });
    }
    if (family === 4) {
      const address = table.word(id);
      let replacement = 0;
      for (let shorter = length - 1; shorter >= 0; shorter--) {
        const masked = shorter === 0 ? 0 : (address & (0xffffffff << (32 - shorter))) >>> 0;
        const cover = this.prefixes4.findV4(masked, shorter);
        if (cover >= 0) {
          replacement = encodeEntry(cover, shorter);
          break;
        }
      }
      this.lpm4.remove(id, address, length, replacement);
    } else {
      this.indexV6(table.word(id), length, -1);
    }
    table.release(id);
  }

  /** Adds (`delta` 1) or removes (-1, before the table forgets it) an IPv6 prefix from the lookup index. */
  private indexV6(top: number, length: number, delta: 1 | -1): void {
    if (length > 32 && length <= 64) {
      if (delta === 1) this.v6LongMasks.set(top, (this.v6LongMasks.get(top) ?? 0) | (1 << (length - 33)));
      return;
    }
    if (length > 16 && length <= 32) {
      const top16 = top >>> 16;
      if (delta === 1)
        this.v6ShortMasks.set(top16, (this.v6ShortMasks.get(top16) ?? 0) | (1 << (length - 17)));
      return;
    }
    // The table counts the prefix until release: it is the first or last of its length when the count is 1.
    const counts = this.prefixes6.lengthCounts;
    if (counts[length] !== 1) return;
    const present = (l: number) => counts[l]! > (l === length && delta === -1 ? 1 : 0);
    if (length <= 16) {
      this.v6Shortest = [];
      for (let l = 16; l >= 0; l--) if (present(l)) this.v6Shortest.push(l);
    } else {
      this.v6VeryLong = [];
      for (let l = 128; l > 64; l--) if (present(l)) this.v6VeryLong.push(l);
    }
  }

  private report(
    family: Family,
    change: { prefixId: number; previous: number; current: number } | undefined,
  ): void {
    if (change !== undefined && this.observer?.onOriginChange !== undefined) {
      this.observer.onOriginChange(family, change.prefixId, change.previous, change.current);
    }
  }

  /**
   * A peer's session ended (`timeMs`: when the station saw it): drops the routes of each of its RIBs received
   * before then, and ignores updates received before then that are read later. Returns routes dropped.
   */
  peerDown(identity: PeerIdentity, timeMs: number): number {
    const idKey = identityKey(identity);
    if ((this.downAt.get(idKey) ?? 0) < timeMs) this.downAt.set(idKey, timeMs);
    let dropped = 0;
    for (const key of this.ribsOfPeer.get(idKey) ?? []) {
      const peer = this.peers.get(key);
      if (peer === undefined) continue;
      peer.lastDownMs = Math.max(peer.lastDownMs, timeMs);
      for (const family of [4, 6] as const) {
        const routes = family === 4 ? peer.v4 : peer.v6;
        for (const route of routes.routes()) {
          if (route.receivedMs < timeMs && this.removeRoute(peer, family, route.prefixId, route.pathId))
            dropped++;
        }
      }
    }
    return dropped;
  }

  /** Origin AS of the longest prefix covering the address (4 or 16 octets); undefined when none or unknown. */
  originAs(address: Uint8Array): number | undefined {
    if (address.length === 4) {
      const id = this.lpm4.lookup(
        ((address[0]! << 24) | (address[1]! << 16) | (address[2]! << 8) | address[3]!) >>> 0,
      );
      if (id < 0) return undefined;
      const origin = this.prefixes4.origin(id);
      return origin === 0 ? undefined : origin;
    }
    if (address.length === 16) {
      const id = this.lookupV6(address);
      if (id < 0) return undefined;
      const origin = this.prefixes6.origin(id);
      return origin === 0 ? undefined : origin;
    }
    return undefined;
  }

  /** IPv4 fast path: prefix id of the longest match for an unsigned 32-bit address, or -1. */
  lookupV4(address: number): number {
    return this.lpm4.lookup(address);
  }

  /** Origin AS for a prefix id from `lookupV4` (0 when unknown). */
  originOfV4(prefixId: number): number {
    return this.prefixes4.origin(prefixId);
  }

  private probeV6(length: number): number {
    const probe = this.probe;
    probe.set(this.words);
    maskWords(probe, 4, length);
    return this.prefixes6.find(probe, length);
  }

  private lookupV6(address: Uint8Array): number {
    addressToWords(address, 128, this.words);
    for (const length of this.v6VeryLong) {
      const id = this.probeV6(length);
      if (id >= 0) return id;
    }
    const top = this.words[0]!;
    const long = this.v6LongMasks.get(top) ?? 0;
    for (let bit = 31 - Math.clz32(long); bit >= 0; bit--) {
      if ((long & (1 << bit)) === 0) continue;
      const id = this.probeV6(bit + 33);
      if (id >= 0) return id;
    }
    const short = this.v6ShortMasks.get(top >>> 16) ?? 0;
    for (let bit = 31 - Math.clz32(short); bit >= 0; bit--) {
      if ((short & (1 << bit)) === 0) continue;
      const id = this.probeV6(bit + 17);
      if (id >= 0) return id;
    }
    for (const length of this.v6Shortest) {
      const id = this.probeV6(length);
      if (id >= 0) return id;
    }
    return -1;
  }

  /** Length of an aligned block around an IPv6 address whose addresses all have the same answer. */
  private uniformLengthV6(address: Uint8Array): number {
    const first = this.v6VeryLong[0];
    if (first !== undefined) return first;
    addressToWords(address, 128, this.words);
    const long = this.v6LongMasks.get(this.words[0]!);
    if (long !== undefined) return 64 - Math.clz32(long);
    const short = this.v6ShortMasks.get(this.words[0]! >>> 16);
    if (short !== undefined) return 48 - Math.clz32(short);
    return Math.max(16, this.v6Shortest[0] ?? 0);
  }

  /** The longest match with its prefix, for queries and the NATS service. */
  lookup(address: Uint8Array): LookupResult | undefined {
    if (address.length === 4) {
      const word = ((address[0]! << 24) | (address[1]! << 16) | (address[2]! << 8) | address[3]!) >>> 0;
      const id = this.lpm4.lookup(word);
      const uniformLength = this.lpm4.uniformLength(word);
      if (id < 0) return { family: 4, prefix: '', length: 0, originAs: 0, uniformLength };
      return {
        family: 4,
        prefix: `${formatIpAddress(this.prefixes4.address(id))}/${this.prefixes4.length(id)}`,
        length: this.prefixes4.length(id),
        originAs: this.prefixes4.origin(id),
        uniformLength,
      };
    }
    if (address.length !== 16) return undefined;
    const id = this.lookupV6(address);
    const uniformLength = this.uniformLengthV6(address);
    if (id < 0) return { family: 6, prefix: '', length: 0, originAs: 0, uniformLength };
    return {
      family: 6,
      prefix: `${formatIpAddress(this.prefixes6.address(id))}/${this.prefixes6.length(id)}`,
      length: this.prefixes6.length(id),
      originAs: this.prefixes6.origin(id),
      uniformLength,
    };
  }

  /** The routes of an exact prefix, per peer RIB. */
  routesOf(
    family: Family,
    address: Uint8Array,
    length: number,
  ): { peer: PeerInfo; pathId: number; attributes: RouteAttributes }[] {
    const table = family === 4 ? this.prefixes4 : this.prefixes6;
    const words = new Uint32Array(4);
    addressToWords(address, length, words);
    const id = table.find(words, length);
    if (id < 0) return [];
    const out: { peer: PeerInfo; pathId: number; attributes: RouteAttributes }[] = [];
    for (const peer of this.peers.values()) {
      const routes = family === 4 ? peer.v4 : peer.v6;
      routes.forEach((prefixId, pathId, attributeId) => {
        if (prefixId === id)
          out.push({ peer: peer.info, pathId, attributes: this.attributes.attributes(attributeId) });
      });
    }
    return out;
  }

  /** Every route, for snapshots: peer, family, prefix id, path id, attribute text, receive time. */
  forEachRoute(
    visit: (
      peer: PeerInfo,
      family: Family,
      address: Uint8Array,
      length: number,
      pathId: number,
      attributes: string,
      originAs: number,
      receivedMs: number,
    ) => void,
  ): void {
    // Each set's text is made once per pass (from its bytes).
    const texts = new Map<number, string>();
    const text = (attributeId: number): string => {
      let t = texts.get(attributeId);
      if (t === undefined) {
        t = this.attributes.key(attributeId);
        texts.set(attributeId, t);
      }
      return t;
    };
    for (const peer of this.peers.values()) {
      for (const family of [4, 6] as const) {
        const table = family === 4 ? this.prefixes4 : this.prefixes6;
        (family === 4 ? peer.v4 : peer.v6).forEach((prefixId, pathId, attributeId, receivedMs) => {
          visit(
            peer.info,
            family,
            table.address(prefixId),
            table.length(prefixId),
            pathId,
            text(attributeId),
            this.attributes.originAs(attributeId),
            receivedMs,
          );
        });
      }
    }
  }

  /** Origins of an exact prefix's routes (all peers) with route counts; empty when absent. */
  originsOfPrefix(family: Family, address: Uint8Array, length: number): Map<number, number> {
    const table = family === 4 ? this.prefixes4 : this.prefixes6;
    const words = new Uint32Array(4);
    addressToWords(address, length, words);
    const id = table.find(words, length);
    return id < 0 ? new Map() : table.originsOf(id);
  }

  /** Text form of a prefix id (`192.0.2.0/24`). */
  prefixText(family: Family, prefixId: number): string {
    const table = family === 4 ? this.prefixes4 : this.prefixes6;
    return `${formatIpAddress(table.address(prefixId))}/${table.length(prefixId)}`;
  }

  /** Known Peer Down times (for snapshots). */
  downTimes(): Map<string, number> {
    return new Map(this.downAt);
  }

  restoreDownTime(identity: PeerIdentity, timeMs: number): void {
    this.downAt.set(identityKey(identity), timeMs);
  }

  /** Registers a peer RIB (e.g. from a snapshot or a Peer Up) without routes. */
  ensurePeer(identity: PeerIdentity, ribType: RibType, asn: number, bgpId = ''): PeerInfo {
    return this.peerState(identity, ribType, asn, bgpId).info;
  }
}

export { RibType };
