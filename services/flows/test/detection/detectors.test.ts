import type { Detection } from '@kansoku/kit';
import { describe, expect, it } from 'vitest';
import { createExporterSilenceDetector } from '../../src/detection/exporter-silence.ts';
import {
  createDdosDetector,
  type DdosDetectorConfig,
  destinationPrefix,
  hourOfWeek,
} from '../../src/detection/volumetric-ddos.ts';

function collect() {
  const seen: Detection[] = [];
  return { seen, emitter: { emit: (d: Detection) => seen.push(d) } };
}

const config: DdosDetectorConfig = {
  windowSeconds: 10,
  minBps: 1e9,
  minPps: 1_000_000,
  factor: 4,
  forWindows: 2,
  resolveWindows: 3,
  maxDestinations: 1000,
  maxBaselines: 100,
  baselineAlpha: 0.5,
  learningSeconds: 0,
};
/** Monday 2026-01-05 10:00 UTC. */
const T0 = Date.UTC(2026, 0, 5, 10);

/** Feeds `seconds` of traffic at `bps` with 1,000-byte packets toward `destination`, one flow per second. */
function feed(
  detector: ReturnType<typeof createDdosDetector>,
  destination: string,
  from: number,
  seconds: number,
  bps: number,
) {
  for (let s = 0; s < seconds; s++) {
    const bytes = bps / 8;
    detector.observe(destination, bytes, bytes / 1000, from + s * 1000);
  }
}

describe('volumetric DDoS detector', () => {
  it('names prefixes and hours of the week', () => {
    expect(destinationPrefix('203.0.113.7')).toBe('203.0.113.0/24');
    expect(destinationPrefix('2001:db8::7')).toBe('2001:db8:0:0::/64');
    expect(hourOfWeek(Date.UTC(2026, 0, 4, 0))).toBe(0); // a Sunday, 00:00 UTC
    expect(hourOfWeek(T0)).toBe(24 + 10);
  });

  it('fires after forWindows windows above the floor and resolves after resolveWindows below', () => {
    const { seen, emitter } = collect();
    const detector = createDdosDetector(config, { emitter });
    feed(detector, '203.0.113.7', T0, 10, 1e8); // normal: 100 Mbps
    feed(detector, '203.0.113.7', T0 + 10_000, 30, 5e9); // attack: 5 Gbps for 3 windows
    detector.advance(T0 + 40_000);
    const firing = seen.filter((d) => d.status === 'firing');
    expect(firing.length).toBe(2); // windows 2 and 3 of the attack (the first is pending)
    expect(firing[0]).toMatchObject({
      domain: 'flows',
      name: 'volumetric-ddos',
      severity: 'critical',
      labels: { destination: '203.0.113.7', prefix: '203.0.113.0/24' },
      startsAt: T0 + 10_000,
    });
    expect(firing[0]?.value).toBeCloseTo(5e9, -6);
    feed(detector, '203.0.113.7', T0 + 40_000, 30, 1e8);
    detector.advance(T0 + 70_000);
    const resolved = seen.filter((d) => d.status === 'resolved');
    expect(resolved).toHaveLength(1);
    expect(resolved[0]?.endsAt).toBe(T0 + 70_000);
  });

  it('ignores a single window blip and traffic under the floor', () => {
    const { seen, emitter } = collect();
    const detector = createDdosDetector(config, { emitter });
    feed(detector, '198.51.100.1', T0, 10, 3e9); // one window above
    feed(detector, '198.51.100.1', T0 + 10_000, 10, 1e8);
    feed(detector, '198.51.100.2', T0, 60, 9e8); // below the 1 Gbps floor all along
    detector.advance(T0 + 80_000);
    expect(seen).toEqual([]);
  });

  it('learns big legitimate destinations first, then needs factor × their baseline, in any hour', () => {
    const { seen, emitter } = collect();
    const detector = createDdosDetector({ ...config, learningSeconds: 60 }, { emitter });
    // 2 Gbps is normal for this server: above the floor, but learned during the first minute.
    feed(detector, '192.0.2.80', T0, 60, 2e9);
    feed(detector, '192.0.2.80', T0 + 60_000, 30, 3e9); // 1.5× its baseline: not an attack
    detector.advance(T0 + 90_000);
    expect(seen).toEqual([]);
    // An hour later (another slot, not learned yet) the mean of learned hours applies.
    const later = T0 + 3_600_000;
    feed(detector, '192.0.2.80', later, 30, 3e9);
    detector.advance(later + 30_000);
    expect(seen).toEqual([]);
    feed(detector, '192.0.2.80', later + 30_000, 30, 2e10); // 10× baseline: an attack
    detector.advance(later + 60_000);
    expect(seen.filter((d) => d.status === 'firing').length).toBeGreaterThan(0);
    // A destination in a prefix never seen before fires above the floor alone.
    feed(detector, '198.51.100.99', later + 60_000, 30, 3e9);
    detector.advance(later + 90_000);
    expect(seen.some((d) => d.labels.destination === '198.51.100.99' && d.status === 'firing')).toBe(true);
  });

  it('keeps state bounded', () => {
    const { emitter } = collect();
    const detector = createDdosDetector({ ...config, maxDestinations: 100 }, { emitter });
    for (let i = 0; i < 1000; i++) detector.observe(`10.0.${i >> 8}.${i & 255}`, 100, 1, T0);
    expect(detector.stats().trackedDestinations).toBe(100);
    expect(detector.stats().droppedDestinations).toBe(900);
  });
});

describe('exporter silence detector', () => {
  const silence = { silentAfterSeconds: 120, minRecordsPerMinute: 10, maxExporters: 100 };

  it('fires once when a busy exporter stops and resolves when it sends again', () => {
    const { seen, emitter } = collect();
    const detector = createExporterSilenceDetector(silence, { emitter });
    for (let s = 0; s < 180; s++) detector.observe('192.0.2.1', T0 + s * 1000); // 60 records/min for 3 min
    detector.check(T0 + 180_000 + 60_000);
    expect(seen).toEqual([]);
    detector.check(T0 + 180_000 + 125_000);
    detector.check(T0 + 180_000 + 200_000);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      name: 'exporter-silent',
      status: 'firing',
      labels: { exporter: '192.0.2.1' },
    });
    detector.observe('192.0.2.1', T0 + 400_000);
    expect(seen).toHaveLength(2);
    expect(seen[1]).toMatchObject({ status: 'resolved', endsAt: T0 + 400_000 });
  });

  it('does not fire for an exporter that only ever sent a trickle', () => {
    const { seen, emitter } = collect();
    const detector = createExporterSilenceDetector(silence, { emitter });
    for (let m = 0; m < 5; m++) detector.observe('192.0.2.9', T0 + m * 60_000); // 1 record/min
    detector.check(T0 + 3_600_000);
    expect(seen).toEqual([]);
  });
});
