/**
 * Mutations of valid datagrams for fuzzing: bit flips, truncations, corrupted length and count words,
 * inserted and deleted bytes, appended garbage. Deterministic from a seed, so a failure can be replayed.
 * The mutators are `@kansoku/kit/testing/fuzz`; what is sFlow's here is their mix, and the length words
 * being 4-byte aligned XDR words.
 */

import {
  appendRandom,
  corruptWord32,
  flipBits,
  insertOrDelete,
  type Random,
  randomInt,
  truncate,
} from '@kansoku/kit/testing/fuzz';

export const MUTATION_KINDS = [
  'bit-flip',
  'truncate',
  'length-word',
  'insert-delete',
  'append',
  'combined',
] as const;

export type MutationKind = (typeof MUTATION_KINDS)[number];

function applyOne(kind: Exclude<MutationKind, 'combined'>, data: Buffer, random: Random): Buffer {
  switch (kind) {
    case 'bit-flip':
      flipBits(data, random);
      return data;
    case 'truncate':
      return truncate(data, random);
    case 'length-word':
      corruptWord32(data, random);
      return data;
    case 'insert-delete':
      return insertOrDelete(data, random);
    case 'append':
      return appendRandom(data, random);
  }
}

/** A mutated copy of `seed` (never the seed's own memory) and the kind of mutation applied. */
export function mutateDatagram(seed: Buffer, random: Random): { datagram: Buffer; kind: MutationKind } {
  const kind = MUTATION_KINDS[randomInt(random, MUTATION_KINDS.length)]!;
  let data: Buffer = Buffer.from(seed);
  if (kind !== 'combined') return { datagram: applyOne(kind, data, random), kind };
  const steps = 2 + randomInt(random, 4);
  for (let i = 0; i < steps; i++) {
    const step = MUTATION_KINDS[randomInt(random, MUTATION_KINDS.length - 1)] as Exclude<
      MutationKind,
      'combined'
    >;
    data = applyOne(step, data, random);
  }
  return { datagram: data, kind };
}
