/** Prometheus-style durations: `30s`, `5m`, `1h30m`, `2d`, `1w`, `250ms`; `0` alone means none. */
const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const PART = /(\d+)(ms|s|m|h|d|w)/y;

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (text.length === 0) return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const match = PART.exec(text);
    if (!match || match.index !== at) return undefined;
    total += Number(match[1]) * (UNITS[match[2] as string] ?? 0);
  }
  return total;
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['w', UNITS.w],
    ['d', UNITS.d],
    ['h', UNITS.h],
    ['m', UNITS.m],
    ['s', UNITS.s],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / (size as number));
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * (size as number);
    }
  }
  return out;
}
