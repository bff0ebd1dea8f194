/**
 * Origin changes waiting for the next flush, by prefix id: the origin and the time of the last change of each
 * prefix, in typed arrays indexed by prefix id plus the list of ids changed. A full table changes every prefix,
 * and a Map entry (with its array) per prefix cost the processor more than applying the route; this costs nothing
 * per change but a few array writes, and nothing at all between flushes once taken (the arrays are dropped).
 */

export class PendingOrigins {
  private marked = new Uint8Array(0);
  private origins = new Uint32Array(0);
  private times = new Float64Array(0);
  private ids = new Uint32Array(0);
  private count = 0;

  /** Prefixes with a change waiting. */
  size = 0;

  private growById(id: number): void {
    let size = Math.max(1024, this.marked.length);
    while (size <= id) size *= 2;
    const marked = new Uint8Array(size);
    marked.set(this.marked);
    const origins = new Uint32Array(size);
    origins.set(this.origins);
    const times = new Float64Array(size);
    times.set(this.times);
    this.marked = marked;
    this.origins = origins;
    this.times = times;
  }

  /** The prefix's origin became `origin` at `ms` (replaces an earlier change not yet taken). */
  set(id: number, origin: number, ms: number): void {
    if (id >= this.marked.length) this.growById(id);
    if (this.marked[id] !== 1) {
      this.marked[id] = 1;
      this.size++;
      if (this.count === this.ids.length) {
        const ids = new Uint32Array(Math.max(1024, this.ids.length * 2));
        ids.set(this.ids);
        this.ids = ids;
      }
      this.ids[this.count++] = id;
    }
    this.origins[id] = origin;
    this.times[id] = ms;
  }

  /** Forgets the prefix's pending change (it left the table; its id may be reused). */
  delete(id: number): void {
    if (id < this.marked.length && this.marked[id] === 1) {
      this.marked[id] = 0;
      this.size--;
    }
  }

  /** Visits each pending change once, in first-change order, then forgets them all. */
  take(visit: (id: number, origin: number, ms: number) => void): void {
    for (let i = 0; i < this.count; i++) {
      const id = this.ids[i]!;
      if (this.marked[id] !== 1) continue;
      this.marked[id] = 0;
      visit(id, this.origins[id]!, this.times[id]!);
    }
    this.marked = new Uint8Array(0);
    this.origins = new Uint32Array(0);
    this.times = new Float64Array(0);
    this.ids = new Uint32Array(0);
    this.count = 0;
    this.size = 0;
  }
}
