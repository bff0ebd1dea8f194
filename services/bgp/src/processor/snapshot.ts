/**
 * The RIB on disk, so a restarted bgp-processor does not depend on Kafka still holding every route it ever
 * received (the updates topic keeps 7 days; a BGP session can stay up for months and never re-send a route).
 *
 * File: `KBRIB1\n`, a u32 header length, a JSON header (Kafka group, the next offset of every partition the
 * snapshot includes, peers, Peer Down times, attribute texts), then one binary record per route: peer index
 * (u16), family (u8), length (u8), path id (u32), attribute index (u32), receive time (f64 ms), address (4 or
 * 16 octets). Written to a temporary file and renamed, so a crash leaves the previous snapshot whole.
 */

import { open, readFile, rename } from 'node:fs/promises';
import { KansokuError } from '@kansoku/kit';
import type { PeerInfo, Rib } from '../rib/rib.ts';

const MAGIC = Buffer.from('KBRIB1\n');

export interface PartitionOffset {
  topic: string;
  partition: number;
  /** Offset of the next message to read. */
  next: string;
}

export interface SnapshotHeader {
  version: 1;
  groupId: string;
  writtenAtMs: number;
  offsets: PartitionOffset[];
  peers: PeerInfo[];
  downTimes: [string, number][];
  attributes: string[];
  routes: number;
}

export class SnapshotError extends KansokuError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KANSOKU_BGP_SNAPSHOT_INVALID', message, options);
  }
}

/**
 * The snapshot's bytes, built synchronously so that the caller can take it in the same turn as the offsets it
 * includes (no message is applied in between).
 */
export function encodeRibSnapshot(
  rib: Rib,
  state: { groupId: string; offsets: PartitionOffset[] },
): { chunks: Buffer[]; routes: number } {
  const peerIndex = new Map<string, number>();
  const peers: PeerInfo[] = [];
  const attributeIndex = new Map<string, number>();
  const attributes: string[] = [];
  const chunks: Buffer[] = [];
  let chunk = Buffer.allocUnsafe(1 << 20);
  let at = 0;
  let routes = 0;
  rib.forEachRoute((peer, family, address, length, pathId, attributeText, _origin, receivedMs) => {
    let p = peerIndex.get(peer.key);
    if (p === undefined) {
      p = peers.length;
      peers.push(peer);
      peerIndex.set(peer.key, p);
    }
    let a = attributeIndex.get(attributeText);
    if (a === undefined) {
      a = attributes.length;
      attributes.push(attributeText);
      attributeIndex.set(attributeText, a);
    }
    if (at + 36 > chunk.length) {
      chunks.push(chunk.subarray(0, at));
      chunk = Buffer.allocUnsafe(1 << 20);
      at = 0;
    }
    chunk.writeUInt16BE(p, at);
    chunk[at + 2] = family;
    chunk[at + 3] = length;
    chunk.writeUInt32BE(pathId >>> 0, at + 4);
    chunk.writeUInt32BE(a, at + 8);
    chunk.writeDoubleBE(receivedMs, at + 12);
    chunk.set(address, at + 20);
    at += 20 + address.length;
    routes++;
  });
  chunks.push(chunk.subarray(0, at));
  if (peers.length > 0xffff)
    throw new SnapshotError(`${peers.length} peer RIBs do not fit a snapshot (65,535)`);
  const header: SnapshotHeader = {
    version: 1,
    groupId: state.groupId,
    writtenAtMs: Date.now(),
    offsets: state.offsets,
    peers,
    downTimes: [...rib.downTimes()],
    attributes,
    routes,
  };
  const headerBytes = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(headerBytes.length);
  return { chunks: [MAGIC, length, headerBytes, ...chunks], routes };
}

/** Writes encoded snapshot bytes to a temporary file, syncs it and renames it over `path`. */
export async function writeSnapshotFile(path: string, chunks: readonly Buffer[]): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await open(temporary, 'w');
  try {
    // writev takes a bounded number of buffers per call.
    for (let i = 0; i < chunks.length; i += 512) await file.writev(chunks.slice(i, i + 512));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
}

/** Writes the RIB and the offsets it includes; returns the routes written. */
export async function writeRibSnapshot(
  path: string,
  rib: Rib,
  state: { groupId: string; offsets: PartitionOffset[] },
): Promise<number> {
  const { chunks, routes } = encodeRibSnapshot(rib, state);
  await writeSnapshotFile(path, chunks);
  return routes;
}

/** Loads a snapshot into an empty RIB; undefined when the file does not exist. */
export async function readRibSnapshot(path: string, rib: Rib): Promise<SnapshotHeader | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (bytes.length < MAGIC.length + 4 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SnapshotError(`${path} is not a RIB snapshot`);
  }
  const headerLength = bytes.readUInt32BE(MAGIC.length);
  let header: SnapshotHeader;
  try {
    header = JSON.parse(
      bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + headerLength).toString(),
    ) as SnapshotHeader;
  } catch (error) {
    throw new SnapshotError(`${path}: header is not JSON`, { cause: error });
  }
  if (header.version !== 1)
    throw new SnapshotError(`${path}: version ${String(header.version)} is not known`);
  for (const [key, ms] of header.downTimes) {
    const [router = '', distinguisher = '', address = ''] = key.split('|');
    rib.restoreDownTime({ router, distinguisher, address }, ms);
  }
  for (const peer of header.peers) rib.ensurePeer(peer, peer.ribType, peer.asn, peer.bgpId);
  const origins = header.attributes.map((text) => Number(text.slice(0, text.indexOf('\t'))) >>> 0);
  let at = MAGIC.length + 4 + headerLength;
  let routes = 0;
  while (at < bytes.length) {
    if (at + 20 > bytes.length) throw new SnapshotError(`${path}: truncated route record at byte ${at}`);
    const peer = header.peers[bytes.readUInt16BE(at)];
    const family = bytes[at + 2];
    const length = bytes[at + 3]!;
    const pathId = bytes.readUInt32BE(at + 4);
    const attribute = bytes.readUInt32BE(at + 8);
    const receivedMs = bytes.readDoubleBE(at + 12);
    const size = family === 4 ? 4 : 16;
    const text = header.attributes[attribute];
    if (
      peer === undefined ||
      (family !== 4 && family !== 6) ||
      text === undefined ||
      at + 20 + size > bytes.length
    ) {
      throw new SnapshotError(`${path}: bad route record at byte ${at}`);
    }
    rib.announceRoute(
      { identity: peer, ribType: peer.ribType, asn: peer.asn },
      family,
      bytes.subarray(at + 20, at + 20 + size),
      length,
      pathId,
      text,
      origins[attribute]!,
      receivedMs,
    );
    at += 20 + size;
    routes++;
  }
  if (routes !== header.routes)
    throw new SnapshotError(`${path}: ${routes} routes, header says ${header.routes}`);
  return header;
}
