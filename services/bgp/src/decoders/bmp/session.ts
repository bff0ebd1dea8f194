/**
 * What a BMP station remembers about one router connection to decode its messages: per monitored peer, the
 * capabilities negotiated in its Peer Up (4-octet AS, ADD-PATH per AFI/SAFI in each direction). Peer Down
 * forgets the peer. The number of peers is bounded; a Peer Up beyond the bound is decoded but not remembered,
 * and counted.
 */

import type { AddPathFamilies, BgpSessionCapabilities, BmpPeerHeader } from './types.ts';

export const DEFAULT_MAX_PEERS_PER_ROUTER = 10_000;

export interface BmpPeerState {
  as4: boolean;
  /** Peer → router (Adj-RIB-In, Loc-RIB). */
  addPathReceive: AddPathFamilies;
  /** Router → peer (Adj-RIB-Out). */
  addPathSend: AddPathFamilies;
}

export interface BmpSessionOptions {
  /** Peers remembered per router connection (default 10,000). */
  maxPeers?: number;
  /**
   * Capabilities for a peer whose Peer Up was not seen (a capture that starts mid-session): by default 4-octet
   * AS and no ADD-PATH, what nearly every session negotiates today.
   */
  defaultCapabilities?: BgpSessionCapabilities;
}

export interface BmpSessionCounters {
  /** Peer Ups remembered. */
  peersUp: number;
  /** Peer Downs that forgot a peer. */
  peersDown: number;
  /** Peer Ups not remembered because the router already had `maxPeers` peers. */
  peersOverLimit: number;
  /** Route Monitoring messages of a peer with no Peer Up, decoded with the default capabilities. */
  unknownPeerMessages: number;
}

export interface BmpSession {
  readonly maxPeers: number;
  readonly defaultCapabilities: BgpSessionCapabilities;
  readonly peers: ReadonlyMap<string, BmpPeerState>;
  readonly counters: BmpSessionCounters;
  /** Remembers a peer's capabilities; false (and counted) when the bound is reached. */
  peerUp(peer: BmpPeerHeader, state: BmpPeerState): boolean;
  /** Forgets a peer; false when it was not known. */
  peerDown(peer: BmpPeerHeader): boolean;
  /** The peer's remembered state, if any. */
  peer(peer: BmpPeerHeader): BmpPeerState | undefined;
  /** Forgets every peer (the router's connection closed or sent a Termination). */
  clear(): void;
}

/** A peer's identity inside one router connection: peer type, distinguisher and address (RFC 7854 §4.2). */
export function peerKey(peer: BmpPeerHeader): string {
  return `${peer.peerType}|${peer.distinguisher}|${peer.address}`;
}

export function createBmpSession(options: BmpSessionOptions = {}): BmpSession {
  const maxPeers = options.maxPeers ?? DEFAULT_MAX_PEERS_PER_ROUTER;
  const defaultCapabilities = options.defaultCapabilities ?? { as4: true, addPath: new Set<string>() };
  const peers = new Map<string, BmpPeerState>();
  const counters: BmpSessionCounters = {
    peersUp: 0,
    peersDown: 0,
    peersOverLimit: 0,
    unknownPeerMessages: 0,
  };
  return {
    maxPeers,
    defaultCapabilities,
    peers,
    counters,
    peerUp(peer, state) {
      const key = peerKey(peer);
      if (!peers.has(key) && peers.size >= maxPeers) {
        counters.peersOverLimit += 1;
        return false;
      }
      peers.set(key, state);
      counters.peersUp += 1;
      return true;
    },
    peerDown(peer) {
      const known = peers.delete(peerKey(peer));
      if (known) counters.peersDown += 1;
      return known;
    },
    peer(peer) {
      return peers.get(peerKey(peer));
    },
    clear() {
      peers.clear();
    },
  };
}
