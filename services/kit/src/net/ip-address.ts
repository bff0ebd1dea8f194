/** Text forms of binary IP addresses, as decoders find them in packets and flow records. */

import { TruncatedInputError } from './byte-reader.ts';

/** Dotted quad of the 4 bytes at `offset`. */
export function formatIPv4(buf: Buffer, offset = 0): string {
  if (offset < 0 || offset + 4 > buf.length) throw new TruncatedInputError(4, buf.length - offset, offset);
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/**
 * RFC 5952 text of the 16 bytes at `offset`: lower-case hex, leading zeros dropped, the longest run of
 * two or more zero groups (the first one on a tie) written `::`, and IPv4-mapped addresses as `::ffff:a.b.c.d`.
 */
export function formatIPv6(buf: Buffer, offset = 0): string {
  if (offset < 0 || offset + 16 > buf.length) throw new TruncatedInputError(16, buf.length - offset, offset);
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(offset + i * 2));

  if (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  ) {
    return `::ffff:${formatIPv4(buf, offset + 12)}`;
  }

  let bestStart = -1;
  let bestLength = 0;
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && groups[i] === 0) {
      if (runStart < 0) runStart = i;
      continue;
    }
    if (runStart >= 0) {
      const length = i - runStart;
      if (length > bestLength) {
        bestStart = runStart;
        bestLength = length;
      }
      runStart = -1;
    }
  }
  if (bestLength < 2) return groups.map((g) => g.toString(16)).join(':');
  const head = groups.slice(0, bestStart).map((g) => g.toString(16));
  const tail = groups.slice(bestStart + bestLength).map((g) => g.toString(16));
  return `${head.join(':')}::${tail.join(':')}`;
}

/** IPv4 (4 bytes) or IPv6 (16 bytes) address from a buffer of exactly that size. */
export function formatIPAddress(bytes: Buffer): string {
  if (bytes.length === 4) return formatIPv4(bytes);
  if (bytes.length === 16) return formatIPv6(bytes);
  throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
}
