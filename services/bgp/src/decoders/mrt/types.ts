/** MRT records (RFC 6396, RFC 8050) as the reader yields them. */

import type { KansokuError } from '@kansoku/kit/errors';

import type { BgpMessage, PathAttributes, Prefix } from '../bgp/types.ts';

export const MRT_TYPE_BGP = 5;
export const MRT_TYPE_BGP4PLUS = 9;
export const MRT_TYPE_BGP4PLUS_01 = 10;
export const MRT_TYPE_TABLE_DUMP = 12;
export const MRT_TYPE_TABLE_DUMP_V2 = 13;
export const MRT_TYPE_BGP4MP = 16;
export const MRT_TYPE_BGP4MP_ET = 17;

export const TDV2_PEER_INDEX_TABLE = 1;
export const TDV2_RIB_IPV4_UNICAST = 2;
export const TDV2_RIB_IPV4_MULTICAST = 3;
export const TDV2_RIB_IPV6_UNICAST = 4;
export const TDV2_RIB_IPV6_MULTICAST = 5;
export const TDV2_RIB_GENERIC = 6;
export const TDV2_RIB_IPV4_UNICAST_ADDPATH = 8;
export const TDV2_RIB_IPV4_MULTICAST_ADDPATH = 9;
export const TDV2_RIB_IPV6_UNICAST_ADDPATH = 10;
export const TDV2_RIB_IPV6_MULTICAST_ADDPATH = 11;
export const TDV2_RIB_GENERIC_ADDPATH = 12;

export const BGP4MP_STATE_CHANGE = 0;
export const BGP4MP_MESSAGE = 1;
export const BGP4MP_MESSAGE_AS4 = 4;
export const BGP4MP_STATE_CHANGE_AS4 = 5;
export const BGP4MP_MESSAGE_LOCAL = 6;
export const BGP4MP_MESSAGE_AS4_LOCAL = 7;
export const BGP4MP_MESSAGE_ADDPATH = 8;
export const BGP4MP_MESSAGE_AS4_ADDPATH = 9;
export const BGP4MP_MESSAGE_LOCAL_ADDPATH = 10;
export const BGP4MP_MESSAGE_AS4_LOCAL_ADDPATH = 11;

/** The common header of every record. */
export interface MrtHeader {
  /** Seconds since the Unix epoch (the time of the dump or of the message). */
  timestamp: number;
  /** Microseconds, for the `_ET` types (extended timestamp); undefined otherwise. */
  microseconds?: number;
  type: number;
  subtype: number;
  /** Body length as declared in the header (excluding the 12-octet header; including the ET microseconds). */
  length: number;
}

export interface MrtPeer {
  /** 4 or 16 octets. */
  address: Uint8Array;
  asn: number;
  /** BGP identifier, 4 octets (TABLE_DUMP_V2 only; zeros elsewhere). */
  bgpId?: Uint8Array;
}

/** TABLE_DUMP (type 12) entry. */
export interface TableDumpEntry {
  prefix: Prefix;
  status: number;
  /** When the route was received (seconds since the epoch). */
  originatedTime: number;
  peer: MrtPeer;
  attributes: PathAttributes;
}

/**
 * TABLE_DUMP (type 12, RFC 6396 §4.2). Normally one entry per record; the historical rrc00 bviews of 2000 batch
 * many entries after one view/sequence pair (see reader.ts), hence `entries`.
 */
export interface TableDumpRecord {
  kind: 'table-dump';
  header: MrtHeader;
  view: number;
  sequence: number;
  entries: TableDumpEntry[];
  /** Bytes the record really took beyond its declared length (4 for the rrc00 quirk, else 0). */
  lengthCorrection: number;
}

export interface PeerIndexTableRecord {
  kind: 'peer-index-table';
  header: MrtHeader;
  collectorBgpId: Uint8Array;
  viewName: string;
  peers: MrtPeer[];
}

export interface RibEntry {
  peerIndex: number;
  /** The PEER_INDEX_TABLE's peer at `peerIndex`. */
  peer: MrtPeer;
  originatedTime: number;
  /** RFC 8050 path identifier, for the _ADDPATH subtypes. */
  pathId?: number;
  attributes: PathAttributes;
}

/** TABLE_DUMP_V2 RIB_IPV4/IPV6_UNICAST/MULTICAST and their _ADDPATH variants. */
export interface RibRecord {
  kind: 'rib';
  header: MrtHeader;
  sequence: number;
  afi: 1 | 2;
  safi: number;
  addPath: boolean;
  prefix: Prefix;
  entries: RibEntry[];
}

/** TABLE_DUMP_V2 RIB_GENERIC(_ADDPATH): counted by family, entries not decoded. */
export interface RibGenericRecord {
  kind: 'rib-generic';
  header: MrtHeader;
  sequence: number;
  afi: number;
  safi: number;
  entryCount: number;
}

/** Who sent a BGP4MP message or changed state. */
export interface Bgp4mpPeering {
  peerAs: number;
  localAs: number;
  interfaceIndex: number;
  /** AFI of the addresses below. */
  afi: number;
  peerAddress: Uint8Array;
  localAddress: Uint8Array;
}

/** BGP4MP(_ET) MESSAGE*, and the deprecated BGP / BGP4PLUS types' messages. */
export interface Bgp4mpMessageRecord extends Bgp4mpPeering {
  kind: 'bgp4mp-message';
  header: MrtHeader;
  /** The message's ASNs are 4-octet (MESSAGE_AS4*; TABLE_DUMP_V2-era). */
  as4: boolean;
  /** NLRI carry path identifiers (the _ADDPATH subtypes, RFC 8050). */
  addPath: boolean;
  /** Sent by the local speaker (the _LOCAL subtypes) rather than received. */
  local: boolean;
  message: BgpMessage;
}

/** BGP4MP(_ET) STATE_CHANGE(_AS4) and the deprecated BGP_STATE_CHANGE. States: 1 Idle … 6 Established. */
export interface Bgp4mpStateChangeRecord extends Bgp4mpPeering {
  kind: 'bgp4mp-state-change';
  header: MrtHeader;
  oldState: number;
  newState: number;
}

/** A record of a type or subtype the reader does not decode (OSPF, IS-IS, BGP_SYNC, …): counted, skipped. */
export interface UnsupportedRecord {
  kind: 'unsupported';
  header: MrtHeader;
}

/** A record that could not be decoded; the reader goes on with the next one (`error` has a stable code). */
export interface MalformedRecord {
  kind: 'malformed';
  header: MrtHeader;
  error: KansokuError;
}

export type MrtRecord =
  | TableDumpRecord
  | PeerIndexTableRecord
  | RibRecord
  | RibGenericRecord
  | Bgp4mpMessageRecord
  | Bgp4mpStateChangeRecord
  | UnsupportedRecord
  | MalformedRecord;
