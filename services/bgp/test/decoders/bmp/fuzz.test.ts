/**
 * 50,000 mutated BMP messages from the captures through one session and one framer: every failure is a
 * BmpDecodeError (never a RangeError, TypeError or a BGP error leaking through), the session stays within its
 * peer bound, and no input takes long (no hang).
 */

import {
  appendRandom,
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
import {
  BmpDecodeError,
  createBmpFramer,
  createBmpSession,
  parseBmpMessage,
} from '../../../src/decoders/bmp/index.ts';
import { captureFiles, haveCaptures, missingCapturesMessage, readBmpStreams } from './captures.ts';

if (!haveCaptures) console.warn(missingCapturesMessage);

const COUNT = 50_000;

describe.skipIf(!haveCaptures)('BMP fuzz', () => {
  it(`survives ${COUNT.toLocaleString('en')} mutated messages with typed errors only`, {
    timeout: 120_000,
  }, async () => {
    const corpus: Buffer[] = [];
    for (const name of captureFiles(/\.pcap$/)) {
      for (const stream of await readBmpStreams(name)) corpus.push(...stream.messages);
    }
    expect(corpus.length).toBeGreaterThan(1000);
    const random = seededRandom(7854);
    const session = createBmpSession({ maxPeers: 16 });
    let framer = createBmpFramer({ maxMessageLength: 1 << 16 });
    const outcomes = { parsed: 0, rejected: 0, framerRejected: 0, unmodified: 0 };
    const untyped: string[] = [];
    let slowest = 0;
    const mutators = [
      (data: Buffer) => {
        flipBits(data, random);
        return data;
      },
      (data: Buffer) => {
        overwriteBytes(data, random);
        return data;
      },
      (data: Buffer) => {
        corruptWord32(data, random);
        return data;
      },
      (data: Buffer) => truncate(data, random),
      (data: Buffer) => insertOrDelete(data, random),
      (data: Buffer) => appendRandom(data, random),
      (data: Buffer) => repeatSlice(data, random),
      (data: Buffer) => splice(data, pick(random, corpus), random),
    ];
    for (let i = 0; i < COUNT; i++) {
      const original = pick(random, corpus);
      let input: Buffer = Buffer.from(original);
      if (random() < 0.1) outcomes.unmodified += 1;
      else {
        for (let n = 1 + randomInt(random, 2); n > 0; n--) input = pick(random, mutators)(input);
        // Half the time keep the common header's length true to the mutated size, so the body is reached.
        if (random() < 0.5 && input.length >= 6) input.writeUInt32BE(input.length, 1);
      }
      const started = performance.now();
      try {
        parseBmpMessage(input, session);
        outcomes.parsed += 1;
      } catch (error) {
        if (error instanceof BmpDecodeError) outcomes.rejected += 1;
        else untyped.push(`${(error as Error).name}: ${(error as Error).message}`);
      }
      try {
        framer.push(input);
      } catch (error) {
        if (error instanceof BmpDecodeError) outcomes.framerRejected += 1;
        else untyped.push(`framer ${(error as Error).name}: ${(error as Error).message}`);
        framer = createBmpFramer({ maxMessageLength: 1 << 16 });
      }
      slowest = Math.max(slowest, performance.now() - started);
    }
    expect(untyped).toEqual([]);
    expect(session.peers.size).toBeLessThanOrEqual(16);
    expect(outcomes.parsed).toBeGreaterThan(COUNT / 10);
    expect(outcomes.rejected).toBeGreaterThan(COUNT / 10);
    expect(slowest).toBeLessThan(1000);
  });
});
