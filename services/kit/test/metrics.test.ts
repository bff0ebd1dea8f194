import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, sharedCounter, sharedHistogram } from '../src/metrics.ts';

describe('metrics shared by the components of one process', () => {
  it('finds the metric another component registered, and both count under their own labels', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const config = { name: 'kansoku_test_total', help: 'test', labelNames: ['sink'] as const };
    const first = sharedCounter(registry, { ...config, labelNames: [...config.labelNames] });
    const second = sharedCounter(registry, { ...config, labelNames: [...config.labelNames] });
    expect(second).toBe(first);
    first.inc({ sink: 'flows' });
    second.inc({ sink: 'dns' }, 2);
    const text = await registry.metrics();
    expect(text).toContain('kansoku_test_total{sink="flows"} 1');
    expect(text).toContain('kansoku_test_total{sink="dns"} 2');
    const h = { name: 'kansoku_test_seconds', help: 'test', labelNames: ['sink'], buckets: [1] };
    expect(sharedHistogram(registry, h)).toBe(sharedHistogram(registry, h));
  });
});
