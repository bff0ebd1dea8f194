import { randomBytes } from 'node:crypto';
import { murmur2 as libraryMurmur2 } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { keyHash, murmur2, partitionForKey } from '../../src/kafka/partitioner.ts';

describe('murmur2 (Java client compatible)', () => {
  it('matches the hashes the Java client computes', () => {
    // Values from Kafka's own tests of Utils.murmur2 (clients UtilsTest).
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [text, hash] of vectors) expect(murmur2(Buffer.from(text)), text).toBe(hash);
  });

  it('agrees with the client library on random keys of every tail length', () => {
    for (let length = 0; length < 64; length++) {
      const key = randomBytes(length);
      expect(murmur2(key)).toBe(Number(BigInt.asIntN(32, BigInt(libraryMurmur2(key)))));
    }
  });

  it('maps a key to a partition as the Java default partitioner does', () => {
    // toPositive(murmur2) % n: "foobar" hashes to a negative number, whose sign bit is cleared, not flipped.
    expect(keyHash(Buffer.from('foobar'))).toBe(-790332482 & 0x7fffffff);
    expect(partitionForKey(Buffer.from('foobar'), 3)).toBe((-790332482 & 0x7fffffff) % 3);
    for (let i = 0; i < 100; i++) {
      const p = partitionForKey(Buffer.from(`key-${i}`), 7);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(7);
    }
  });
});
