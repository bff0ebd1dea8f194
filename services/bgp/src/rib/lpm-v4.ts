/**
 * IPv4 longest-prefix match as a 16-4-4-8 multibit trie with leaf pushing (the DIR-24-8 idea, with smaller
 * blocks): a 65,536-entry root indexed by the top 16 bits, 16-entry blocks for bits 16–19 and 20–23, created
 * only under /16s and /20s that hold longer prefixes, and 256-entry blocks for the last 8 bits under /24s that
 * hold longer prefixes (rare in a full table). A lookup is at most four array reads. The 4-bit middle levels cost
 * about 40% less memory than one 8-bit level on a full table (a /16 with a few /24s needs a 16-entry block and a
 * few more, not 256 entries).
 *
 * Each entry is one Int32: 0 empty; positive `(prefixId + 1) << 6 | length` (the prefix that covers the entry,
 * with its length so a shorter prefix never overwrites a longer one); negative `-(block + 1)` a child block.
 * Updates are incremental: adding a prefix writes the entries it covers where no longer prefix sits; removing
 * one rewrites the entries it owned with the next covering prefix, which the caller finds in the prefix table.
 * Blocks emptied by withdrawals are kept for reuse by the same /16, /20 or /24 (their number is bounded by the
 * number of those ever seen with more-specifics).
 */

const LENGTH_BITS = 6;
const LENGTH_MASK = 63;

export const encodeEntry = (prefixId: number, length: number): number =>
  ((prefixId + 1) << LENGTH_BITS) | length;

/** Level 0 root, 1 and 2 the 4-bit levels, 3 the last 8 bits. */
type Level = 0 | 1 | 2 | 3;
/** Bits consumed up to the end of each level, and each level's block size. */
const LEVEL_END = [16, 20, 24, 32] as const;
const LEVEL_SIZE = [65_536, 16, 16, 256] as const;

const indexAt = (address: number, level: Level): number =>
  level === 0
    ? address >>> 16
    : level === 1
      ? (address >>> 12) & 15
      : level === 2
        ? (address >>> 8) & 15
        : address & 255;

export class LpmV4 {
  private readonly root = new Int32Array(65_536);
  /** Levels 1 and 2 share one pool of 16-entry blocks. */
  private small = new Int32Array(16 * 4096);
  private smallCount = 0;
  private large = new Int32Array(256 * 64);
  private largeCount = 0;

  byteSize(): number {
    return this.root.byteLength + this.smallCount * 16 * 4 + this.largeCount * 256 * 4;
  }

  /** Prefix id of the longest prefix covering `address` (unsigned 32-bit), or -1. */
  lookup(address: number): number {
    let entry = this.root[address >>> 16]!;
    if (entry < 0) {
      entry = this.small[(-entry - 1) * 16 + ((address >>> 12) & 15)]!;
      if (entry < 0) {
        entry = this.small[(-entry - 1) * 16 + ((address >>> 8) & 15)]!;
        if (entry < 0) entry = this.large[(-entry - 1) * 256 + (address & 255)]!;
      }
    }
    return (entry >>> LENGTH_BITS) - 1;
  }

  /** Length of the aligned block around `address` within which every address has the same answer. */
  uniformLength(address: number): number {
    let entry = this.root[address >>> 16]!;
    if (entry >= 0) return 16;
    entry = this.small[(-entry - 1) * 16 + ((address >>> 12) & 15)]!;
    if (entry >= 0) return 20;
    entry = this.small[(-entry - 1) * 16 + ((address >>> 8) & 15)]!;
    return entry >= 0 ? 24 : 32;
  }

  /** Adds the prefix (`address` masked to `length`). */
  insert(prefixId: number, address: number, length: number): void {
    this.write(address, length, encodeEntry(prefixId, length), -1);
  }

  /**
   * Removes the prefix; entries it covered get `replacement` (the next covering prefix's encoded entry, or 0).
   */
  remove(prefixId: number, address: number, length: number, replacement: number): void {
    this.write(address, length, replacement, encodeEntry(prefixId, length));
  }

  private array(level: Level): Int32Array {
    return level === 0 ? this.root : level === 3 ? this.large : this.small;
  }

  /** `expected` -1: insert `value` where no longer prefix sits; otherwise replace entries equal to `expected`. */
  private write(address: number, length: number, value: number, expected: number): void {
    let level: Level = 0;
    let base = 0;
    while (length > LEVEL_END[level]) {
      const child = this.child(level, base + indexAt(address, level), expected);
      if (child < 0) return;
      level = (level + 1) as Level;
      base = child * LEVEL_SIZE[level];
    }
    const count = 1 << (LEVEL_END[level] - length);
    this.fill(level, base, indexAt(address, level), count, value, expected, length);
  }

  /** The child block under an entry, created (inheriting the entry) when inserting; -1 when removing and none. */
  private child(level: Level, at: number, expected: number): number {
    const entry = this.array(level)[at]!;
    if (entry < 0) return -entry - 1;
    if (expected !== -1) return -1;
    const block = this.newBlock((level + 1) as Level, entry);
    // newBlock may have replaced the pool: write through the current array.
    this.array(level)[at] = -(block + 1);
    return block;
  }

  private newBlock(level: Level, inherit: number): number {
    const size = LEVEL_SIZE[level];
    if (level === 3) {
      if ((this.largeCount + 1) * size > this.large.length) this.large = grow(this.large);
      const block = this.largeCount++;
      this.large.fill(inherit, block * size, block * size + size);
      return block;
    }
    if ((this.smallCount + 1) * size > this.small.length) this.small = grow(this.small);
    const block = this.smallCount++;
    this.small.fill(inherit, block * size, block * size + size);
    return block;
  }

  private fill(
    level: Level,
    base: number,
    start: number,
    count: number,
    value: number,
    expected: number,
    length: number,
  ): void {
    const array = this.array(level);
    for (let i = base + start, end = base + start + count; i < end; i++) {
      const entry = array[i]!;
      if (entry < 0) {
        const next = (level + 1) as Level;
        this.fill(next, (-entry - 1) * LEVEL_SIZE[next], 0, LEVEL_SIZE[next], value, expected, length);
      } else if (expected === -1 ? entry === 0 || (entry & LENGTH_MASK) <= length : entry === expected) {
        array[i] = value;
      }
    }
  }
}

function grow(array: Int32Array): Int32Array<ArrayBuffer> {
  const next = new Int32Array(array.length * 2);
  next.set(array);
  return next;
}
