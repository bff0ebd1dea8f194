import { RibType } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { ConfigError, type Detection } from '@kansoku/kit';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import {
  type BgpDetectionConfig,
  bgpDetectionSchema,
  createBgpDetectors,
} from '../../src/detection/detectors.ts';
import { Rib } from '../../src/rib/rib.ts';

const peer = (address: string) => ({
  identity: { router: '192.0.2.1', distinguisher: '0', address },
  ribType: RibType.ADJ_RIB_IN_POST_POLICY,
  asn: 64_496,
});
const attrs = (origin: number) => `${origin}\t64496 ${origin}\t192.0.2.254\t\t\t\t\t\t1\t0`;

function setup(overrides: Partial<BgpDetectionConfig> = {}) {
  const config = { ...(Value.Default(bgpDetectionSchema, {}) as BgpDetectionConfig), ...overrides };
  const emitted: Detection[] = [];
  const rib = new Rib();
  const detectors = createBgpDetectors(config, { emitter: { emit: (d) => emitted.push(d) }, rib });
  rib.observer = {
    onAnnounce: (e) => detectors.onAnnounce(e),
    onPrefixGone: (e) => detectors.onPrefixGone(e),
  };
  const announce = (from: string, prefix: string, length: number, origin: number, timeMs = 1_000) =>
    rib.announceRoute(
      peer(from),
      prefix.includes(':') ? 6 : 4,
      parseIpAddress(prefix),
      length,
      0,
      attrs(origin),
      origin,
      timeMs,
    );
  const withdraw = (from: string, prefix: string, length: number) =>
    rib.withdrawRoute(peer(from), prefix.includes(':') ? 6 : 4, parseIpAddress(prefix), length, 0);
  return { rib, detectors, emitted, announce, withdraw };
}

describe('origin-change', () => {
  it('fires when a peer sees a new origin for a known prefix, once, and resolves when it is withdrawn', () => {
    const { rib, detectors, emitted, announce, withdraw } = setup();
    announce('198.51.100.1', '192.0.2.0', 24, 64500);
    announce('198.51.100.2', '192.0.2.0', 24, 64500);
    expect(emitted).toEqual([]);
    announce('198.51.100.2', '192.0.2.0', 24, 64666, 2_000);
    announce('198.51.100.2', '192.0.2.0', 24, 64500, 2_500);
    announce('198.51.100.2', '192.0.2.0', 24, 64666, 3_000);
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({
      domain: 'bgp',
      name: 'origin-change',
      severity: 'critical',
      status: 'firing',
      labels: { prefix: '192.0.2.0/24', origin_as: '64666' },
      value: 64666,
      threshold: 64500,
    });
    detectors.tick(4_000, rib.peerSummaries());
    expect(emitted).toHaveLength(1);
    withdraw('198.51.100.2', '192.0.2.0', 24);
    detectors.tick(5_000, rib.peerSummaries());
    expect(emitted[1]).toMatchObject({ name: 'origin-change', status: 'resolved', endsAt: 5_000 });
    expect(detectors.active()).toEqual([]);
  });

  it('a replaced route of the only peer counts too; a first announcement does not', () => {
    const { emitted, announce } = setup();
    announce('198.51.100.1', '203.0.113.0', 24, 64500);
    expect(emitted).toEqual([]);
    announce('198.51.100.1', '203.0.113.0', 24, 64501);
    expect(emitted.map((d) => d.labels.origin_as)).toEqual(['64501']);
  });

  it('leaves known MOAS prefixes alone (with or without their listed origins)', () => {
    const { emitted, announce } = setup({
      originChange: {
        enabled: true,
        maxFiringMs: 3_600_000,
        knownMoas: ['192.0.2.0/24=64500,64501', '198.18.0.0/15'],
      },
    });
    announce('198.51.100.1', '192.0.2.0', 24, 64500);
    announce('198.51.100.2', '192.0.2.0', 24, 64501);
    announce('198.51.100.1', '198.18.0.0', 15, 1);
    announce('198.51.100.2', '198.18.0.0', 15, 2);
    expect(emitted).toEqual([]);
    announce('198.51.100.3', '192.0.2.0', 24, 64666);
    expect(emitted.map((d) => d.labels.origin_as)).toEqual(['64666']);
  });

  it('resolves after maxFiringMs even when still announced', () => {
    const { rib, detectors, emitted, announce } = setup({
      originChange: { enabled: true, maxFiringMs: 60_000, knownMoas: [] },
    });
    announce('198.51.100.1', '192.0.2.0', 24, 64500, 0);
    announce('198.51.100.2', '192.0.2.0', 24, 64666, 1_000);
    detectors.tick(30_000, rib.peerSummaries());
    expect(emitted).toHaveLength(1);
    detectors.tick(61_000, rib.peerSummaries());
    expect(emitted.map((d) => d.status)).toEqual(['firing', 'resolved']);
  });

  it('names a bad knownMoas entry', () => {
    expect(() =>
      setup({ originChange: { enabled: true, maxFiringMs: 60_000, knownMoas: ['192.0.2.0/33'] } }),
    ).toThrow(ConfigError);
    expect(() => setup({ watchedPrefixes: ['nonsense'] })).toThrow(/watchedPrefixes\[0\]/);
  });
});

describe('more-specific', () => {
  it('fires for a prefix inside a watched one (critical from a foreign origin), resolves on withdrawal', () => {
    const { emitted, announce, withdraw } = setup({
      watchedPrefixes: ['203.0.112.0/22=64500', '2001:db8::/32'],
    });
    announce('198.51.100.1', '203.0.112.0', 22, 64500);
    announce('198.51.100.1', '198.51.100.0', 24, 64500);
    expect(emitted).toEqual([]);
    announce('198.51.100.1', '203.0.113.0', 24, 64666);
    announce('198.51.100.2', '203.0.113.0', 24, 64666);
    announce('198.51.100.1', '203.0.114.0', 23, 64500);
    announce('198.51.100.1', '2001:db8:1::', 48, 64510);
    expect(emitted.map((d) => [d.labels.prefix, d.severity])).toEqual([
      ['203.0.113.0/24', 'critical'],
      ['203.0.114.0/23', 'warning'],
      ['2001:db8:1::/48', 'warning'],
    ]);
    withdraw('198.51.100.1', '203.0.113.0', 24);
    expect(emitted).toHaveLength(3);
    withdraw('198.51.100.2', '203.0.113.0', 24);
    expect(emitted[3]).toMatchObject({
      name: 'more-specific',
      status: 'resolved',
      labels: { prefix: '203.0.113.0/24' },
    });
  });
});

describe('rib-drop', () => {
  it('fires when a peer RIB falls by more than the share within the window and resolves on recovery', () => {
    const { rib, detectors, emitted, announce } = setup({
      ribDrop: { enabled: true, share: 0.5, windowMs: 60_000, minRoutes: 100 },
    });
    const prefixes = Array.from({ length: 300 }, (_, i) => `10.${i >> 8}.${i & 0xff}.0`);
    for (const p of prefixes) announce('198.51.100.1', p, 24, 64500, 1_000);
    for (const p of prefixes.slice(0, 50)) announce('198.51.100.2', p, 24, 64500, 1_000);
    detectors.tick(10_000, rib.peerSummaries());
    // A withdrawal of a third: below the bound.
    for (const p of prefixes.slice(0, 100))
      rib.withdrawRoute(peer('198.51.100.1'), 4, parseIpAddress(p), 24, 0);
    detectors.tick(20_000, rib.peerSummaries());
    expect(emitted).toEqual([]);
    rib.peerDown(peer('198.51.100.1').identity, 25_000);
    detectors.tick(30_000, rib.peerSummaries());
    // The small peer (50 routes, under minRoutes) is not watched; the big one fired once.
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({
      name: 'rib-drop',
      labels: { peer: '198.51.100.1' },
      value: 0,
      threshold: 150,
    });
    detectors.tick(40_000, rib.peerSummaries());
    expect(emitted).toHaveLength(1);
    for (const p of prefixes) announce('198.51.100.1', p, 24, 64500, 41_000);
    detectors.tick(50_000, rib.peerSummaries());
    expect(emitted[1]).toMatchObject({ name: 'rib-drop', status: 'resolved' });
  });

  it('a slow decline outside the window does not fire', () => {
    const { rib, detectors, emitted, announce } = setup({
      ribDrop: { enabled: true, share: 0.5, windowMs: 60_000, minRoutes: 10 },
    });
    const prefixes = Array.from({ length: 100 }, (_, i) => `10.0.${i}.0`);
    for (const p of prefixes) announce('198.51.100.1', p, 24, 64500);
    for (let step = 0; step < 10; step++) {
      for (const p of prefixes.slice(step * 10, step * 10 + 10)) {
        rib.withdrawRoute(peer('198.51.100.1'), 4, parseIpAddress(p), 24, 0);
      }
      if (step < 9) detectors.tick(step * 60_000, rib.peerSummaries());
    }
    // 10 routes a minute with a one-minute window: no tick sees its peer RIB halve (the last sees 10 of 20).
    expect(emitted).toEqual([]);
  });
});
