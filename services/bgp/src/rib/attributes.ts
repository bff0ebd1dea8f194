/**
 * Path attribute sets interned across every peer: a full table has a few hundred thousand distinct sets for a
 * million routes (one UPDATE announces many prefixes with one set), and peers of the same router share most of
 * theirs. A set is stored once as its canonical bytes: fields 13-22 of the RouteUpdate as `toBinary` writes them
 * (`encodeRouteAttributes`), which is also how the station writes the tail of every route it publishes. So the
 * processor interns a route's attributes by hashing the tail of the Kafka message as it arrived, and decodes
 * them only when the set is new (`RouteUpdateReader`, rib.ts). Bytes live in one arena (compacted when half of
 * it is dead), with offsets, lengths, hashes, origin ASes and reference counts in typed arrays and an
 * open-addressing hash of ids; routes hold the 4-byte id. Ids are reused when no route holds their set.
 *
 * The canonical text (`attributeKey`) is still what snapshots, queries and tests see; it is made from the bytes
 * when asked for, and text given to the table (snapshots, MRT loads, tests) is turned back into bytes.
 */

import { fromBinary } from '@bufbuild/protobuf';
import {
  type AsPathSegment,
  type RouteUpdate,
  RouteUpdateSchema,
} from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { formatIpAddress, parseIpAddress } from '@kansoku/contracts/ip-address';
import { encodeRouteAttributes, type RouteAttributeFields } from '../station/route-update-codec.ts';

/** The attributes of a route, decoded back from the interned text. */
export interface RouteAttributes {
  /** AS path in text: sequences space-separated, sets in braces (`64500 {64501,64502}`), confed in ( ) / [ ]. */
  asPath: string;
  originAs: number;
  nextHop: string;
  communities: string[];
  largeCommunities: string[];
  extendedCommunities: string[];
  localPref?: number;
  med?: number;
  /** 0 unspecified, 1 IGP, 2 EGP, 3 INCOMPLETE (the proto's numbers). */
  origin: number;
  atomicAggregate: boolean;
}

const FIELD_SEPARATOR = '\t';

function formatPath(update: Pick<RouteUpdate, 'asPath'>): string {
  const parts: string[] = [];
  for (const segment of update.asPath) {
    const asns = segment.asns.join(segment.type === 2 || segment.type === 3 ? ' ' : ',');
    if (segment.type === 1) parts.push(`{${asns}}`);
    else if (segment.type === 3) parts.push(`(${asns})`);
    else if (segment.type === 4) parts.push(`[${asns}]`);
    else parts.push(asns);
  }
  return parts.join(' ');
}

/** Canonical text of an announcement's attributes (the interning key). */
export function attributeKey(
  update: Pick<
    RouteUpdate,
    | 'asPath'
    | 'nextHopAddress'
    | 'communities'
    | 'largeCommunities'
    | 'extendedCommunities'
    | 'localPref'
    | 'med'
    | 'origin'
    | 'atomicAggregate'
    | 'originAs'
  >,
): string {
  const nextHop = update.nextHopAddress.length > 0 ? formatIpAddress(update.nextHopAddress) : '';
  const large = update.largeCommunities
    .map((c) => `${c.globalAdministrator}:${c.localData1}:${c.localData2}`)
    .join(' ');
  const communities = update.communities.map((c) => `${c >>> 16}:${c & 0xffff}`).join(' ');
  const extended = update.extendedCommunities.map((c) => c.toString(16)).join(' ');
  return [
    update.originAs,
    formatPath(update),
    nextHop,
    communities,
    large,
    extended,
    update.localPref ?? '',
    update.med ?? '',
    update.origin,
    update.atomicAggregate ? 1 : 0,
  ].join(FIELD_SEPARATOR);
}

export function parseAttributeKey(key: string): RouteAttributes {
  const [
    originAs = '0',
    asPath = '',
    nextHop = '',
    communities = '',
    large = '',
    extended = '',
    localPref = '',
    med = '',
    origin = '0',
    atomic = '0',
  ] = key.split(FIELD_SEPARATOR);
  const list = (text: string): string[] => (text === '' ? [] : text.split(' '));
  return {
    asPath,
    originAs: Number(originAs),
    nextHop,
    communities: list(communities),
    largeCommunities: list(large),
    extendedCommunities: list(extended),
    ...(localPref === '' ? {} : { localPref: Number(localPref) }),
    ...(med === '' ? {} : { med: Number(med) }),
    origin: Number(origin),
    atomicAggregate: atomic === '1',
  };
}

function nextHopBytes(text: string): Uint8Array {
  if (text === '') return new Uint8Array(0);
  if (text.startsWith('hex:')) return Uint8Array.from(Buffer.from(text.slice(4), 'hex'));
  return parseIpAddress(text);
}

const numbers = (text: string, separator: string): number[] =>
  text === '' ? [] : text.split(separator).map((n) => Number(n) >>> 0);

/** `formatPath`'s text back into segments (consecutive AS_SEQUENCE numbers come back as one segment). */
function parsePath(text: string): AsPathSegment[] {
  const segments: AsPathSegment[] = [];
  let sequence: number[] | undefined;
  let at = 0;
  while (at < text.length) {
    const c = text[at]!;
    if (c === ' ') {
      at++;
      continue;
    }
    const close = c === '{' ? '}' : c === '(' ? ')' : c === '[' ? ']' : undefined;
    if (close !== undefined) {
      const end = text.indexOf(close, at);
      const inner = text.slice(at + 1, end < 0 ? text.length : end);
      const type = c === '{' ? 1 : c === '(' ? 3 : 4;
      segments.push({
        $typeName: 'kansoku.bgp.v1.AsPathSegment',
        type,
        asns: numbers(inner, type === 3 ? ' ' : ','),
      });
      sequence = undefined;
      at = end < 0 ? text.length : end + 1;
      continue;
    }
    let end = text.indexOf(' ', at);
    if (end < 0) end = text.length;
    if (sequence === undefined) {
      sequence = [];
      segments.push({ $typeName: 'kansoku.bgp.v1.AsPathSegment', type: 2, asns: sequence });
    }
    sequence.push(Number(text.slice(at, end)) >>> 0);
    at = end;
  }
  return segments;
}

/** The attribute values a canonical text stands for. */
export function attributeFieldsOfKey(key: string): RouteAttributeFields {
  const [
    originAs = '0',
    asPath = '',
    nextHop = '',
    communities = '',
    large = '',
    extended = '',
    localPref = '',
    med = '',
    origin = '0',
    atomic = '0',
  ] = key.split(FIELD_SEPARATOR);
  const fields: RouteAttributeFields = {
    asPath: parsePath(asPath),
    originAs: Number(originAs) >>> 0,
    nextHopAddress: nextHopBytes(nextHop),
    communities:
      communities === ''
        ? []
        : communities.split(' ').map((c) => {
            const [high = '0', low = '0'] = c.split(':');
            return ((Number(high) << 16) | (Number(low) & 0xffff)) >>> 0;
          }),
    largeCommunities:
      large === ''
        ? []
        : large.split(' ').map((c) => {
            const [a = '0', b = '0', d = '0'] = c.split(':');
            return {
              $typeName: 'kansoku.bgp.v1.LargeCommunity' as const,
              globalAdministrator: Number(a) >>> 0,
              localData1: Number(b) >>> 0,
              localData2: Number(d) >>> 0,
            };
          }),
    extendedCommunities: extended === '' ? [] : extended.split(' ').map((c) => BigInt(`0x${c}`)),
    origin: Number(origin),
    atomicAggregate: atomic === '1',
  };
  if (localPref !== '') fields.localPref = Number(localPref) >>> 0;
  if (med !== '') fields.med = Number(med) >>> 0;
  return fields;
}

/** The canonical bytes of the set a text names (the table's identity of a set). */
export function attributeBytesOfKey(key: string): Uint8Array {
  return encodeRouteAttributes(attributeFieldsOfKey(key));
}

/** The canonical text of a set's bytes. */
export function attributeKeyOfBytes(bytes: Uint8Array): string {
  return attributeKey(fromBinary(RouteUpdateSchema, bytes));
}

/** FNV-1a over a byte range. */
export function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/** `starts` of an id no set has. */
const FREE = 0xffffffff;

export class AttributeTable {
  /** Sets held by at least one route. */
  size = 0;
  private arena = new Uint8Array(1 << 16);
  private arenaEnd = 0;
  /** Arena bytes of released sets (reclaimed by compaction). */
  private deadBytes = 0;
  private starts = new Uint32Array(1024);
  private lengths = new Uint32Array(1024);
  private hashes = new Uint32Array(1024);
  private origins = new Uint32Array(1024);
  private references = new Uint32Array(1024);
  /** Open addressing (linear probing): id + 1, 0 empty. */
  private slots = new Uint32Array(2048);
  private slotMask = 2047;
  private freeIds: number[] = [];
  private nextId = 0;

  /** Bytes of the typed arrays and the arena. */
  byteSize(): number {
    return (
      this.arena.byteLength + this.slots.byteLength + this.starts.byteLength * 5 + this.freeIds.length * 8
    );
  }

  /** Id of the set whose canonical bytes are `bytes[start, end)`, or -1. */
  find(bytes: Uint8Array, start: number, end: number, hash = hashBytes(bytes, start, end)): number {
    const length = end - start;
    for (let slot = hash & this.slotMask; ; slot = (slot + 1) & this.slotMask) {
      const entry = this.slots[slot]!;
      if (entry === 0) return -1;
      const id = entry - 1;
      if (this.hashes[id] !== hash || this.lengths[id] !== length) continue;
      const at = this.starts[id]!;
      const arena = this.arena;
      let i = 0;
      while (i < length && arena[at + i] === bytes[start + i]) i++;
      if (i === length) return id;
    }
  }

  /**
   * Id of the set with canonical bytes `bytes[start, end)` (one more reference to it); `originAs` is stored
   * when the set is new. The caller vouches that the bytes are canonical (`encodeRouteAttributes`' output).
   */
  acquireBytes(
    bytes: Uint8Array,
    start: number,
    end: number,
    originAs: number,
    hash = hashBytes(bytes, start, end),
  ): number {
    let id = this.find(bytes, start, end, hash);
    if (id < 0) id = this.insert(bytes, start, end, originAs, hash);
    this.references[id]!++;
    return id;
  }

  /** One more reference to a set already held. */
  retain(id: number): void {
    this.references[id]!++;
  }

  /** Id of the set a canonical text names (one more reference to it). */
  acquire(key: string, originAs: number): number {
    const bytes = attributeBytesOfKey(key);
    return this.acquireBytes(bytes, 0, bytes.length, originAs);
  }

  private insert(bytes: Uint8Array, start: number, end: number, originAs: number, hash: number): number {
    const length = end - start;
    if (this.arenaEnd + length > this.arena.length) this.makeRoom(length);
    if ((this.size + 1) * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    const id = this.freeIds.pop() ?? this.nextId++;
    if (id >= this.starts.length) this.growIds();
    this.arena.set(bytes.subarray(start, end), this.arenaEnd);
    this.starts[id] = this.arenaEnd;
    this.lengths[id] = length;
    this.arenaEnd += length;
    this.hashes[id] = hash;
    this.origins[id] = originAs;
    this.references[id] = 0;
    this.size++;
    let slot = hash & this.slotMask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.slotMask;
    this.slots[slot] = id + 1;
    return id;
  }

  private growIds(): void {
    const grow = (a: Uint32Array) => {
      const b = new Uint32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.starts = grow(this.starts);
    this.lengths = grow(this.lengths);
    this.hashes = grow(this.hashes);
    this.origins = grow(this.origins);
    this.references = grow(this.references);
  }

  /** Room for `length` more bytes: the live sets copied to a new arena, twice as large unless half was dead. */
  private makeRoom(length: number): void {
    const live = this.arenaEnd - this.deadBytes;
    let size = this.arena.length;
    if (this.deadBytes * 2 < this.arenaEnd) size *= 2;
    while (size < (live + length) * 1.25) size *= 2;
    const arena = new Uint8Array(size);
    let at = 0;
    for (let id = 0; id < this.nextId; id++) {
      const start = this.starts[id]!;
      if (start === FREE) continue;
      const n = this.lengths[id]!;
      arena.set(this.arena.subarray(start, start + n), at);
      this.starts[id] = at;
      at += n;
    }
    this.arena = arena;
    this.arenaEnd = at;
    this.deadBytes = 0;
  }

  private slotOf(id: number): number {
    for (let slot = this.hashes[id]! & this.slotMask; ; slot = (slot + 1) & this.slotMask) {
      const entry = this.slots[slot]!;
      if (entry === 0) return -1;
      if (entry === id + 1) return slot;
    }
  }

  private rehash(slotCount: number): void {
    this.slots = new Uint32Array(slotCount);
    this.slotMask = slotCount - 1;
    for (let id = 0; id < this.nextId; id++) {
      if (this.starts[id] === FREE) continue;
      let slot = this.hashes[id]! & this.slotMask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.slotMask;
      this.slots[slot] = id + 1;
    }
  }

  /** One reference less; the set is forgotten with its last one. */
  release(id: number): void {
    const left = this.references[id]! - 1;
    this.references[id] = left;
    if (left > 0) return;
    // Backward-shift deletion keeps every probe sequence unbroken.
    let hole = this.slotOf(id);
    if (hole >= 0) {
      this.slots[hole] = 0;
      for (let slot = (hole + 1) & this.slotMask; this.slots[slot] !== 0; slot = (slot + 1) & this.slotMask) {
        const other = this.slots[slot]! - 1;
        const home = this.hashes[other]! & this.slotMask;
        // Move `other` into the hole unless its home lies cyclically in (hole, slot].
        const between = hole <= slot ? home > hole && home <= slot : home > hole || home <= slot;
        if (between) continue;
        this.slots[hole] = other + 1;
        this.slots[slot] = 0;
        hole = slot;
      }
    }
    this.deadBytes += this.lengths[id]!;
    this.starts[id] = FREE;
    this.lengths[id] = 0;
    this.freeIds.push(id);
    this.size--;
  }

  originAs(id: number): number {
    return this.origins[id]!;
  }

  /** The set's canonical bytes (a view: copy it to keep it). */
  bytes(id: number): Uint8Array {
    const start = this.starts[id]!;
    return this.arena.subarray(start, start + this.lengths[id]!);
  }

  /** The set's canonical text. */
  key(id: number): string {
    return this.starts[id] === FREE || id >= this.nextId ? '' : attributeKeyOfBytes(this.bytes(id));
  }

  attributes(id: number): RouteAttributes {
    return parseAttributeKey(this.key(id));
  }
}
