/**
 * Mutations of real NetFlow/IPFIX export packets for fuzzing the decoder: bit flips, byte overwrites,
 * truncations, and corruption of the fields that steer parsing (header length and count, set ids and lengths,
 * template field counts and field lengths), which random flips rarely hit. Deterministic for a given seed.
 */

/** mulberry32: a small, fast, seedable generator (uniform in [0, 1)). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type MutationKind = 'bitflip' | 'bytes' | 'truncate' | 'length' | 'extend' | 'splice';

export const MUTATION_KINDS: readonly MutationKind[] = [
  'bitflip',
  'bytes',
  'truncate',
  'length',
  'extend',
  'splice',
];

/** Values that sit on boundaries of lengths and counts. */
const INTERESTING_16 = [0, 1, 2, 3, 4, 5, 8, 16, 255, 256, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xfe, 0xff];

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

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** A mutated copy of `packet`; `other` is a second corpus packet for splicing. */
export function mutatePacket(
  packet: Buffer,
  other: Buffer,
  random: () => number,
  kind: MutationKind = pick(random, MUTATION_KINDS),
): Buffer {
  switch (kind) {
    case 'bitflip': {
      const out = Buffer.from(packet);
      if (out.length === 0) return out;
      const flips = 1 + Math.floor(random() * 8);
      for (let i = 0; i < flips; i++) {
        const at = Math.floor(random() * out.length);
        out[at] = out[at]! ^ (1 << Math.floor(random() * 8));
      }
      return out;
    }
    case 'bytes': {
      const out = Buffer.from(packet);
      if (out.length === 0) return out;
      const writes = 1 + Math.floor(random() * 4);
      for (let i = 0; i < writes; i++) {
        const at = Math.floor(random() * out.length);
        out[at] = random() < 0.5 ? pick(random, INTERESTING_8) : Math.floor(random() * 256);
      }
      return out;
    }
    case 'truncate':
      return Buffer.from(packet.subarray(0, Math.floor(random() * packet.length)));
    case 'length': {
      const out = Buffer.from(packet);
      const offsets = steeringOffsets(out).filter((at) => at + 2 <= out.length);
      if (offsets.length === 0) return mutatePacket(packet, other, random, 'bitflip');
      const corruptions = 1 + Math.floor(random() * 2);
      for (let i = 0; i < corruptions; i++) {
        const at = pick(random, offsets);
        const original = out.readUInt16BE(at);
        const roll = random();
        const value =
          roll < 0.4
            ? pick(random, INTERESTING_16)
            : roll < 0.8
              ? (original + Math.floor(random() * 17) - 8) & 0xffff
              : Math.floor(random() * 0x10000);
        out.writeUInt16BE(value, at);
      }
      return out;
    }
    case 'extend': {
      if (random() < 0.5 || packet.length === 0) {
        const extra = Buffer.alloc(1 + Math.floor(random() * 64));
        for (let i = 0; i < extra.length; i++) extra[i] = Math.floor(random() * 256);
        return Buffer.concat([packet, extra]);
      }
      // Repeat a slice: duplicated sets, records and template fields.
      const from = Math.floor(random() * packet.length);
      const to = Math.min(packet.length, from + 1 + Math.floor(random() * 256));
      const at = Math.floor(random() * packet.length);
      return Buffer.concat([packet.subarray(0, at), packet.subarray(from, to), packet.subarray(at)]);
    }
    case 'splice': {
      // The head of one packet and the tail of another: valid-looking sets under the wrong header.
      const cut = Math.floor(random() * packet.length);
      const otherCut = Math.floor(random() * other.length);
      return Buffer.concat([packet.subarray(0, cut), other.subarray(otherCut)]);
    }
  }
}
