// Contracts carry IP addresses as raw octets (4 for IPv4, 16 for IPv6). These helpers convert between those
// octets and text, for message keys, logs and fixtures.

/** Error raised for text that is not an IPv4 or IPv6 address. Code: `KANSOKU_CONTRACTS_BAD_IP_ADDRESS`. */
export class InvalidIpAddressError extends Error {
  readonly code = 'KANSOKU_CONTRACTS_BAD_IP_ADDRESS';
  constructor(readonly text: string) {
    super(`not an IPv4 or IPv6 address: ${JSON.stringify(text)}`);
    this.name = 'InvalidIpAddressError';
  }
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

function formatIpv4(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/**
 * Text form of an address: dotted quad for 4 octets, RFC 5952 canonical form for 16 octets (lower case, longest
 * run of two or more zero groups compressed, IPv4-mapped addresses as `::ffff:a.b.c.d`). An empty array gives
 * `''`; any other length gives `hex:` followed by the octets in hex, so that a key is still stable.
 */
export function formatIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 0) return '';
  if (bytes.length === 4) return formatIpv4(bytes, 0);
  if (bytes.length !== 16) return `hex:${hex(bytes)}`;

  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);

  const isMapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (isMapped) return `::ffff:${formatIpv4(bytes, 12)}`;

  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  const text = groups.map((g) => g.toString(16));
  if (bestStart < 0) return text.join(':');
  const head = text.slice(0, bestStart).join(':');
  const tail = text.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    octets.push(value);
  }
  return octets;
}

// Groups of one side of an IPv6 address; an embedded IPv4 address is allowed as the address's last part only.
function parseGroups(text: string, allowTrailingIpv4: boolean): number[] | undefined {
  if (text === '') return [];
  const groups: number[] = [];
  const parts = text.split(':');
  for (const [index, part] of parts.entries()) {
    if (allowTrailingIpv4 && index === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (!v4) return undefined;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
      groups.push(Number.parseInt(part, 16));
    }
  }
  return groups;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const compressed = halves.length === 2;
  const head = parseGroups(halves[0]!, !compressed);
  const tail = compressed ? parseGroups(halves[1]!, true) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (compressed ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  for (const [index, group] of groups.entries()) {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  }
  return bytes;
}

/** Octets of an IPv4 (4 octets) or IPv6 (16 octets) address in text form; throws InvalidIpAddressError. */
export function parseIpAddress(text: string): Uint8Array {
  const bytes = text.includes(':') ? parseIpv6(text) : parseIpv4(text);
  if (!bytes) throw new InvalidIpAddressError(text);
  return bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
}

/** MAC address octets as `aa:bb:cc:dd:ee:ff` (any length, colon separated); `''` when empty. */
export function formatMacAddress(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(':');
}
