/**
 * One peer's routes of one address family: (prefix id, ADD-PATH path id) → attribute set id and receive time,
 * in an open-addressing hash over typed arrays: 12 bytes per slot (16 once the peer uses ADD-PATH: the path id
 * array is allocated only when a non-zero path id arrives). The receive time, in tenths of a second (Uint32)
 * since a base set a year before the table's first route (so an MRT replay of 2002 works as well as a live
 * feed; 13 years of range), lets a late Peer Down drop only what came before it (see rib.ts). Routes per
 * prefix length are counted as they change, so the per-minute snapshot of Table 1's shape costs nothing.
 */

const YEAR_MS = 365 * 86_400_000;

function mix(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 13;
  return h >>> 0;
}

export interface StoredRoute {
  prefixId: number;
  pathId: number;
  attributeId: number;
  receivedMs: number;
}

export class PeerRoutes {
  size = 0;
  /** Routes per prefix length. */
  readonly lengthCounts: Uint32Array;
  /** prefix id + 1; 0 empty. */
  private prefixIds = new Uint32Array(0);
  /** Empty (all zero) until the first non-zero path id. */
  private pathIds = new Uint32Array(0);
  private attributeIds = new Uint32Array(0);
  private received = new Uint32Array(0);
  private mask = 0;
  private baseMs = Number.NaN;

  private toTenths(ms: number): number {
    if (Number.isNaN(this.baseMs)) this.baseMs = ms - YEAR_MS;
    return Math.max(0, Math.min(0xffffffff, Math.floor((ms - this.baseMs) / 100)));
  }

  private fromTenths(tenths: number): number {
    return this.baseMs + tenths * 100;
  }

  constructor(bits: 32 | 128, initialSlots = 64) {
    this.lengthCounts = new Uint32Array(bits + 1);
    this.allocate(initialSlots, false);
  }

  byteSize(): number {
    return (
      this.prefixIds.byteLength +
      this.pathIds.byteLength +
      this.attributeIds.byteLength +
      this.received.byteLength
    );
  }

  private allocate(slots: number, withPathIds: boolean): void {
    this.prefixIds = new Uint32Array(slots);
    this.pathIds = new Uint32Array(withPathIds ? slots : 0);
    this.attributeIds = new Uint32Array(slots);
    this.received = new Uint32Array(slots);
    this.mask = slots - 1;
  }

  private pathIdAt(slot: number): number {
    return this.pathIds.length === 0 ? 0 : this.pathIds[slot]!;
  }

  private slotOf(prefixId: number, pathId: number): number {
    let slot = mix(prefixId, pathId) & this.mask;
    for (;;) {
      const entry = this.prefixIds[slot]!;
      if (entry === 0 || (entry === prefixId + 1 && this.pathIdAt(slot) === pathId)) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Attribute set id of the route, or -1. */
  get(prefixId: number, pathId: number): number {
    const slot = this.slotOf(prefixId, pathId);
    return this.prefixIds[slot] === 0 ? -1 : this.attributeIds[slot]!;
  }

  /**
   * Stores the route; returns the attribute set id it replaces, or -1 when it is new (then `length` is counted).
   */
  set(prefixId: number, pathId: number, attributeId: number, receivedMs: number, length: number): number {
    if ((this.size + 1) * 4 > this.prefixIds.length * 3)
      this.resize(this.prefixIds.length * 2, this.pathIds.length > 0);
    else if (pathId !== 0 && this.pathIds.length === 0) this.resize(this.prefixIds.length, true);
    const slot = this.slotOf(prefixId, pathId);
    const previous = this.prefixIds[slot] === 0 ? -1 : this.attributeIds[slot]!;
    if (previous === -1) {
      this.prefixIds[slot] = prefixId + 1;
      if (this.pathIds.length > 0) this.pathIds[slot] = pathId;
      this.size++;
      this.lengthCounts[length]!++;
    }
    this.attributeIds[slot] = attributeId;
    this.received[slot] = this.toTenths(receivedMs);
    return previous;
  }

  /** Removes the route; returns its attribute set id, or -1 when there was none. */
  delete(prefixId: number, pathId: number, length: number): number {
    const slot = this.slotOf(prefixId, pathId);
    if (this.prefixIds[slot] === 0) return -1;
    const attributeId = this.attributeIds[slot]!;
    this.removeSlot(slot);
    this.size--;
    this.lengthCounts[length]!--;
    return attributeId;
  }

  /** Every route (a copy of the list, so the caller may delete while going through it). */
  routes(): StoredRoute[] {
    const out: StoredRoute[] = [];
    for (let slot = 0; slot < this.prefixIds.length; slot++) {
      const entry = this.prefixIds[slot]!;
      if (entry === 0) continue;
      out.push({
        prefixId: entry - 1,
        pathId: this.pathIdAt(slot),
        attributeId: this.attributeIds[slot]!,
        receivedMs: this.fromTenths(this.received[slot]!),
      });
    }
    return out;
  }

  /** Calls `visit` for every route without copying. The table must not change meanwhile. */
  forEach(visit: (prefixId: number, pathId: number, attributeId: number, receivedMs: number) => void): void {
    for (let slot = 0; slot < this.prefixIds.length; slot++) {
      const entry = this.prefixIds[slot]!;
      if (entry !== 0) {
        visit(
          entry - 1,
          this.pathIdAt(slot),
          this.attributeIds[slot]!,
          this.fromTenths(this.received[slot]!),
        );
      }
    }
  }

  private removeSlot(slot: number): void {
    let hole = slot;
    let next = (hole + 1) & this.mask;
    for (;;) {
      const entry = this.prefixIds[next]!;
      if (entry === 0) break;
      const home = mix(entry - 1, this.pathIdAt(next)) & this.mask;
      if (((next - home) & this.mask) >= ((next - hole) & this.mask)) {
        this.prefixIds[hole] = entry;
        if (this.pathIds.length > 0) this.pathIds[hole] = this.pathIds[next]!;
        this.attributeIds[hole] = this.attributeIds[next]!;
        this.received[hole] = this.received[next]!;
        hole = next;
      }
      next = (next + 1) & this.mask;
    }
    this.prefixIds[hole] = 0;
  }

  private resize(slots: number, withPathIds: boolean): void {
    const prefixIds = this.prefixIds;
    const pathIds = this.pathIds;
    const attributeIds = this.attributeIds;
    const received = this.received;
    this.allocate(slots, withPathIds);
    for (let old = 0; old < prefixIds.length; old++) {
      const entry = prefixIds[old]!;
      if (entry === 0) continue;
      const pathId = pathIds.length === 0 ? 0 : pathIds[old]!;
      const slot = this.slotOf(entry - 1, pathId);
      this.prefixIds[slot] = entry;
      if (withPathIds) this.pathIds[slot] = pathId;
      this.attributeIds[slot] = attributeIds[old]!;
      this.received[slot] = received[old]!;
    }
  }
}
