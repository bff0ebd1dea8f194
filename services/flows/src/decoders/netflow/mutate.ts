/**
 * Mutations of real NetFlow/IPFIX export packets for fuzzing the decoder: bit flips, byte overwrites,
 * truncations, and corruption of the fields that steer parsing (header length and count, set ids and lengths,
 * template field counts and field lengths), which random flips rarely hit. Deterministic for a given seed.
 * The generic mutators are `@kansoku/kit/testing/fuzz`; what is NetFlow's here is where the steering fields are.
 */

import {
  appendRandom,
  corruptUInt16Fields,
  flipBits,
  overwriteBytes,
  pick,
  type Random,
  repeatSlice,
  splice,
  truncate,
} from '@kansoku/kit/testing/fuzz';

export const MUTATION_KINDS = ['bitflip', 'bytes', 'truncate', 'length', 'extend', 'splice'] as const;

export type MutationKind = (typeof MUTATION_KINDS)[number];

/**
 * Offsets of the 16-bit fields that steer parsing: the header's length (IPFIX) or count (v5, v9), every set's id
 * and length, and in template sets every field count, scope count and field length. Walks the packet as far as
 * it is well formed.
 */
export function steeringOffsets(packet: Buffer): number[] {
  const offsets: number[] = [];
  if (packet.length < 4) return offsets;
  const version = packet.readUInt16BE(0);
  offsets.push(2);
  let position: number;
  let end = packet.length;
  if (version === 10) {
    position = 16;
    end = Math.min(packet.length, packet.readUInt16BE(2));
  } else if (version === 9) {
    position = 20;
  } else {
    return offsets;
  }
  const templateSet = version === 10 ? 2 : 0;
  const optionsSet = version === 10 ? 3 : 1;
  while (position + 4 <= end) {
    const setId = packet.readUInt16BE(position);
    const length = packet.readUInt16BE(position + 2);
    offsets.push(position, position + 2);
    if (length < 4 || position + length > end) break;
    if (setId === templateSet || setId === optionsSet) {
      let at = position + 4;
      const setEnd = position + length;
      while (at + 4 <= setEnd) {
        offsets.push(at + 2);
        const count = packet.readUInt16BE(at + 2);
        at += 4;
        if (setId === optionsSet) {
          offsets.push(at);
          at += 2;
        }
        if (setId === optionsSet && version === 9) {
          // v9 options: scope length and option length in octets, 4 octets per field.
          const fields = (count + packet.readUInt16BE(at - 2)) / 4;
          for (let i = 0; i < fields && at + 4 <= setEnd; i++, at += 4) offsets.push(at + 2);
          continue;
        }
        for (let i = 0; i < count && at + 4 <= setEnd; i++) {
          offsets.push(at + 2);
          const enterprise = version === 10 && (packet.readUInt16BE(at) & 0x8000) !== 0;
          at += enterprise ? 8 : 4;
        }
      }
    }
    position += length;
  }
  return offsets;
}

/** A mutated copy of `packet`; `other` is a second corpus packet for splicing. */
export function mutatePacket(
  packet: Buffer,
  other: Buffer,
  random: Random,
  kind: MutationKind = pick(random, MUTATION_KINDS),
): Buffer {
  switch (kind) {
    case 'bitflip': {
      const out = Buffer.from(packet);
      flipBits(out, random);
      return out;
    }
    case 'bytes': {
      const out = Buffer.from(packet);
      overwriteBytes(out, random);
      return out;
    }
    case 'truncate':
      return Buffer.from(truncate(packet, random));
    case 'length': {
      const out = Buffer.from(packet);
      const offsets = steeringOffsets(out).filter((at) => at + 2 <= out.length);
      if (offsets.length === 0) return mutatePacket(packet, other, random, 'bitflip');
      corruptUInt16Fields(out, offsets, random);
      return out;
    }
    case 'extend':
      // Random garbage, or a repeated slice: duplicated sets, records and template fields.
      if (random() < 0.5 || packet.length === 0) return appendRandom(packet, random);
      return repeatSlice(packet, random);
    case 'splice':
      // The head of one packet and the tail of another: valid-looking sets under the wrong header.
      return splice(packet, other, random);
  }
}
