/**
 * A synthetic full table: IPv4 routes with the report's Table 1 prefix-length shape (Sep 2017 column) scaled to
 * today's size, and IPv6 routes with a present-day length mix (/48 about half, then /32, /44, /40, /36, /29 …).
 * Prefixes are unique per length and spread over public space; they nest naturally (a /24 often falls in an
 * announced /16), which is what exercises a longest-prefix match. Routes come in groups sharing one attribute
 * set, as in a real table dump where one UPDATE carries many prefixes (a group is what one UPDATE packs).
 * Deterministic for a seed.
 */

/** Table 1, Sep 2017: IPv4 routes by prefix length /8 … /24 (654,115 in all). */
export const TABLE1_SEP_2017: Readonly<Record<number, number>> = {
  8: 15,
  9: 13,
  10: 36,
  11: 104,
  12: 284,
  13: 552,
  14: 1047,
  15: 1861,
  16: 13391,
  17: 7619,
  18: 13385,
  19: 24672,
  20: 38704,
  21: 41630,
  22: 78779,
  23: 64549,
  24: 367474,
};

/** Share of IPv6 routes by length in a present-day full table (approximate, public table reports). */
export const IPV6_LENGTH_SHARES: Readonly<Record<number, number>> = {
  19: 0.0005,
  20: 0.001,
  24: 0.002,
  28: 0.006,
  29: 0.045,
  30: 0.01,
  31: 0.006,
  32: 0.12,
  33: 0.01,
  34: 0.01,
  35: 0.006,
  36: 0.04,
  38: 0.01,
  40: 0.08,
  42: 0.01,
  44: 0.095,
  45: 0.01,
  46: 0.03,
  47: 0.03,
  48: 0.4695,
};

export interface SyntheticPrefix {
  /** 4 or 16 octets, host bits zero. */
  address: Uint8Array;
  length: number;
}

export interface SyntheticGroup {
  family: 4 | 6;
  prefixes: SyntheticPrefix[];
  /** AS_SEQUENCE, neighbour first, origin last. */
  asPath: number[];
  communities: number[];
  /** 4 octets for IPv4 groups, 16 for IPv6. */
  nextHop: Uint8Array;
  med: number;
}

export interface SyntheticTableOptions {
  ipv4Routes: number;
  ipv6Routes: number;
  seed?: number;
  /** Largest number of prefixes sharing one attribute set (groups are 1 … this, uniformly). */
  maxGroup?: number;
  /** The peer's AS (first of every path). */
  peerAs?: number;
}

export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Counts per length summing exactly to `total` (largest remainders). */
export function scaleShape(shape: Readonly<Record<number, number>>, total: number): Map<number, number> {
  const entries = Object.entries(shape).map(([length, weight]) => [Number(length), weight] as const);
  const sum = entries.reduce((s, [, w]) => s + w, 0);
  const exact = entries.map(([length, w]) => ({ length, value: (w * total) / sum }));
  const counts = new Map(exact.map((e) => [e.length, Math.floor(e.value)]));
  let left = total - [...counts.values()].reduce((s, c) => s + c, 0);
  for (const e of [...exact].sort((a, b) => (b.value % 1) - (a.value % 1))) {
    if (left-- <= 0) break;
    counts.set(e.length, (counts.get(e.length) ?? 0) + 1);
  }
  return counts;
}

/** First octets left out of the IPv4 space used (private, loopback, multicast, reserved). */
const RESERVED_V4 = new Set([
  0, 10, 127, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242,
  243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255,
]);

function v4Prefixes(counts: Map<number, number>, next: () => number): SyntheticPrefix[] {
  const out: SyntheticPrefix[] = [];
  for (const [length, count] of counts) {
    const seen = new Set<number>();
    const mask = (0xffffffff << (32 - length)) >>> 0;
    while (seen.size < count) {
      let first = 1 + Math.floor(next() * 223);
      while (RESERVED_V4.has(first)) first = 1 + Math.floor(next() * 223);
      const word = ((first << 24) | Math.floor(next() * 0x1000000)) & mask;
      if (seen.has(word >>> 0)) continue;
      seen.add(word >>> 0);
      out.push({
        address: Uint8Array.of(word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff),
        length,
      });
    }
  }
  return out;
}

function v6Prefixes(counts: Map<number, number>, next: () => number): SyntheticPrefix[] {
  const out: SyntheticPrefix[] = [];
  for (const [length, count] of counts) {
    const seen = new Set<string>();
    while (seen.size < count) {
      const address = new Uint8Array(16);
      // 2000::/4 … 2c00::, the allocated global unicast space.
      address[0] = 0x20 | Math.floor(next() * 12);
      for (let i = 1; i < 8; i++) address[i] = Math.floor(next() * 256);
      for (let bit = length; bit < 64; bit++) address[bit >> 3] = address[bit >> 3]! & ~(0x80 >> (bit & 7));
      const key = Buffer.from(address.subarray(0, 8)).toString('hex');
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ address, length });
    }
  }
  return out;
}

/** Shuffles in place (a real dump is in prefix order, but updates from many origins interleave). */
function shuffle<T>(items: T[], next: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
}

export function syntheticFullTable(options: SyntheticTableOptions): SyntheticGroup[] {
  const next = random(options.seed ?? 2017);
  const maxGroup = options.maxGroup ?? 8;
  const peerAs = options.peerAs ?? 64_496;
  const groups: SyntheticGroup[] = [];
  const nextHop4 = Uint8Array.of(192, 0, 2, 1);
  const nextHop6 = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
  for (const family of [4, 6] as const) {
    const prefixes =
      family === 4
        ? v4Prefixes(scaleShape(TABLE1_SEP_2017, options.ipv4Routes), next)
        : v6Prefixes(scaleShape(IPV6_LENGTH_SHARES, options.ipv6Routes), next);
    shuffle(prefixes, next);
    for (let i = 0; i < prefixes.length; ) {
      const size = 1 + Math.floor(next() * maxGroup);
      const origin = 1 + Math.floor(next() * 80_000);
      const transit = [174, 1299, 2914, 3257, 3356, 6453, 6762, 6939][Math.floor(next() * 8)]!;
      const middle = Math.floor(next() * 3);
      const path = [peerAs, transit];
      for (let m = 0; m < middle; m++) path.push(1 + Math.floor(next() * 200_000));
      path.push(origin);
      const communities: number[] = [];
      for (let c = Math.floor(next() * 4); c > 0; c--)
        communities.push((((peerAs & 0xffff) << 16) | Math.floor(next() * 5000)) >>> 0);
      groups.push({
        family,
        prefixes: prefixes.slice(i, i + size),
        asPath: path,
        communities,
        nextHop: family === 4 ? nextHop4 : nextHop6,
        med: Math.floor(next() * 200),
      });
      i += size;
    }
  }
  return groups;
}
