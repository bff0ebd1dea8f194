/**
 * Nanoseconds since the epoch with nanosecond resolution and never going backwards: the wall clock read once,
 * then the monotonic clock. A route and the DOWN that follows it in the same millisecond still order by time.
 */
export function epochClockNs(): () => bigint {
  const base = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  return () => base + process.hrtime.bigint();
}
