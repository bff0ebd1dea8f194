/**
 * Key → partition exactly as the Java client's default partitioner does it (murmur2 of the key bytes, sign bit
 * cleared, modulo the partition count), so a key lands on the same partition whichever client produced it.
 * 32-bit integer arithmetic (Math.imul) instead of BigInt: this runs once per produced message.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils#murmur2) as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length - (length % 4);
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const rest = length % 4;
  if (rest > 0) {
    if (rest === 3) h ^= data[whole + 2]! << 16;
    if (rest >= 2) h ^= data[whole + 1]! << 8;
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** A non-negative number whose value modulo the partition count is the key's partition. */
export function keyHash(key: Uint8Array): number {
  return murmur2(key) & 0x7fffffff;
}

export function partitionForKey(key: Uint8Array, partitions: number): number {
  return keyHash(key) % partitions;
}
