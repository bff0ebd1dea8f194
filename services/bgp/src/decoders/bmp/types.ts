/**
 * Decoded BMP messages (RFC 7854, with RFC 9069 Loc-RIB and RFC 8671 Adj-RIB-Out). Addresses are kept both
 * as text (for logs and comparisons) and as 4 or 16 bytes in network order (for the contracts). BGP messages
 * inside them are the BGP parser's.
 */

import type { BgpNotification, BgpOpen, BgpUpdate } from '../bgp/types.ts';

export const BmpMessageType = {
  ROUTE_MONITORING: 0,
  STATISTICS_REPORT: 1,
  PEER_DOWN: 2,
  PEER_UP: 3,
  INITIATION: 4,
  TERMINATION: 5,
  ROUTE_MIRRORING: 6,
} as const;

/** Per-peer header peer type codes (RFC 7854 §4.2, RFC 9069 §4.1 for Loc-RIB). */
export const BmpPeerTypeCode = {
  GLOBAL_INSTANCE: 0,
  RD_INSTANCE: 1,
  LOCAL_INSTANCE: 2,
  LOC_RIB_INSTANCE: 3,
} as const;

export type BmpPeerType = 'global-instance' | 'rd-instance' | 'local-instance' | 'loc-rib-instance';

/** Per-peer header flag bits. V, L, A are RFC 7854's; O is RFC 8671's; F is RFC 9069's (Loc-RIB only). */
export const BmpPeerFlag = {
  /** V: the peer address is IPv6. */
  IPV6: 0x80,
  /** L: post-policy (Adj-RIB-In after inbound policy, Adj-RIB-Out after outbound policy). */
  POST_POLICY: 0x40,
  /** A: the BGP messages use the legacy 2-octet AS_PATH format. */
  LEGACY_AS_PATH: 0x20,
  /** O: Adj-RIB-Out (RFC 8671). */
  ADJ_RIB_OUT: 0x10,
  /** F (Loc-RIB peer type): the Loc-RIB is filtered (RFC 9069 §4.2). */
  LOC_RIB_FILTERED: 0x80,
} as const;

/** Which RIB a route monitoring message reports (peer type and flags combined). */
export type RibType =
  | 'adj-rib-in-pre'
  | 'adj-rib-in-post'
  | 'adj-rib-out-pre'
  | 'adj-rib-out-post'
  | 'loc-rib';

export interface BmpPeerHeader {
  peerType: BmpPeerType;
  /** The flag byte as sent. */
  flags: number;
  /** V flag (never set for Loc-RIB, whose byte 0x80 means "filtered"). */
  ipv6: boolean;
  /** L flag. */
  postPolicy: boolean;
  /** A flag: AS_PATH has 2-octet AS numbers whatever the session negotiated. */
  legacyAsPath: boolean;
  /** O flag. */
  adjRibOut: boolean;
  /** F flag of a Loc-RIB instance peer. */
  filtered: boolean;
  rib: RibType;
  /** Peer distinguisher, as the 8 bytes read big-endian (an RD for RD instance peers, zero for global). */
  distinguisher: bigint;
  /** Peer address (IPv4 for V clear, else IPv6); the zero address for Loc-RIB. */
  address: string;
  addressBytes: Buffer;
  asn: number;
  /** BGP identifier, dotted quad. */
  bgpId: string;
  /** Time the router stamped (zero when it has none). */
  timestampSeconds: number;
  timestampMicros: number;
}

/** A type-length-value of Initiation, Termination, Peer Up, Peer Down (RFC 9069) or Route Mirroring. */
export interface BmpTlv {
  type: number;
  value: Buffer;
}

/** Information TLV types of Initiation and Peer Up (IANA "BMP Initiation and Peer Up Information TLVs"). */
export const BmpInformationType = {
  STRING: 0,
  SYS_DESCR: 1,
  SYS_NAME: 2,
  /** VRF or table name (RFC 9069), Peer Up only. */
  VRF_TABLE_NAME: 3,
  /** Admin label (RFC 8671's registry), Peer Up only. */
  ADMIN_LABEL: 4,
} as const;

export interface BmpInformation {
  /** Every TLV, in order (unknown types kept). */
  tlvs: BmpTlv[];
  /** Type 0 strings, in order. */
  strings: string[];
  sysDescr?: string;
  sysName?: string;
  vrfTableName?: string;
  adminLabel?: string;
}

export interface BmpRouteMonitoring {
  type: 'route-monitoring';
  peer: BmpPeerHeader;
  /** The BGP UPDATE as sent (BGP header included). */
  pdu: Buffer;
  update: BgpUpdate;
  /** The capabilities the UPDATE was decoded with (from the peer's Peer Up, or the session's defaults). */
  capabilities: BgpSessionCapabilities;
  /** Whether the session had seen this peer's Peer Up (false: decoded with the session defaults). */
  peerKnown: boolean;
}

/** Statistics types (IANA "BMP Statistics Types"): 0-6 and 11-13 are 32-bit counters, 7-8 and 14-15 64-bit
 * gauges, 9-10 and 16-17 64-bit gauges per AFI/SAFI. */
export const BmpStatType = {
  REJECTED_PREFIXES: 0,
  DUPLICATE_PREFIX_ADVERTISEMENTS: 1,
  DUPLICATE_WITHDRAWS: 2,
  INVALIDATED_CLUSTER_LIST_LOOP: 3,
  INVALIDATED_AS_PATH_LOOP: 4,
  INVALIDATED_ORIGINATOR_ID: 5,
  INVALIDATED_AS_CONFED_LOOP: 6,
  ADJ_RIB_IN_ROUTES: 7,
  LOC_RIB_ROUTES: 8,
  ADJ_RIB_IN_ROUTES_PER_AFI_SAFI: 9,
  LOC_RIB_ROUTES_PER_AFI_SAFI: 10,
  TREAT_AS_WITHDRAW_UPDATES: 11,
  TREAT_AS_WITHDRAW_PREFIXES: 12,
  DUPLICATE_UPDATES: 13,
  ADJ_RIB_OUT_PRE_POLICY_ROUTES: 14,
  ADJ_RIB_OUT_POST_POLICY_ROUTES: 15,
  ADJ_RIB_OUT_PRE_POLICY_ROUTES_PER_AFI_SAFI: 16,
  ADJ_RIB_OUT_POST_POLICY_ROUTES_PER_AFI_SAFI: 17,
} as const;

export type BmpStat =
  | { type: number; kind: 'counter32' | 'gauge64'; value: bigint }
  | { type: number; kind: 'afi-safi-gauge64'; afi: number; safi: number; value: bigint }
  /** A type this parser does not know, or a known one of an unexpected size: kept raw, skipped by its length. */
  | { type: number; kind: 'unknown'; value: Buffer };

export interface BmpStatisticsReport {
  type: 'statistics-report';
  peer: BmpPeerHeader;
  stats: BmpStat[];
  /** Stats kept raw (type unknown or size unexpected). */
  unknownStats: number;
}

export const BmpPeerDownReason = {
  LOCAL_NOTIFICATION: 1,
  LOCAL_NO_NOTIFICATION: 2,
  REMOTE_NOTIFICATION: 3,
  REMOTE_NO_NOTIFICATION: 4,
  PEER_DECONFIGURED: 5,
  /** RFC 9069: local system closed, TLV data follows. */
  LOCAL_SYSTEM_CLOSED: 6,
} as const;

export interface BmpPeerDown {
  type: 'peer-down';
  peer: BmpPeerHeader;
  /** Reason code (1-6 known; others kept with their data raw). */
  reason: number;
  /** Reasons 1 and 3: the NOTIFICATION PDU sent or received, and its decoded code and subcode. */
  notificationPdu?: Buffer;
  notification?: BgpNotification;
  /** Reason 2: the FSM event code (RFC 4271 §8.1). */
  fsmEventCode?: number;
  /** Reason 6: the TLVs that follow. */
  information?: BmpInformation;
  /** Unknown reasons: the data after the reason byte. */
  data?: Buffer;
}

/** ADD-PATH families as `${afi}/${safi}` keys (`1/1` IPv4 unicast, `2/1` IPv6 unicast). */
export type AddPathFamilies = ReadonlySet<string>;

/** What decoding a BGP UPDATE of a session needs to know: RFC 6793 4-octet AS, RFC 7911 ADD-PATH. */
export interface BgpSessionCapabilities {
  as4: boolean;
  /** Families whose NLRI carry path identifiers in the direction of the UPDATEs monitored. */
  addPath: AddPathFamilies;
}

export interface BmpPeerUp {
  type: 'peer-up';
  peer: BmpPeerHeader;
  /** Address of the monitored router's end of the session (IPv4 when the V flag is clear). */
  localAddress: string;
  localAddressBytes: Buffer;
  localPort: number;
  remotePort: number;
  /** OPEN the monitored router sent to the peer, and the one it received. */
  sentOpen: BgpOpen;
  receivedOpen: BgpOpen;
  /** Both OPENs as sent (BGP header included). */
  sentOpenPdu: Buffer;
  receivedOpenPdu: Buffer;
  information: BmpInformation;
  /** Negotiated: both OPENs advertise 4-octet AS. */
  as4: boolean;
  /** Families with ADD-PATH from the peer to the router (Adj-RIB-In, Loc-RIB). */
  addPathReceive: AddPathFamilies;
  /** Families with ADD-PATH from the router to the peer (Adj-RIB-Out). */
  addPathSend: AddPathFamilies;
}

export interface BmpInitiation {
  type: 'initiation';
  information: BmpInformation;
}

export const BmpTerminationReason = {
  ADMINISTRATIVELY_CLOSED: 0,
  UNSPECIFIED: 1,
  OUT_OF_RESOURCES: 2,
  REDUNDANT_CONNECTION: 3,
  PERMANENTLY_ADMINISTRATIVELY_CLOSED: 4,
} as const;

export interface BmpTermination {
  type: 'termination';
  tlvs: BmpTlv[];
  strings: string[];
  /** Reason TLV (type 1) value, when present. */
  reason?: number;
}

export interface BmpRouteMirroring {
  type: 'route-mirroring';
  peer: BmpPeerHeader;
  tlvs: BmpTlv[];
  /** Type 0 TLVs: the BGP messages mirrored. */
  bgpMessages: Buffer[];
  /** Type 1 TLVs: 0 errored PDU, 1 messages lost. */
  information: number[];
}

export type BmpMessage =
  | BmpRouteMonitoring
  | BmpStatisticsReport
  | BmpPeerDown
  | BmpPeerUp
  | BmpInitiation
  | BmpTermination
  | BmpRouteMirroring;
