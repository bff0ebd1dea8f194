/**
 * 50,000 mutated UPDATE messages (from the 2016 RIS updates capture when present, and hand-built ones): the
 * parser returns or throws a BgpDecodeError with a KANSOKU_BGP_ code, never anything else, and never hangs.
 */

import {
  appendRandom,
  corruptUInt16Fields,
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

import { BgpDecodeError, parseBgpMessage, updateRoutes } from '../../../src/decoders/bgp/index.ts';
import { formatBgpdumpLines } from '../../../src/decoders/mrt/index.ts';
import { updateSeeds } from '../mrt/seeds.ts';

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
    case 3: {
      // The header length, withdrawn routes length and total path attribute length.
      const withdrawn = data.length >= 21 ? data.readUInt16BE(19) : 0;
      const offsets = [16, 19, 21 + withdrawn].filter((offset) => offset + 2 <= data.length);
      if (offsets.length > 0) corruptUInt16Fields(data, offsets, random);
      return data;
    }
    case 4:
      return insertOrDelete(data, random);
    case 5:
      return appendRandom(data, random);
    case 6:
      return repeatSlice(data, random);
    case 7:
      return splice(data, other, random);
    default: {
      // Mutate the body but keep the header length consistent, to get past the framing checks.
      flipBits(data, random);
      const mutated = insertOrDelete(data, random);
      if (mutated.length >= 19 && mutated.length <= 65535) {
        mutated.fill(0xff, 0, 16);
        mutated.writeUInt16BE(mutated.length, 16);
      }
      return mutated;
    }
  }
}

describe('BGP UPDATE fuzzing', () => {
  it(`survives ${ITERATIONS.toLocaleString('en')} mutated UPDATEs with typed errors only`, () => {
    const seeds = updateSeeds();
    const random = seededRandom(20260501);
    const outcomes = { parsed: 0, treatAsWithdraw: 0, rejected: 0 };
    const codes = new Map<string, number>();
    const started = performance.now();
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(pick(random, seeds), pick(random, seeds), random);
      const options = { as4: random() < 0.8, addPath: random() < 0.2 ? () => true : () => false };
      try {
        const message = parseBgpMessage(input, options);
        outcomes.parsed++;
        if (message.type === 'update') {
          if (message.attributes.treatAsWithdraw) outcomes.treatAsWithdraw++;
          updateRoutes(message);
          if (input.length === message.length)
            formatBgpdumpLines({
              kind: 'bgp4mp-message',
              header: { timestamp: 0, type: 16, subtype: 4, length: 0 },
              peerAs: 1,
              localAs: 2,
              interfaceIndex: 0,
              afi: 1,
              peerAddress: new Uint8Array(4),
              localAddress: new Uint8Array(4),
              as4: true,
              addPath: false,
              local: false,
              message,
            });
        }
      } catch (error) {
        if (!(error instanceof BgpDecodeError) || !error.code.startsWith('KANSOKU_BGP_')) {
          throw new Error(`input ${input.toString('hex')} threw a non-typed error: ${String(error)}`, {
            cause: error,
          });
        }
        outcomes.rejected++;
        codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    console.info(
      `BGP fuzz: ${ITERATIONS} inputs from ${seeds.length} seeds in ${seconds.toFixed(1)} s:`,
      outcomes,
      Object.fromEntries(codes),
    );
    expect(outcomes.parsed + outcomes.rejected).toBe(ITERATIONS);
    expect(outcomes.parsed).toBeGreaterThan(ITERATIONS / 10);
    expect(outcomes.rejected).toBeGreaterThan(ITERATIONS / 10);
  }, 120_000);
});
