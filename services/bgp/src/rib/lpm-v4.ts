/**
 * IPv4 longest-prefix match as a 16-8-8 multibit trie with leaf pushing (the DIR-24-8 idea with a smaller
 * first level): a 65,536-entry root indexed by the top 16 bits, and 256-entry blocks for the next 8 and the last
 * 8 bits, created only under /16s and /24s that hold longer prefixes. A lookup is at most three array reads.
 *
 * Each entry is one Int32: 0 empty; positive `(prefixId + 1) << 6 | length` (the prefix that covers the entry,
 * with its length so a shorter prefix never overwrites a longer one); negative `-(block + 1)` a child block.
 * Updates are incremental: adding a prefix writes the entries it covers where no longer prefix sits; removing
 * one rewrites the entries it owned with the next covering prefix, which the caller finds in the prefix table.
 * Blocks emptied by withdrawals are kept for reuse by the same /16 or /24 (their number is bounded by the
 * number of /16s and /24s ever seen with more-specifics).
 */

const ROOT_BITS = 16;
const BLOCK = 256;
const LENGTH_BITS = 6;
const LENGTH_MASK = 63;

export const encodeEntry = (prefixId: number, length: number): number =>
  ((prefixId + 1) << LENGTH_BITS) | length;

export class LpmV4 {
  private readonly root = new Int32Array(1 << ROOT_BITS);
  private blocks = new Int32Array(BLOCK * 64);
  private blockCount = 0;

  byteSize(): number {
    return this.root.byteLength + this.blockCount * BLOCK * 4;
  }

  /** Prefix id of the longest prefix covering `address` (unsigned 32-bit), or -1. */
  lookup(address: number): number {
    let entry = this.root[address >>> 16]!;
    if (entry < 0) {
      entry = this.blocks[(-entry - 1) * BLOCK + ((address >>> 8) & 0xff)]!;
      if (entry < 0) entry = this.blocks[(-entry - 1) * BLOCK + (address & 0xff)]!;
    }
    return (entry >>> LENGTH_BITS) - 1;
  }

  /** Length of the aligned block around `address` within which every address has the same answer. */
  uniformLength(address: number): number {
    let entry = this.root[address >>> 16]!;
    if (entry >= 0) return 16;
    entry = this.blocks[(-entry - 1) * BLOCK + ((address >>> 8) & 0xff)]!;
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

  /** `expected` -1: insert `value` where no longer prefix sits; otherwise replace entries equal to `expected`. */
  private write(address: number, length: number, value: number, expected: number): void {
    if (length <= ROOT_BITS) {
      const start = address >>> 16;
      this.fill(this.root, 0, start, 1 << (ROOT_BITS - length), value, expected, length);
      return;
    }
    const level1 = this.child(this.root, 0, address >>> 16, expected);
    if (level1 < 0) return;
    if (length <= 24) {
      const start = (address >>> 8) & 0xff;
      this.fill(this.blocks, level1 * BLOCK, start, 1 << (24 - length), value, expected, length);
      return;
    }
    const level2 = this.child(this.blocks, level1 * BLOCK, (address >>> 8) & 0xff, expected);
    if (level2 < 0) return;
    this.fill(this.blocks, level2 * BLOCK, address & 0xff, 1 << (32 - length), value, expected, length);
  }

  /** The child block under an entry, created (inheriting the entry) when inserting; -1 when removing and none. */
  private child(array: Int32Array, base: number, index: number, expected: number): number {
    const entry = array[base + index]!;
    if (entry < 0) return -entry - 1;
    if (expected !== -1) return -1;
    const block = this.newBlock(entry);
    // `array` may be the pool, replaced by newBlock's growth: write through the current one.
    (array === this.root ? this.root : this.blocks)[base + index] = -(block + 1);
    return block;
  }

  private newBlock(inherit: number): number {
    if ((this.blockCount + 1) * BLOCK > this.blocks.length) {
      const next = new Int32Array(this.blocks.length * 2);
      next.set(this.blocks);
      this.blocks = next;
    }
    const block = this.blockCount++;
    this.blocks.fill(inherit, block * BLOCK, block * BLOCK + BLOCK);
    return block;
  }

  private fill(
    array: Int32Array,
    base: number,
    start: number,
    count: number,
    value: number,
    expected: number,
    length: number,
  ): void {
    for (let i = base + start, end = base + start + count; i < end; i++) {
      const entry = array[i]!;
      if (entry < 0) {
        this.fill(this.blocks, (-entry - 1) * BLOCK, 0, BLOCK, value, expected, length);
      } else if (expected === -1 ? entry === 0 || (entry & LENGTH_MASK) <= length : entry === expected) {
        array[i] = value;
      }
    }
  }
}
