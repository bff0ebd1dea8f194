/**
 * Origin AS by longest-prefix match over a table from configuration (`192.0.2.0/24=64500`,
 * `2001:db8::/32=64501`). It implements kit's OriginAsLookup, so the BGP domain's RIB lookup can replace it
 * without the collector noticing. One binary trie per address family: a lookup walks at most 32 or 128 bits.
 */

import { formatIpAddress, parseIpAddress } from '@kansoku/contracts/ip-address';
import { ConfigError, type OriginAsLookup } from '@kansoku/kit';

export interface PrefixEntry {
  /** Network address, 4 or 16 octets, host bits zero. */
  network: Uint8Array;
  length: number;
  asn: number;
}

interface TrieNode {
  zero: TrieNode | undefined;
  one: TrieNode | undefined;
  /** Origin AS of the prefix ending here, if one does. */
  asn: number | undefined;
}

export interface PrefixAsTable extends OriginAsLookup {
  /** Prefixes in the table. */
  readonly size: number;
}

const MAX_ASN = 0xffffffff;
const ENTRY_PATTERN = /^\s*([0-9A-Fa-f:.]+)\/(\d{1,3})\s*=\s*(?:AS)?(\d{1,10})\s*$/;

const newNode = (): TrieNode => ({ zero: undefined, one: undefined, asn: undefined });

const bitAt = (address: Uint8Array, index: number): number =>
  ((address[index >> 3] ?? 0) >> (7 - (index & 7))) & 1;

/**
 * Parses one `prefix/length=asn` entry; throws ConfigError naming `key` (e.g. `flowsCollector.prefixes[3]`)
 * and saying what is wrong with it.
 */
export function parsePrefixEntry(text: string, key: string): PrefixEntry {
  const match = ENTRY_PATTERN.exec(text);
  if (match === null) {
    throw new ConfigError(key, `'${text}' is not a prefix=AS entry (e.g. 192.0.2.0/24=64500)`);
  }
  const [, addressText = '', lengthText = '', asnText = ''] = match;
  let network: Uint8Array;
  try {
    network = parseIpAddress(addressText);
  } catch {
    throw new ConfigError(key, `'${text}': '${addressText}' is not an IPv4 or IPv6 address`);
  }
  const bits = network.length * 8;
  const length = Number(lengthText);
  if (length > bits) {
    throw new ConfigError(key, `'${text}': prefix length ${length} is longer than ${bits} bits`);
  }
  const asn = Number(asnText);
  if (!Number.isInteger(asn) || asn < 1 || asn > MAX_ASN) {
    throw new ConfigError(key, `'${text}': AS ${asnText} is not between 1 and ${MAX_ASN}`);
  }
  for (let bit = length; bit < bits; bit++) {
    if (bitAt(network, bit) !== 0) {
      const masked = Uint8Array.from(network);
      for (let b = length; b < bits; b++) masked[b >> 3] = (masked[b >> 3] ?? 0) & ~(0x80 >> (b & 7));
      throw new ConfigError(
        key,
        `'${text}': host bits are set (did you mean ${formatIpAddress(masked)}/${length}?)`,
      );
    }
  }
  return { network, length, asn };
}

/**
 * Builds the table from configuration entries; throws ConfigError naming the first bad entry
 * (`<keyPrefix>[index]`), including the same prefix given twice with different AS numbers.
 */
export function createPrefixAsTable(entries: readonly string[], keyPrefix = 'prefixes'): PrefixAsTable {
  const v4 = newNode();
  const v6 = newNode();
  let size = 0;
  entries.forEach((text, index) => {
    const key = `${keyPrefix}[${index}]`;
    const entry = parsePrefixEntry(text, key);
    let node = entry.network.length === 4 ? v4 : v6;
    for (let bit = 0; bit < entry.length; bit++) {
      if (bitAt(entry.network, bit) === 0) node = node.zero ??= newNode();
      else node = node.one ??= newNode();
    }
    if (node.asn !== undefined && node.asn !== entry.asn) {
      throw new ConfigError(
        key,
        `'${text}': ${formatIpAddress(entry.network)}/${entry.length} is already mapped to AS ${node.asn}`,
      );
    }
    if (node.asn === undefined) size++;
    node.asn = entry.asn;
  });

  return {
    size,
    originAs(address: Uint8Array): number | undefined {
      let node: TrieNode | undefined;
      if (address.length === 4) node = v4;
      else if (address.length === 16) node = v6;
      else return undefined;
      const bits = address.length * 8;
      let best = node.asn;
      for (let bit = 0; bit < bits && node !== undefined; bit++) {
        node = bitAt(address, bit) === 0 ? node.zero : node.one;
        if (node?.asn !== undefined) best = node.asn;
      }
      return best;
    },
  };
}
