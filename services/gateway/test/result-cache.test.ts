import { createMetricsRegistry } from '@kansoku/kit';
import { describe, expect, it } from 'vitest';
import { createResultCache } from '../src/result-cache.ts';

function setup(options: { maxEntries?: number; maxBytes?: number; enabled?: boolean } = {}) {
  let clock = 1_000_000;
  const metrics = createMetricsRegistry({ processMetrics: false });
  const cache = createResultCache(
    {
      enabled: options.enabled ?? true,
      maxEntries: options.maxEntries ?? 100,
      maxBytes: options.maxBytes ?? 1 << 20,
    },
    metrics,
    () => clock,
  );
  let runs = 0;
  const produce = (body: string) => async () => {
    runs++;
    return body;
  };
  return {
    cache,
    metrics,
    produce,
    runs: () => runs,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('result cache', () => {
  it('answers a repeated key from memory until its lifetime ends', async () => {
    const t = setup();
    expect((await t.cache.fetch('a', { ttlMs: 1000 }, t.produce('A1'))).outcome).toBe('miss');
    const hit = await t.cache.fetch('a', { ttlMs: 1000 }, t.produce('A2'));
    expect(hit).toEqual({ body: 'A1', outcome: 'hit', expiresAt: 1_001_000 });
    t.advance(1000);
    const again = await t.cache.fetch('a', { ttlMs: 1000 }, t.produce('A3'));
    expect(again).toMatchObject({ body: 'A3', outcome: 'miss' });
    expect(t.runs()).toBe(2);
    const text = await t.metrics.metrics();
    expect(text).toMatch(/kansoku_gateway_cache_requests_total\{outcome="hit"\} 1/);
    expect(text).toMatch(/kansoku_gateway_cache_requests_total\{outcome="miss"\} 2/);
    expect(text).toMatch(/kansoku_gateway_cache_evictions_total\{reason="expired"\} 1/);
  });

  it('drops the least recently used entry when the entry bound is reached', async () => {
    const t = setup({ maxEntries: 2 });
    await t.cache.fetch('a', { ttlMs: 60_000 }, t.produce('A'));
    await t.cache.fetch('b', { ttlMs: 60_000 }, t.produce('B'));
    await t.cache.fetch('a', { ttlMs: 60_000 }, t.produce('x')); // a is now the most recent
    await t.cache.fetch('c', { ttlMs: 60_000 }, t.produce('C')); // pushes out b
    expect(t.cache.entries).toBe(2);
    expect((await t.cache.fetch('a', { ttlMs: 60_000 }, t.produce('x'))).outcome).toBe('hit');
    expect((await t.cache.fetch('b', { ttlMs: 60_000 }, t.produce('B2'))).outcome).toBe('miss');
    expect(await t.metrics.metrics()).toMatch(
      /kansoku_gateway_cache_evictions_total\{reason="capacity"\} [1-9]/,
    );
  });

  it('keeps its bytes under the byte bound and refuses a result above a quarter of it', async () => {
    const t = setup({ maxBytes: 4096 });
    for (let i = 0; i < 20; i++) await t.cache.fetch(`k${i}`, { ttlMs: 60_000 }, t.produce('x'.repeat(500)));
    expect(t.cache.bytes).toBeLessThanOrEqual(4096);
    expect(t.cache.entries).toBeGreaterThan(3);
    expect(t.cache.entries).toBeLessThan(20);
    const huge = await t.cache.fetch('huge', { ttlMs: 60_000 }, t.produce('y'.repeat(2000)));
    expect(huge).toMatchObject({ outcome: 'miss', expiresAt: 0 });
    expect((await t.cache.fetch('huge', { ttlMs: 60_000 }, t.produce('y'))).outcome).toBe('miss');
  });

  it('lets identical concurrent requests share one run (single flight), even with the cache off', async () => {
    for (const enabled of [true, false]) {
      const t = setup({ enabled });
      let release: (body: string) => void = () => {};
      let runs = 0;
      const slow = () => {
        runs++;
        return new Promise<string>((resolve) => {
          release = resolve;
        });
      };
      const answers = Promise.all([1, 2, 3, 4].map(() => t.cache.fetch('same', { ttlMs: 5000 }, slow)));
      await new Promise((r) => setImmediate(r));
      release('ONE');
      const outcomes = (await answers).map((a) => a.outcome);
      expect(runs).toBe(1);
      expect(outcomes).toEqual([enabled ? 'miss' : 'off', 'shared', 'shared', 'shared']);
      expect((await answers).every((a) => a.body === 'ONE')).toBe(true);
    }
  });

  it('serves a result past its lifetime while one background run refreshes it, then the new one', async () => {
    const t = setup();
    await t.cache.fetch('s', { ttlMs: 1000, staleMs: 1000 }, t.produce('old'));
    t.advance(1500);
    let release: (body: string) => void = () => {};
    let refreshes = 0;
    const slow = () => {
      refreshes++;
      return new Promise<string>((resolve) => {
        release = resolve;
      });
    };
    const first = await t.cache.fetch('s', { ttlMs: 1000, staleMs: 1000 }, slow);
    const second = await t.cache.fetch('s', { ttlMs: 1000, staleMs: 1000 }, slow);
    expect([first.outcome, second.outcome]).toEqual(['stale', 'stale']);
    expect([first.body, second.body]).toEqual(['old', 'old']);
    expect(refreshes).toBe(1);
    release('new');
    await new Promise((r) => setImmediate(r));
    expect(await t.cache.fetch('s', { ttlMs: 1000, staleMs: 1000 }, slow)).toMatchObject({
      body: 'new',
      outcome: 'hit',
    });
    // Past the stale window the result is gone: the request waits for a fresh one.
    t.advance(2500);
    const late = await t.cache.fetch('s', { ttlMs: 1000, staleMs: 1000 }, t.produce('newest'));
    expect(late).toMatchObject({ body: 'newest', outcome: 'miss' });
    expect(await t.metrics.metrics()).toMatch(/kansoku_gateway_cache_requests_total\{outcome="stale"\} 2/);
  });

  it('answers a new window with the previous window while computing it once', async () => {
    const t = setup();
    await t.cache.fetch('w1', { ttlMs: 10_000 }, t.produce('window 1'));
    let release: (body: string) => void = () => {};
    let runs = 0;
    const slow = () => {
      runs++;
      return new Promise<string>((resolve) => {
        release = resolve;
      });
    };
    const options = { ttlMs: 10_000, previousKey: 'w1' };
    const first = await t.cache.fetch('w2', options, slow);
    const second = await t.cache.fetch('w2', options, slow);
    expect([first, second].map((a) => [a.outcome, a.body])).toEqual([
      ['stale', 'window 1'],
      ['stale', 'window 1'],
    ]);
    expect(runs).toBe(1);
    release('window 2');
    await new Promise((r) => setImmediate(r));
    expect(await t.cache.fetch('w2', options, slow)).toMatchObject({ outcome: 'hit', body: 'window 2' });
    // Without a previous answer the request waits.
    expect((await t.cache.fetch('w9', { ttlMs: 10_000, previousKey: 'w8' }, t.produce('9'))).outcome).toBe(
      'miss',
    );
  });

  it('keeps serving the stale result when its refresh fails, and counts the failure', async () => {
    const t = setup();
    await t.cache.fetch('f', { ttlMs: 1000, staleMs: 5000 }, t.produce('old'));
    t.advance(1500);
    const failing = async () => {
      throw new Error('warehouse down');
    };
    expect((await t.cache.fetch('f', { ttlMs: 1000, staleMs: 5000 }, failing)).body).toBe('old');
    await new Promise((r) => setImmediate(r));
    expect((await t.cache.fetch('f', { ttlMs: 1000, staleMs: 5000 }, t.produce('x'))).outcome).toBe('stale');
    expect(await t.metrics.metrics()).toMatch(/kansoku_gateway_cache_refresh_failures_total 1/);
  });

  it('passes a failure to every waiter and keeps nothing', async () => {
    const t = setup();
    const failing = async () => {
      throw new Error('boom');
    };
    await expect(t.cache.fetch('f', { ttlMs: 5000 }, failing)).rejects.toThrow('boom');
    expect(t.cache.entries).toBe(0);
    expect((await t.cache.fetch('f', { ttlMs: 5000 }, t.produce('ok'))).outcome).toBe('miss');
  });

  it('skips the lookup on refresh, and keeps nothing with a zero lifetime or bypass', async () => {
    const t = setup();
    await t.cache.fetch('r', { ttlMs: 5000 }, t.produce('old'));
    const fresh = await t.cache.fetch('r', { ttlMs: 5000, refresh: true }, t.produce('new'));
    expect(fresh).toMatchObject({ body: 'new', outcome: 'refresh' });
    expect((await t.cache.fetch('r', { ttlMs: 5000 }, t.produce('x'))).body).toBe('new');
    await t.cache.fetch('z', { ttlMs: 0 }, t.produce('zero'));
    await t.cache.fetch('b', { ttlMs: 5000, bypass: true }, t.produce('bypass'));
    expect((await t.cache.fetch('z', { ttlMs: 5000 }, t.produce('z2'))).outcome).toBe('miss');
    expect((await t.cache.fetch('b', { ttlMs: 5000, bypass: true }, t.produce('b2'))).outcome).toBe('off');
  });
});
