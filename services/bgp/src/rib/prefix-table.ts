/**
 * The prefixes present in the RIB (any peer), one table per address family, interned to dense ids so per-peer
 * tables and the longest-prefix-match structure hold 4-byte ids instead of addresses. Storage is typed arrays
 * grown by doubling; the index is an open-addressing hash with linear probing and backward-shift deletion (no
 * tombstones, so a table that churns for months does not slow down).
 *
 * Per prefix it also keeps the routes that reference it (across peers and ADD-PATH paths) and the origin AS the
 * IP → AS lookup answers: the origin carried by most of those routes (ties: the lowest ASN). Almost every prefix
 * has one origin, kept in two arrays; a prefix announced with several origins (MOAS, or a hijack in progress)
 * gets a small per-prefix map of origin → routes until it is back to one.
 */

/** 32-bit words of an address: 1 for IPv4, 4 for IPv6. */
export type AddressWords = 1 | 4;

const INITIAL_CAPACITY = 1024;

/** Fills `out` with the address's big-endian 32-bit words and clears the bits past `length`. */
export function addressToWords(address: Uint8Array, length: number, out: Uint32Array): void {
  const words = address.length >>> 2;
  for (let w = 0; w < words; w++) {
    const o = w << 2;
    out[w] =
      (((address[o] ?? 0) << 24) |
        ((address[o + 1] ?? 0) << 16) |
        ((address[o + 2] ?? 0) << 8) |
        (address[o + 3] ?? 0)) >>>
      0;
  }
  maskWords(out, words, length);
}

/** Clears the bits past `length` of a words array. */
export function maskWords(out: Uint32Array, words: number, length: number): void {
  for (let w = 0; w < words; w++) {
    const keep = length - w * 32;
    if (keep >= 32) continue;
    out[w] = keep <= 0 ? 0 : (out[w]! & (0xffffffff << (32 - keep))) >>> 0;
  }
}

/** The address bytes of words (4 or 16 octets). */
export function wordsToAddress(words: Uint32Array, offset: number, count: AddressWords): Uint8Array {
  const out = new Uint8Array(count * 4);
  for (let w = 0; w < count; w++) {
    const v = words[offset + w]!;
    out[w * 4] = v >>> 24;
    out[w * 4 + 1] = (v >>> 16) & 0xff;
    out[w * 4 + 2] = (v >>> 8) & 0xff;
    out[w * 4 + 3] = v & 0xff;
  }
  return out;
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface OriginChange {
  prefixId: number;
  previous: number;
  current: number;
}

export class PrefixTable {
  readonly words: AddressWords;
  readonly bits: 32 | 128;
  /** Prefixes present. */
  size = 0;
  /** Per length: prefixes present (the IPv6 lookup probes only lengths in use). */
  readonly lengthCounts: Uint32Array;

  private capacity = 0;
  private highWater = 0;
  private addresses = new Uint32Array(0);
  private lengths = new Uint8Array(0);
  private routeCounts = new Uint32Array(0);
  private origins = new Uint32Array(0);
  /** Origin → routes, for prefixes whose routes carry more than one origin. */
  private readonly multiOrigin = new Map<number, Map<number, number>>();
  private freeIds: number[] = [];
  /** Hash slots hold id + 1; 0 is empty. */
  private slots = new Int32Array(0);
  private slotMask = 0;

  constructor(words: AddressWords) {
    this.words = words;
    this.bits = words === 1 ? 32 : 128;
    this.lengthCounts = new Uint32Array(this.bits + 1);
    this.growIds(INITIAL_CAPACITY);
    this.rehash(INITIAL_CAPACITY * 2);
  }

  /** Bytes held by the typed arrays (for the memory figures). */
  byteSize(): number {
    return (
      this.addresses.byteLength +
      this.lengths.byteLength +
      this.routeCounts.byteLength +
      this.origins.byteLength +
      this.slots.byteLength
    );
  }

  length(id: number): number {
    return this.lengths[id]!;
  }

  /** First word of the address (the IPv4 address as a number). */
  word(id: number, index = 0): number {
    return this.addresses[id * this.words + index]!;
  }

  address(id: number): Uint8Array {
    return wordsToAddress(this.addresses, id * this.words, this.words);
  }

  routes(id: number): number {
    return this.routeCounts[id]!;
  }

  /** The origin AS the lookup answers for this prefix (0: its paths end in an AS_SET or carry none). */
  origin(id: number): number {
    return this.origins[id]!;
  }

  /** Origins announced for the prefix with their route counts. */
  originsOf(id: number): Map<number, number> {
    const multi = this.multiOrigin.get(id);
    if (multi !== undefined) return new Map(multi);
    const routes = this.routeCounts[id]!;
    return routes === 0 ? new Map() : new Map([[this.origins[id]!, routes]]);
  }

  /** Whether some route of the prefix carries `origin`. */
  hasOrigin(id: number, origin: number): boolean {
    const multi = this.multiOrigin.get(id);
    if (multi !== undefined) return multi.has(origin);
    return this.routeCounts[id]! > 0 && this.origins[id] === origin;
  }

  private hash(words: Uint32Array, length: number): number {
    let h = Math.imul(length + 1, 0x9e3779b1);
    for (let w = 0; w < this.words; w++) h = mix(h ^ words[w]!);
    return h;
  }

  private hashOfId(id: number): number {
    let h = Math.imul(this.lengths[id]! + 1, 0x9e3779b1);
    const base = id * this.words;
    for (let w = 0; w < this.words; w++) h = mix(h ^ this.addresses[base + w]!);
    return h;
  }

  private equals(id: number, words: Uint32Array, length: number): boolean {
    if (this.lengths[id] !== length) return false;
    const base = id * this.words;
    for (let w = 0; w < this.words; w++) if (this.addresses[base + w] !== words[w]) return false;
    return true;
  }

  /** Id of the prefix (`words` masked to `length`), or -1. */
  find(words: Uint32Array, length: number): number {
    let slot = this.hash(words, length) & this.slotMask;
    for (;;) {
      const entry = this.slots[slot]!;
      if (entry === 0) return -1;
      if (this.equals(entry - 1, words, length)) return entry - 1;
      slot = (slot + 1) & this.slotMask;
    }
  }

  /** IPv4 fast path of `find`. */
  findV4(address: number, length: number): number {
    let slot = mix(Math.imul(length + 1, 0x9e3779b1) ^ address) & this.slotMask;
    for (;;) {
      const entry = this.slots[slot]!;
      if (entry === 0) return -1;
      const id = entry - 1;
      if (this.addresses[id] === address && this.lengths[id] === length) return id;
      slot = (slot + 1) & this.slotMask;
    }
  }

  /** Id of the prefix, created (with no routes) when absent; `created` says which. */
  intern(words: Uint32Array, length: number): { id: number; created: boolean } {
    const found = this.find(words, length);
    if (found >= 0) return { id: found, created: false };
    let id = this.freeIds.pop();
    if (id === undefined) {
      if (this.highWater === this.capacity) this.growIds(this.capacity * 2);
      id = this.highWater++;
    }
    const base = id * this.words;
    for (let w = 0; w < this.words; w++) this.addresses[base + w] = words[w]!;
    this.lengths[id] = length;
    this.routeCounts[id] = 0;
    this.origins[id] = 0;
    this.size++;
    this.lengthCounts[length]!++;
    if (this.size * 4 > this.slots.length * 3) this.rehash(this.slots.length * 2);
    this.insertSlot(id);
    return { id, created: true };
  }

  /**
   * Counts one more route with `origin` on the prefix; returns the origin change of the prefix's answer, if
   * any (from 0 when it is the prefix's first route).
   */
  addRoute(id: number, origin: number): OriginChange | undefined {
    const routes = this.routeCounts[id]!;
    this.routeCounts[id] = routes + 1;
    if (routes === 0) {
      this.origins[id] = origin;
      return { prefixId: id, previous: 0, current: origin };
    }
    let multi = this.multiOrigin.get(id);
    if (multi === undefined) {
      if (this.origins[id] === origin) return undefined;
      multi = new Map([[this.origins[id]!, routes]]);
      this.multiOrigin.set(id, multi);
    }
    multi.set(origin, (multi.get(origin) ?? 0) + 1);
    return this.reelect(id, multi);
  }

  /** Counts one route less; the caller releases the prefix when it has no route left. */
  removeRoute(id: number, origin: number): OriginChange | undefined {
    const routes = this.routeCounts[id]! - 1;
    this.routeCounts[id] = routes;
    if (routes === 0) {
      const previous = this.origins[id]!;
      this.multiOrigin.delete(id);
      return { prefixId: id, previous, current: 0 };
    }
    const multi = this.multiOrigin.get(id);
    if (multi === undefined) return undefined;
    const left = (multi.get(origin) ?? 0) - 1;
    if (left > 0) multi.set(origin, left);
    else multi.delete(origin);
    const change = this.reelect(id, multi);
    if (multi.size <= 1) this.multiOrigin.delete(id);
    return change;
  }

  private reelect(id: number, multi: Map<number, number>): OriginChange | undefined {
    let best = 0;
    let bestRoutes = -1;
    for (const [asn, routes] of multi) {
      if (routes > bestRoutes || (routes === bestRoutes && asn < best)) {
        best = asn;
        bestRoutes = routes;
      }
    }
    const previous = this.origins[id]!;
    if (best === previous) return undefined;
    this.origins[id] = best;
    return { prefixId: id, previous, current: best };
  }

  /** Forgets a prefix without routes; its id is reused. */
  release(id: number): void {
    let slot = this.hashOfId(id) & this.slotMask;
    while (this.slots[slot] !== id + 1) slot = (slot + 1) & this.slotMask;
    // Backward-shift deletion: move later entries of the probe run into the hole when their home allows.
    let hole = slot;
    let next = (hole + 1) & this.slotMask;
    for (;;) {
      const entry = this.slots[next]!;
      if (entry === 0) break;
      const home = this.hashOfId(entry - 1) & this.slotMask;
      const distanceFromHome = (next - home) & this.slotMask;
      const distanceToHole = (next - hole) & this.slotMask;
      if (distanceFromHome >= distanceToHole) {
        this.slots[hole] = entry;
        hole = next;
      }
      next = (next + 1) & this.slotMask;
    }
    this.slots[hole] = 0;
    this.lengthCounts[this.lengths[id]!]!--;
    this.size--;
    this.multiOrigin.delete(id);
    this.freeIds.push(id);
  }

  /** Calls `visit` with the id of every prefix present. */
  forEach(visit: (id: number) => void): void {
    for (let slot = 0; slot < this.slots.length; slot++) {
      const entry = this.slots[slot]!;
      if (entry !== 0) visit(entry - 1);
    }
  }

  private insertSlot(id: number): void {
    let slot = this.hashOfId(id) & this.slotMask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.slotMask;
    this.slots[slot] = id + 1;
  }

  private growIds(capacity: number): void {
    const grow = <T extends Uint32Array | Uint8Array>(old: T, make: (n: number) => T, per: number): T => {
      const next = make(capacity * per);
      next.set(old);
      return next;
    };
    this.addresses = grow(this.addresses, (n) => new Uint32Array(n), this.words);
    this.lengths = grow(this.lengths, (n) => new Uint8Array(n), 1);
    this.routeCounts = grow(this.routeCounts, (n) => new Uint32Array(n), 1);
    this.origins = grow(this.origins, (n) => new Uint32Array(n), 1);
    this.capacity = capacity;
  }

  private rehash(slotCount: number): void {
    const old = this.slots;
    this.slots = new Int32Array(slotCount);
    this.slotMask = slotCount - 1;
    for (let slot = 0; slot < old.length; slot++) {
      const entry = old[slot]!;
      if (entry !== 0) this.insertSlot(entry - 1);
    }
  }
}
