/**
 * Pacing of a replay: how many packets are due at a moment so that records go out at a steady rate. The
 * target is computed from the time elapsed since the start (not from the last tick), so a late timer is made
 * up at the next tick instead of lowering the rate; a burst cap keeps one late tick from flooding the
 * receiver's socket buffer at once.
 */

export interface PacingConfig {
  /** Records per second to send. */
  recordsPerSecond: number;
  recordsPerPacket: number;
  /** Most packets sent in one tick (catch-up after a late timer is spread over several ticks). */
  maxBurstPackets: number;
}

/** Packets that should have been sent `elapsedMs` after the start. */
export function packetsTargetAt(config: PacingConfig, elapsedMs: number): number {
  if (elapsedMs <= 0) return 0;
  return Math.floor((elapsedMs * config.recordsPerSecond) / 1000 / config.recordsPerPacket);
}

/** Packets to send now, `sentPackets` having gone out so far. */
export function packetsDue(config: PacingConfig, elapsedMs: number, sentPackets: number): number {
  const owed = packetsTargetAt(config, elapsedMs) - sentPackets;
  return Math.max(0, Math.min(owed, config.maxBurstPackets));
}

/** Packets a replay of `seconds` sends in total. */
export function totalPackets(config: PacingConfig, seconds: number): number {
  return packetsTargetAt(config, seconds * 1000);
}
