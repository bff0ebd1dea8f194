/** Builders of BGP messages for the tests (written from RFC 4271 / 4760 / 6793 / 7911 / 8092). */

export function u16(value: number): number[] {
  return [(value >>> 8) & 0xff, value & 0xff];
}

export function u32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

/** A path attribute; extended length when the value is over 255 bytes or `extended` is set. */
export function attribute(flags: number, type: number, value: number[], extended = false): number[] {
  if (extended || value.length > 255) return [flags | 0x10, type, ...u16(value.length), ...value];
  return [flags, type, value.length, ...value];
}

export const WELL_KNOWN = 0x40;
export const OPTIONAL_TRANSITIVE = 0xc0;
export const OPTIONAL = 0x80;

export function origin(value = 0): number[] {
  return attribute(WELL_KNOWN, 1, [value]);
}

/** AS_PATH (or AS4_PATH with type 17) from segments [segment type, asns]. */
export function asPath(segments: [number, number[]][], asnSize: 2 | 4, type = 2): number[] {
  const value: number[] = [];
  for (const [segmentType, asns] of segments) {
    value.push(segmentType, asns.length);
    for (const asn of asns) value.push(...(asnSize === 4 ? u32(asn) : u16(asn)));
  }
  return attribute(type === 2 ? WELL_KNOWN : OPTIONAL_TRANSITIVE, type, value);
}

export function nextHop(address: number[]): number[] {
  return attribute(WELL_KNOWN, 3, address);
}

/** IPv4 prefix bytes: [path id], length, significant octets. */
export function prefix4(address: number[], length: number, pathId?: number): number[] {
  const octets = address.slice(0, (length + 7) >>> 3);
  return [...(pathId === undefined ? [] : u32(pathId)), length, ...octets];
}

/** A full UPDATE message (header included). */
export function update(withdrawn: number[], attributes: number[], nlri: number[]): Buffer {
  const body = [...u16(withdrawn.length), ...withdrawn, ...u16(attributes.length), ...attributes, ...nlri];
  return message(2, body);
}

export function message(type: number, body: number[]): Buffer {
  return Buffer.from([...new Array<number>(16).fill(0xff), ...u16(19 + body.length), type, ...body]);
}

/** IPv6 address from 8 groups. */
export function ipv6(groups: number[]): number[] {
  return groups.flatMap((group) => u16(group));
}
