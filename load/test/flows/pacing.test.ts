import { describe, expect, it } from 'vitest';
import { packetsDue, packetsTargetAt, totalPackets } from '../../src/flows/pacing.ts';

const pacing = { recordsPerSecond: 24_000, recordsPerPacket: 24, maxBurstPackets: 64 };

describe('replay pacing', () => {
  it('owes packets in proportion to the time elapsed since the start', () => {
    expect(packetsTargetAt(pacing, 0)).toBe(0);
    expect(packetsTargetAt(pacing, -5)).toBe(0);
    // 1,000 packets/s: one per millisecond, whole packets only.
    expect(packetsTargetAt(pacing, 1)).toBe(1);
    expect(packetsTargetAt(pacing, 1.9)).toBe(1);
    expect(packetsTargetAt(pacing, 250)).toBe(250);
    expect(totalPackets(pacing, 10)).toBe(10_000);
  });

  it('sends what is owed, not a fixed amount per tick, so late timers are made up', () => {
    expect(packetsDue(pacing, 10, 0)).toBe(10);
    expect(packetsDue(pacing, 10, 10)).toBe(0);
    // A timer 30 ms late: the next tick sends the 30 it owes.
    expect(packetsDue(pacing, 40, 10)).toBe(30);
    // Ahead of schedule: nothing, never negative.
    expect(packetsDue(pacing, 10, 20)).toBe(0);
  });

  it('caps one tick at the burst, spreading a long stall over later ticks', () => {
    expect(packetsDue(pacing, 500, 0)).toBe(64);
    expect(packetsDue(pacing, 501, 64)).toBe(64);
  });

  it('reaches the exact total over a simulated run with irregular ticks', () => {
    const config = { recordsPerSecond: 100_000, recordsPerPacket: 24, maxBurstPackets: 16 };
    const seconds = 2;
    const total = totalPackets(config, seconds);
    let sent = 0;
    let now = 0;
    const perMs: number[] = [];
    while (sent < total) {
      now += 1 + (Math.floor(now) % 7 === 0 ? 3 : 0.1);
      const due = Math.min(packetsDue(config, now, sent), total - sent);
      expect(due).toBeLessThanOrEqual(16);
      sent += due;
      perMs.push(due);
    }
    expect(sent).toBe(total);
    // 100,000 records/s at 24 per packet: 8,333 packets in 2 s, finished within a few ms of 2 s.
    expect(total).toBe(8333);
    expect(now).toBeGreaterThanOrEqual(1999);
    expect(now).toBeLessThan(2010);
  });
});
