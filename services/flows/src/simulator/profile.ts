/**
 * The traffic the simulator makes, calibrated on the report (shared/seed/figures.md):
 * - IPv6 is about 4% of bytes (Fig. 6);
 * - source ASes are skewed: for IPv4 the second is about half of the first (Fig. 8), for IPv6 the second is
 *   about 1/16 of the first (Fig. 7);
 * - the protocol/source-port mix: for IPv6, 443/TCP about 40%, with 443/UDP (QUIC) over 50%, 80/TCP about a
 *   sixth of those two (Fig. 9); for IPv4, 80/TCP weighs much more (Fig. 10, picture only: our shares are an
 *   assumption that keeps that ordering);
 * - time of day on a weekday: three peaks (morning commute, lunch — the highest —, evening commute) and a sharp
 *   drop after 23:30 (Fig. 11); weekends: a smaller lunch peak, no daytime decline, shallower night dip (Fig. 12);
 * - daily volume: rising toward Friday, lower at weekends and toward the end of the month (Fig. 13).
 * AS numbers are from the documentation ranges (RFC 5398): the report names organisations only by letter.
 */

export interface PortMixEntry {
  protocol: number;
  srcPort: number;
  application: string;
  /** Share of bytes. */
  share: number;
}

export interface AsEntry {
  asn: number;
  /** Organisation letter in the report. */
  label: string;
  /** Weight relative to the first. */
  weight: number;
}

export const IPV6_BYTE_SHARE = 0.04;

export const PORT_MIX: Record<4 | 6, PortMixEntry[]> = {
  6: [
    { protocol: 6, srcPort: 443, application: 'HTTPS', share: 0.4 },
    { protocol: 17, srcPort: 443, application: 'QUIC', share: 0.13 },
    { protocol: 6, srcPort: 80, application: 'HTTP', share: 0.09 },
    { protocol: 17, srcPort: 53, application: 'DNS', share: 0.01 },
    { protocol: 6, srcPort: 993, application: 'IMAPS', share: 0.02 },
    { protocol: 6, srcPort: 0, application: '', share: 0.2 },
    { protocol: 17, srcPort: 0, application: '', share: 0.15 },
  ],
  4: [
    { protocol: 6, srcPort: 443, application: 'HTTPS', share: 0.38 },
    { protocol: 6, srcPort: 80, application: 'HTTP', share: 0.24 },
    { protocol: 17, srcPort: 443, application: 'QUIC', share: 0.08 },
    { protocol: 17, srcPort: 53, application: 'DNS', share: 0.01 },
    { protocol: 6, srcPort: 1935, application: '', share: 0.02 },
    { protocol: 6, srcPort: 0, application: '', share: 0.17 },
    { protocol: 17, srcPort: 0, application: '', share: 0.1 },
  ],
};

export const SOURCE_ASES: Record<4 | 6, AsEntry[]> = {
  4: [
    { asn: 64496, label: 'A', weight: 1 },
    { asn: 64497, label: 'D', weight: 0.5 },
    { asn: 64498, label: 'G', weight: 0.32 },
    { asn: 64499, label: 'K', weight: 0.25 },
    { asn: 64500, label: 'B', weight: 0.18 },
    { asn: 64501, label: 'C', weight: 0.14 },
    { asn: 64502, label: 'E', weight: 0.1 },
    { asn: 64503, label: 'F', weight: 0.08 },
  ],
  6: [
    { asn: 64496, label: 'A', weight: 1 },
    { asn: 64504, label: 'B', weight: 1 / 16 },
    { asn: 64505, label: 'C', weight: 0.055 },
    { asn: 64497, label: 'D', weight: 0.05 },
    { asn: 64506, label: 'E', weight: 0.04 },
    { asn: 64498, label: 'G', weight: 0.03 },
  ],
};

/** Our own network, the destination of the download traffic the report measures. */
export const LOCAL_AS = 64510;

const HOUR = 3600;

/** Sum of gaussian bumps: centre (hours), width (hours), height. */
function bumps(hour: number, peaks: [number, number, number][]): number {
  let v = 0;
  for (const [centre, width, height] of peaks) {
    // Wrap around midnight so 23:00 and 01:00 are close.
    const d = Math.min(Math.abs(hour - centre), 24 - Math.abs(hour - centre));
    v += height * Math.exp(-(d * d) / (2 * width * width));
  }
  return v;
}

/**
 * Relative traffic level at a local time (0..~1), by weekday (0 = Sunday) and hour with fraction.
 * Weekdays: commute peaks at 7:45 and 18:30, lunch at 12:15 the highest, a plateau in the evening and a sharp
 * drop after 23:30. Weekends: a smaller lunch peak, no daytime decline, a shallower night dip.
 */
export function timeOfDayLevel(weekday: number, hour: number): number {
  const weekend = weekday === 0 || weekday === 6;
  // Daytime base: ramps up from 5:00 and holds until the drop after 23:30.
  const ramp = (from: number, to: number) => Math.min(1, Math.max(0, (hour - from) / (to - from)));
  const drop = hour >= 23.5 ? Math.max(0.2, 1 - (hour - 23.5) * 1.6) : 1;
  if (weekend) {
    // Sunday night sinks deeper, toward Monday morning.
    const night = weekday === 0 && hour >= 22 ? 0.8 : 1;
    const base = 0.17 + 0.45 * ramp(5, 11);
    return (
      (base +
        bumps(hour, [
          [12.5, 1.2, 0.12],
          [21, 2, 0.12],
        ])) *
      drop *
      night
    );
  }
  const base = 0.08 + 0.3 * ramp(5, 8.5);
  const peaks = bumps(hour, [
    [7.75, 0.7, 0.35],
    [12.25, 0.45, 0.55],
    [18.5, 1, 0.3],
    [21.5, 1.6, 0.25],
  ]);
  return (base + peaks * ramp(4, 6)) * drop;
}

/** Relative daily volume (Fig. 13): weekday rising toward Friday, weekend lower, end of month lower. */
export function dailyLevel(weekday: number, dayOfMonth: number, daysInMonth: number): number {
  const byWeekday = [0.9, 0.93, 0.96, 0.98, 1.0, 1.04, 0.95][weekday] ?? 1;
  const monthEnd = dayOfMonth > daysInMonth - 7 ? 1 - 0.012 * (dayOfMonth - (daysInMonth - 7)) : 1;
  return byWeekday * monthEnd;
}

/** Local (Asia/Tokyo, UTC+9 without DST) weekday, hour and day of month of a UTC instant. */
export function tokyoTime(unixMs: number): {
  weekday: number;
  hour: number;
  day: number;
  daysInMonth: number;
} {
  const local = new Date(unixMs + 9 * HOUR * 1000);
  const daysInMonth = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + 1, 0)).getUTCDate();
  return {
    weekday: local.getUTCDay(),
    hour: local.getUTCHours() + local.getUTCMinutes() / 60 + local.getUTCSeconds() / 3600,
    day: local.getUTCDate(),
    daysInMonth,
  };
}

/** The traffic level at an instant: time of day × day of month, the multiplier applied to bytes. */
export function trafficLevel(unixMs: number): number {
  const t = tokyoTime(unixMs);
  return timeOfDayLevel(t.weekday, t.hour) * dailyLevel(t.weekday, t.day, t.daysInMonth);
}

/** Picks an entry by weight with a uniform number u in [0, 1). */
export function pickWeighted<T>(entries: readonly T[], weightOf: (e: T) => number, u: number): T {
  let total = 0;
  for (const e of entries) total += weightOf(e);
  let x = u * total;
  for (const e of entries) {
    x -= weightOf(e);
    if (x < 0) return e;
  }
  return entries[entries.length - 1]!;
}
