/**
 * The resolver traffic the report describes (seed/figures.md, DNS): per-source query rate by time of day
 * (≈0.08 queries/s per source on average, ≈0.04 at 04:00, ≈0.13 at the 21:00 peak), the query-type mix per
 * transport (IPv4: A 64%, AAAA 33%, other 3%; IPv6: A 56%, AAAA 43%, other 1%) and the share of sources that
 * ask for A (96% on both) and AAAA (57% IPv4, 80% IPv6).
 */

/**
 * Queries per second per source at each local hour (00:00 … 23:00); linear in between. Night low at 04:00,
 * a morning rise, a flat day, the evening peak at 21:00; the mean over the day is 0.080.
 */
export const HOURLY_QPS_PER_SOURCE: readonly number[] = [
  0.083, 0.07, 0.056, 0.046, 0.04, 0.042, 0.05, 0.062, 0.072, 0.075, 0.077, 0.079, 0.082, 0.084, 0.083, 0.079,
  0.081, 0.085, 0.093, 0.105, 0.12, 0.13, 0.122, 0.104,
];

/** Per-source rate at a local time of day given in hours (0 ≤ h < 24), interpolated between hours. */
export function qpsPerSourceAt(localHour: number): number {
  const h = ((localHour % 24) + 24) % 24;
  const i = Math.floor(h);
  const f = h - i;
  const a = HOURLY_QPS_PER_SOURCE[i] ?? 0;
  const b = HOURLY_QPS_PER_SOURCE[(i + 1) % 24] ?? 0;
  return a + (b - a) * f;
}

export interface TransportMix {
  /** Query shares: A, AAAA, everything else. */
  a: number;
  aaaa: number;
  other: number;
  /** Shares of sources that ask A at all, and AAAA at all. */
  sourcesA: number;
  sourcesAaaa: number;
}

export const REPORT_MIX: Record<4 | 6, TransportMix> = {
  4: { a: 0.64, aaaa: 0.33, other: 0.03, sourcesA: 0.96, sourcesAaaa: 0.57 },
  6: { a: 0.56, aaaa: 0.43, other: 0.01, sourcesA: 0.96, sourcesAaaa: 0.8 },
};

/** What kind of asker a source is, and the query-type probabilities of its queries. */
export interface SourceProfile {
  pA: number;
  pAaaa: number;
  /** The rest (1 − pA − pAaaa) are other types. */
}

export interface ProfileMix {
  /** Probability of each profile and its type probabilities: both A and AAAA, A only, AAAA only, neither. */
  profiles: { share: number; profile: SourceProfile }[];
}

/**
 * Source profiles that give the mix: sources asking neither A nor AAAA are 1% (they ask PTR, HTTPS, …); the
 * others ask A, AAAA or both so that the source shares hold; every asker sends other types with probability
 * `o` and, when it asks both, AAAA with probability `x`; `o` and `x` solve the query shares. Source activity
 * is independent of profile, so the query shares are these probabilities averaged over profiles.
 */
export function profileMix(mix: TransportMix): ProfileMix {
  const neither = 0.01;
  const union = 1 - neither;
  const both = mix.sourcesA + mix.sourcesAaaa - union;
  const aOnly = mix.sourcesA - both;
  const aaaaOnly = mix.sourcesAaaa - both;
  // other share = neither·1 + union·o
  const o = Math.max(0, (mix.other - neither) / union);
  // AAAA share = both·x + aaaaOnly·(1 − o)
  const x = (mix.aaaa - aaaaOnly * (1 - o)) / both;
  if (!(both > 0 && aOnly >= 0 && aaaaOnly >= 0 && x >= 0 && x + o <= 1)) {
    throw new RangeError('query-type mix and source shares are not consistent');
  }
  return {
    profiles: [
      { share: both, profile: { pA: 1 - x - o, pAaaa: x } },
      { share: aOnly, profile: { pA: 1 - o, pAaaa: 0 } },
      { share: aaaaOnly, profile: { pA: 0, pAaaa: 1 - o } },
      { share: neither, profile: { pA: 0, pAaaa: 0 } },
    ],
  };
}

/** Other query types and their relative weights (HTTPS records from browsers, reverse lookups, mail, …). */
export const OTHER_TYPES: readonly { qtype: number; weight: number }[] = [
  { qtype: 65, weight: 40 }, // HTTPS
  { qtype: 12, weight: 25 }, // PTR
  { qtype: 16, weight: 10 }, // TXT
  { qtype: 15, weight: 8 }, // MX
  { qtype: 33, weight: 7 }, // SRV
  { qtype: 5, weight: 5 }, // CNAME
  { qtype: 2, weight: 3 }, // NS
  { qtype: 6, weight: 2 }, // SOA
];
