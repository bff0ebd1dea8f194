/**
 * Mutations of valid datagrams for fuzzing: bit flips, truncations, corrupted length and count words,
 * inserted and deleted bytes, appended garbage. Deterministic from a seed, so a failure can be replayed.
 */

/** mulberry32: a small, fast, seedable generator of floats in [0, 1). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type MutationKind = 'bit-flip' | 'truncate' | 'length-word' | 'insert-delete' | 'append' | 'combined';

export const MUTATION_KINDS: readonly MutationKind[] = [
  'bit-flip',
  'truncate',
  'length-word',
  'insert-delete',
  'append',
  'combined',
];

function int(random: () => number, below: number): number {
  return Math.floor(random() * below);
}

/** Values that break length and count checks: zero, one, off-by-a-few, the largest, the sign bit. */
function interestingWord(random: () => number, size: number): number {
  const choices = [
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    0xfffffffc,
    size,
    size + 4,
    Math.max(0, size - 4),
    0x3fffffff,
    0x40000000,
    int(random, 0x10000),
    int(random, 0x100000000),
  ];
  return choices[int(random, choices.length)]! >>> 0;
}

function flipBits(data: Buffer, random: () => number): void {
  if (data.length === 0) return;
  const flips = 1 + int(random, 8);
  for (let i = 0; i < flips; i++) {
    const at = int(random, data.length);
    data[at] = data[at]! ^ (1 << int(random, 8));
  }
}

function corruptWord(data: Buffer, random: () => number): void {
  if (data.length < 4) return;
  // XDR fields are 4-byte aligned: most of the time hit a word boundary, where lengths and counts are.
  const at = random() < 0.9 ? int(random, data.length >>> 2) * 4 : int(random, data.length - 3);
  data.writeUInt32BE(interestingWord(random, data.length - at), at);
}

function insertOrDelete(data: Buffer, random: () => number): Buffer {
  const at = int(random, data.length + 1);
  const count = 1 + int(random, 8);
  if (random() < 0.5 && data.length > 0) {
    return Buffer.concat([data.subarray(0, at), data.subarray(Math.min(data.length, at + count))]);
  }
  const inserted = Buffer.alloc(count);
  for (let i = 0; i < count; i++) inserted[i] = int(random, 256);
  return Buffer.concat([data.subarray(0, at), inserted, data.subarray(at)]);
}

function append(data: Buffer, random: () => number): Buffer {
  const extra = Buffer.alloc(1 + int(random, 64));
  for (let i = 0; i < extra.length; i++) extra[i] = int(random, 256);
  return Buffer.concat([data, extra]);
}

function applyOne(kind: Exclude<MutationKind, 'combined'>, data: Buffer, random: () => number): Buffer {
  switch (kind) {
    case 'bit-flip':
      flipBits(data, random);
      return data;
    case 'truncate':
      return data.subarray(0, int(random, data.length));
    case 'length-word':
      corruptWord(data, random);
      return data;
    case 'insert-delete':
      return insertOrDelete(data, random);
    case 'append':
      return append(data, random);
  }
}

/** A mutated copy of `seed` (never the seed's own memory) and the kind of mutation applied. */
export function mutateDatagram(seed: Buffer, random: () => number): { datagram: Buffer; kind: MutationKind } {
  const kind = MUTATION_KINDS[int(random, MUTATION_KINDS.length)]!;
  let data: Buffer = Buffer.from(seed);
  if (kind !== 'combined') return { datagram: applyOne(kind, data, random), kind };
  const steps = 2 + int(random, 4);
  for (let i = 0; i < steps; i++) {
    const step = MUTATION_KINDS[int(random, MUTATION_KINDS.length - 1)] as Exclude<MutationKind, 'combined'>;
    data = applyOne(step, data, random);
  }
  return { datagram: data, kind };
}
