/**
 * NLRI prefixes (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 §3): [path id (4)] length (1) address (ceil(length / 8)).
 */

import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { ByteReader, TruncatedInputError } from '@kansoku/kit/net/byte-reader';

import { BGP_ERROR_CODES, BgpDecodeError } from './errors.ts';
import type { Prefix } from './types.ts';

/**
 * Reads one prefix. Bits beyond the prefix length in the last octet are cleared: `11.13.0.0/13` on the wire is
 * `11.8.0.0/13`, which is what bgpdump prints for such a prefix (capture `updates.nlri_mask_trailing_bits`)
 * and what a RIB keyed by network address needs.
 */
export function readPrefix(reader: ByteReader, afi: 1 | 2, addPath: boolean): Prefix {
  const pathId = addPath ? reader.u32() : undefined;
  const length = reader.u8();
  const maxBits = afi === 1 ? 32 : 128;
  if (length > maxBits) {
    throw new BgpDecodeError(
      BGP_ERROR_CODES.badPrefix,
      `prefix length ${length} exceeds ${maxBits} bits (afi ${afi})`,
    );
  }
  const octets = (length + 7) >>> 3;
  const address = new Uint8Array(afi === 1 ? 4 : 16);
  address.set(reader.bytes(octets));
  const spareBits = (octets << 3) - length;
  if (spareBits > 0) address[octets - 1] = address[octets - 1]! & ((0xff << spareBits) & 0xff);
  return pathId === undefined ? { afi, address, length } : { afi, address, length, pathId };
}

/** Every prefix of an NLRI field; a prefix that overruns the field is a BgpDecodeError (badPrefix). */
export function readPrefixes(field: Uint8Array, afi: 1 | 2, addPath: boolean): Prefix[] {
  const reader = new ByteReader(Buffer.from(field.buffer, field.byteOffset, field.byteLength));
  const prefixes: Prefix[] = [];
  try {
    while (!reader.atEnd) prefixes.push(readPrefix(reader, afi, addPath));
  } catch (error) {
    if (error instanceof TruncatedInputError) {
      throw new BgpDecodeError(
        BGP_ERROR_CODES.badPrefix,
        `prefix overruns its NLRI field (${field.length} bytes, afi ${afi}${addPath ? ', add-path' : ''})`,
        { cause: error },
      );
    }
    throw error;
  }
  return prefixes;
}

/**
 * The prefixes of an NLRI field up to the first one that cannot be read (longer than the family allows, or
 * running past the field), and a description of that error. bgpdump likewise prints the prefixes before such
 * a fault (capture `updates.nlri_mask_trailing_bits` ends in a stray octet).
 */
export function readPrefixesUntilError(
  field: Uint8Array,
  afi: 1 | 2,
  addPath: boolean,
): { prefixes: Prefix[]; error?: string } {
  const reader = new ByteReader(Buffer.from(field.buffer, field.byteOffset, field.byteLength));
  const prefixes: Prefix[] = [];
  while (!reader.atEnd) {
    const start = reader.position;
    try {
      prefixes.push(readPrefix(reader, afi, addPath));
    } catch (error) {
      if (error instanceof TruncatedInputError || error instanceof BgpDecodeError) {
        const reason = error instanceof BgpDecodeError ? error.message : 'prefix overruns the field';
        return { prefixes, error: `${reason} at byte ${start} of ${field.length} (afi ${afi})` };
      }
      throw error;
    }
  }
  return { prefixes };
}

/** `192.0.2.0/24`, `2001:db8::/32`. */
export function formatPrefix(prefix: Prefix): string {
  return `${formatIpAddress(prefix.address)}/${prefix.length}`;
}
