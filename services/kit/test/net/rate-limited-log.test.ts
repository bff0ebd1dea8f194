import { describe, expect, it } from 'vitest';
import { createRateLimitedLog } from '../../src/net/index.ts';

function recorder() {
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  return {
    lines,
    logger: { warn: (obj: object, msg: string) => lines.push({ obj: obj as Record<string, unknown>, msg }) },
  };
}

describe('rate-limited log', () => {
  it('logs a key once per interval and reports how many it left out', () => {
    const { lines, logger } = recorder();
    let now = 0;
    const log = createRateLimitedLog(logger, { intervalMs: 1000, now: () => now });
    expect(log.warn('bad-version', { exporter: '10.0.0.1' }, 'unknown NetFlow version')).toBe(true);
    for (let i = 0; i < 5; i++) {
      now += 100;
      expect(log.warn('bad-version', { exporter: '10.0.0.1' }, 'unknown NetFlow version')).toBe(false);
    }
    // another key is not held back by the first
    expect(log.warn('short', {}, 'short datagram')).toBe(true);
    now = 1000;
    expect(log.warn('bad-version', { exporter: '10.0.0.2' }, 'unknown NetFlow version')).toBe(true);
    expect(lines).toEqual([
      { obj: { exporter: '10.0.0.1', key: 'bad-version' }, msg: 'unknown NetFlow version' },
      { obj: { key: 'short' }, msg: 'short datagram' },
      { obj: { exporter: '10.0.0.2', key: 'bad-version', suppressed: 5 }, msg: 'unknown NetFlow version' },
    ]);
    now = 1500;
    log.warn('bad-version', {}, 'unknown NetFlow version');
    log.warn('bad-version', {}, 'unknown NetFlow version');
    log.flush();
    expect(lines.at(-1)).toEqual({
      obj: { key: 'bad-version', suppressed: 2 },
      msg: 'unknown NetFlow version (suppressed repeats)',
    });
    expect(lines).toHaveLength(4);
  });

  it('keeps a bounded number of keys', () => {
    const { lines, logger } = recorder();
    const log = createRateLimitedLog(logger, { intervalMs: 60_000, maxKeys: 2, now: () => 0 });
    log.warn('a', {}, 'a');
    log.warn('b', {}, 'b');
    log.warn('c', {}, 'c'); // forgets a
    expect(log.warn('a', {}, 'a')).toBe(true);
    expect(log.warn('c', {}, 'c')).toBe(false);
    expect(lines.map((line) => line.msg)).toEqual(['a', 'b', 'c', 'a']);
  });
});
