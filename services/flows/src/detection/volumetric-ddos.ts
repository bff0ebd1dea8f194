/**
 * Volumetric DDoS toward one destination: per window, the bits and packets per second each destination
 * address receives, against a seasonal baseline of its prefix (/24 for IPv4, /64 for IPv6) for that hour of
 * the week (a prefix with no value for this hour yet uses the mean of the hours it has). After a start the
 * detector only learns for `learningSeconds`. A destination fires when its rate exceeds max(floor, factor × baseline) for `forWindows` windows in
 * a row, and resolves after `resolveWindows` windows below. Baselines learn only from windows that did not fire,
 * so an attack does not teach the detector that attacks are normal. Memory is bounded: destinations per window
 * and prefixes with a baseline are capped (the excess is counted).
 */
import type { Detection, DetectionEmitter } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';

export const ddosDetectorSchema = Type.Object({
  windowSeconds: Type.Integer({ default: 10, minimum: 1, maximum: 300 }),
  minBps: Type.Number({ default: 1e9, minimum: 0, description: 'Nothing below this bit rate fires' }),
  minPps: Type.Number({ default: 200_000, minimum: 0, description: 'Nothing below this packet rate fires' }),
  factor: Type.Number({
    default: 4,
    minimum: 1,
    description: 'Times the seasonal baseline that counts as an attack',
  }),
  forWindows: Type.Integer({ default: 2, minimum: 1 }),
  resolveWindows: Type.Integer({ default: 3, minimum: 1 }),
  maxDestinations: Type.Integer({ default: 200_000, minimum: 100 }),
  maxBaselines: Type.Integer({ default: 20_000, minimum: 10 }),
  /** Weight of a new window in the baseline (exponential moving average per hour-of-week slot). */
  baselineAlpha: Type.Number({ default: 0.05, exclusiveMinimum: 0, maximum: 1 }),
  /** After a start, windows only teach the baseline for this long (big legitimate servers are learned first). */
  learningSeconds: Type.Integer({ default: 3600, minimum: 0 }),
});

export interface DdosDetectorConfig {
  windowSeconds: number;
  minBps: number;
  minPps: number;
  factor: number;
  forWindows: number;
  resolveWindows: number;
  maxDestinations: number;
  maxBaselines: number;
  baselineAlpha: number;
  learningSeconds: number;
}

const SLOTS = 168; // hours of the week

interface Rate {
  bytes: number;
  packets: number;
}

interface Episode {
  above: number;
  below: number;
  firing: boolean;
  startsAt: number;
  peakBps: number;
  peakPps: number;
}

/** Hour of the week (0 = Sunday 00:00 UTC); baselines are per slot. */
export function hourOfWeek(unixMs: number): number {
  const hours = Math.floor(unixMs / 3_600_000);
  return (hours + 96) % SLOTS; // 1970-01-01 was a Thursday: shift so slot 0 is Sunday 00:00
}

export function destinationPrefix(address: string): string {
  if (address.includes(':')) {
    const groups = address.split(':');
    // Expand enough of a compressed address to take the first four groups (/64).
    const full = groups.length < 8 && address.includes('::') ? expandV6(address) : groups;
    return `${full.slice(0, 4).join(':')}::/64`;
  }
  const octets = address.split('.');
  return `${octets.slice(0, 3).join('.')}.0/24`;
}

function expandV6(address: string): string[] {
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  return [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
}

/** The baseline for a slot; a slot not learned yet falls back to the mean of the learned ones. */
function expected(series: Float32Array | undefined, slot: number): number {
  if (!series) return 0;
  const value = series[slot] ?? 0;
  if (value > 0) return value;
  let sum = 0;
  let n = 0;
  for (const v of series) {
    if (v > 0) {
      sum += v;
      n++;
    }
  }
  return n === 0 ? 0 : sum / n;
}

export interface DdosDetector {
  /** Adds one flow's estimated traffic toward `destination` at `timeMs`. */
  observe(destination: string, bytes: number, packets: number, timeMs: number): void;
  /** Closes every window that ended by `nowMs` (records drive time; a timer calls this when traffic stops). */
  advance(nowMs: number): void;
  stats(): { trackedDestinations: number; baselines: number; droppedDestinations: number; firing: number };
}

export function createDdosDetector(
  config: DdosDetectorConfig,
  deps: { emitter: DetectionEmitter },
): DdosDetector {
  const windowMs = config.windowSeconds * 1000;
  let windowStart = -1;
  let firstWindow = -1;
  let current = new Map<string, Rate>();
  let droppedDestinations = 0;
  const episodes = new Map<string, Episode>();
  /** Prefix → bps and pps baselines per hour-of-week slot (Float32: 168 × 2 × 4 B = 1.3 KiB per prefix). */
  const baselines = new Map<string, { bps: Float32Array; pps: Float32Array }>();

  function baselineOf(prefix: string) {
    let b = baselines.get(prefix);
    if (b) {
      // Refresh recency for LRU eviction.
      baselines.delete(prefix);
      baselines.set(prefix, b);
      return b;
    }
    if (baselines.size >= config.maxBaselines) {
      const oldest = baselines.keys().next().value;
      if (oldest !== undefined) baselines.delete(oldest);
    }
    b = { bps: new Float32Array(SLOTS), pps: new Float32Array(SLOTS) };
    baselines.set(prefix, b);
    return b;
  }

  function detection(
    destination: string,
    e: Episode,
    status: 'firing' | 'resolved',
    endsAt?: number,
  ): Detection {
    return {
      domain: 'flows',
      name: 'volumetric-ddos',
      severity: 'critical',
      status,
      labels: { destination, prefix: destinationPrefix(destination) },
      annotations: {
        summary: `Volumetric traffic toward ${destination}`,
        description: `Peak ${(e.peakBps / 1e9).toFixed(2)} Gbps, ${Math.round(e.peakPps)} pps over ${config.windowSeconds} s windows, above ${config.factor}× its seasonal baseline and the floor (${config.minBps / 1e9} Gbps / ${config.minPps} pps).`,
      },
      startsAt: e.startsAt,
      ...(endsAt !== undefined ? { endsAt } : {}),
      value: e.peakBps,
      threshold: config.minBps,
    };
  }

  function closeWindow(start: number) {
    const slot = hourOfWeek(start);
    const learning = start - firstWindow < config.learningSeconds * 1000;
    const seconds = config.windowSeconds;
    const aboveNow = new Map<string, { bps: number; pps: number }>();
    for (const [destination, rate] of current) {
      const bps = (rate.bytes * 8) / seconds;
      const pps = rate.packets / seconds;
      const prefix = destinationPrefix(destination);
      const known = baselines.get(prefix);
      const bpsBound = Math.max(config.minBps, config.factor * expected(known?.bps, slot));
      const ppsBound = Math.max(config.minPps, config.factor * expected(known?.pps, slot));
      if (!learning && (bps > bpsBound || pps > ppsBound)) {
        aboveNow.set(destination, { bps, pps });
        continue;
      }
      // Learn only from ordinary windows, and only for destinations big enough to ever matter.
      const big = bps * config.factor >= config.minBps || pps * config.factor >= config.minPps;
      if (!episodes.get(destination)?.firing && (big || known)) {
        const b = baselineOf(prefix);
        const a = config.baselineAlpha;
        const learn = (series: Float32Array, value: number) => {
          const old = series[slot] ?? 0;
          series[slot] = old === 0 ? value : (1 - a) * old + a * value;
        };
        learn(b.bps, bps);
        learn(b.pps, pps);
      }
    }
    for (const [destination, rate] of aboveNow) {
      let e = episodes.get(destination);
      if (!e) {
        e = { above: 0, below: 0, firing: false, startsAt: start, peakBps: 0, peakPps: 0 };
        episodes.set(destination, e);
      }
      e.above++;
      e.below = 0;
      e.peakBps = Math.max(e.peakBps, rate.bps);
      e.peakPps = Math.max(e.peakPps, rate.pps);
      if (e.above >= config.forWindows) {
        e.firing = true;
        deps.emitter.emit(detection(destination, e, 'firing'));
      }
    }
    for (const [destination, e] of episodes) {
      if (aboveNow.has(destination)) continue;
      if (!e.firing) {
        // A blip shorter than forWindows: forget it.
        episodes.delete(destination);
        continue;
      }
      e.below++;
      if (e.below >= config.resolveWindows) {
        deps.emitter.emit(detection(destination, e, 'resolved', start + windowMs));
        episodes.delete(destination);
      }
    }
    current = new Map();
  }

  function advance(nowMs: number): void {
    if (windowStart < 0) return;
    while (nowMs >= windowStart + windowMs) {
      closeWindow(windowStart);
      windowStart += windowMs;
      // Skip over long idle gaps without closing thousands of empty windows one by one.
      if (current.size === 0 && episodes.size === 0 && nowMs >= windowStart + windowMs) {
        windowStart = nowMs - (nowMs % windowMs);
      }
    }
  }

  return {
    observe(destination, bytes, packets, timeMs) {
      if (windowStart < 0) {
        windowStart = timeMs - (timeMs % windowMs);
        firstWindow = windowStart;
      }
      if (timeMs >= windowStart + windowMs) advance(timeMs);
      let rate = current.get(destination);
      if (!rate) {
        if (current.size >= config.maxDestinations) {
          droppedDestinations++;
          return;
        }
        rate = { bytes: 0, packets: 0 };
        current.set(destination, rate);
      }
      rate.bytes += bytes;
      rate.packets += packets;
    },
    advance,
    stats: () => ({
      trackedDestinations: current.size,
      baselines: baselines.size,
      droppedDestinations,
      firing: [...episodes.values()].filter((e) => e.firing).length,
    }),
  };
}
