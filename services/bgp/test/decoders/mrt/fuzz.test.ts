/**
 * 50,000 mutated MRT records (every record kind of the captures when present, hand-built ones otherwise) read
 * with decodeMrtBuffer and formatted: no exception at all (a bad record is a `malformed` record with a typed
 * error), and no hang.
 */

import { KansokuError } from '@kansoku/kit/errors';
import {
  appendRandom,
  corruptUInt16Fields,
  corruptWord32,
  flipBits,
  insertOrDelete,
  overwriteBytes,
  pick,
  randomInt,
  repeatSlice,
  seededRandom,
  splice,
  truncate,
} from '@kansoku/kit/testing/fuzz';
import { describe, expect, it } from 'vitest';

import { decodeMrtBuffer, formatBgpdumpLines } from '../../../src/decoders/mrt/index.ts';
import { mrtSeeds } from './seeds.ts';

const ITERATIONS = 50_000;

function mutate(seed: Buffer, other: Buffer, random: () => number): Buffer {
  const data = Buffer.from(seed);
  switch (randomInt(random, 9)) {
    case 0:
      flipBits(data, random);
      return data;
    case 1:
      overwriteBytes(data, random);
      return data;
    case 2:
      return truncate(data, random);
    case 3:
      // Type, subtype and the fields right after the header (AFI, counts, lengths).
      if (data.length >= 30) corruptUInt16Fields(data, [4, 6, 12, 16, 20, 22, 26, 28], random);
      return data;
    case 4:
      corruptWord32(data, random);
      return data;
    case 5:
      return insertOrDelete(data, random);
    case 6:
      return random() < 0.5 ? appendRandom(data, random) : repeatSlice(data, random);
    case 7:
      return splice(data, other, random);
    default: {
      // Mutate the body, then make the declared length match, to reach the body decoders.
      flipBits(data, random);
      const mutated = insertOrDelete(data, random);
      if (mutated.length >= 12) mutated.writeUInt32BE(mutated.length - 12, 8);
      return mutated;
    }
  }
}

describe('MRT record fuzzing', () => {
  it(`survives ${ITERATIONS.toLocaleString('en')} mutated records with typed errors only`, () => {
    const seeds = mrtSeeds();
    const random = seededRandom(20260502);
    const kinds = new Map<string, number>();
    const codes = new Map<string, number>();
    let lines = 0;
    const started = performance.now();
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(pick(random, seeds), pick(random, seeds), random);
      try {
        for (const record of decodeMrtBuffer(input, { maxRecordLength: 1 << 20 })) {
          kinds.set(record.kind, (kinds.get(record.kind) ?? 0) + 1);
          if (record.kind === 'malformed') {
            expect(record.error).toBeInstanceOf(KansokuError);
            expect(record.error.code).toMatch(/^KANSOKU_(MRT|BGP|INPUT)_/);
            codes.set(record.error.code, (codes.get(record.error.code) ?? 0) + 1);
          }
          lines += formatBgpdumpLines(record).length;
        }
      } catch (error) {
        throw new Error(`input ${input.toString('hex').slice(0, 400)} threw: ${String(error)}`, {
          cause: error,
        });
      }
    }
    const seconds = (performance.now() - started) / 1000;
    console.info(
      `MRT fuzz: ${ITERATIONS} inputs from ${seeds.length} seeds in ${seconds.toFixed(1)} s, ${lines} lines:`,
      Object.fromEntries(kinds),
      Object.fromEntries(codes),
    );
    expect(kinds.get('malformed') ?? 0).toBeGreaterThan(ITERATIONS / 20);
    expect([...kinds.keys()].length).toBeGreaterThan(2);
  }, 180_000);
});
