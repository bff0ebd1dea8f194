import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetricsRegistry, silentLogger } from '@kansoku/kit';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryError, type Notification, type Notifier } from '../src/notification.ts';
import { backoffMs, createOutbox } from '../src/outbox.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'kansoku-outbox-'));
  dirs.push(dir);
  return dir;
}

function note(fingerprint: string, status: 'firing' | 'resolved', t: number): Notification {
  return {
    id: `${fingerprint}-${status}-${t}`,
    fingerprint,
    status,
    alertname: 'A',
    severity: 'critical',
    source: 'rule',
    labels: { alertname: 'A', severity: 'critical' },
    annotations: { summary: 's' },
    value: 1,
    startsAt: t,
    ...(status === 'resolved' ? { endsAt: t + 1 } : {}),
    createdAt: t,
  };
}

/** A notifier whose receiver fails `failures` times, then takes everything. */
function flaky(failures: number, options: { coalesce?: boolean; permanent?: boolean } = {}) {
  const received: string[] = [];
  let attempts = 0;
  const notifier: Notifier = {
    name: 'flaky',
    batchSize: 2,
    coalesce: options.coalesce ?? false,
    resends: false,
    async deliver(batch) {
      attempts++;
      if (attempts <= failures)
        throw new DeliveryError('receiver down', { permanent: options.permanent ?? false });
      received.push(...batch.map((n) => n.id));
    },
  };
  return { notifier, received, attempts: () => attempts };
}

const metric = async (registry: ReturnType<typeof createMetricsRegistry>, outcome: string) =>
  (await registry.getSingleMetric('kansoku_alerting_notifications_total')?.get())?.values.find(
    (v) => v.labels.outcome === outcome,
  )?.value ?? 0;

describe('outbox', () => {
  it('retries with backoff until the receiver recovers, in order, losing nothing', async () => {
    const metrics = createMetricsRegistry({ processMetrics: false });
    const receiver = flaky(4);
    const dir = tempDir();
    const outbox = createOutbox(
      receiver.notifier,
      { dir, retryInitialMs: 5, retryMaxMs: 40 },
      { log: silentLogger(), metrics },
    );
    await outbox.start();
    const sent = ['a', 'b', 'c', 'd', 'e'].map((fp, i) => note(fp, 'firing', i));
    for (const n of sent) await outbox.enqueue(n);
    await outbox.idle();
    await outbox.stop();
    expect(receiver.received).toEqual(sent.map((n) => n.id));
    expect(receiver.attempts()).toBe(4 + 3);
    expect(await metric(metrics, 'sent')).toBe(5);
    expect(await metric(metrics, 'failed')).toBeGreaterThanOrEqual(4);
    expect(await metric(metrics, 'retried')).toBeGreaterThanOrEqual(4);
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toEqual([]);
  });

  it('keeps undelivered notifications on disk across a restart', async () => {
    const dir = tempDir();
    const down = flaky(Number.POSITIVE_INFINITY);
    const first = createOutbox(
      down.notifier,
      { dir, retryInitialMs: 5, retryMaxMs: 10 },
      { log: silentLogger(), metrics: createMetricsRegistry({ processMetrics: false }) },
    );
    await first.start();
    await first.enqueue(note('a', 'firing', 1));
    await first.enqueue(note('a', 'resolved', 2));
    await first.enqueue(note('b', 'firing', 3));
    await new Promise((r) => setTimeout(r, 30));
    await first.stop();
    expect(down.received).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toHaveLength(3);

    const up = flaky(0);
    const metrics = createMetricsRegistry({ processMetrics: false });
    const second = createOutbox(
      up.notifier,
      { dir, retryInitialMs: 5, retryMaxMs: 10 },
      { log: silentLogger(), metrics },
    );
    await second.start();
    await second.enqueue(note('c', 'firing', 4));
    await second.idle();
    await second.stop();
    expect(up.received).toEqual(['a-firing-1', 'a-resolved-2', 'b-firing-3', 'c-firing-4']);
  });

  it('moves a notification the receiver refuses for good to dead/ and goes on', async () => {
    const dir = tempDir();
    const receiver = flaky(1, { permanent: true });
    const metrics = createMetricsRegistry({ processMetrics: false });
    const outbox = createOutbox(
      receiver.notifier,
      { dir, retryInitialMs: 5, retryMaxMs: 10 },
      { log: silentLogger(), metrics },
    );
    await outbox.start();
    await outbox.enqueue(note('a', 'firing', 1));
    await outbox.idle();
    await outbox.enqueue(note('b', 'firing', 2));
    await outbox.idle();
    await outbox.stop();
    expect(receiver.received).toEqual(['b-firing-2']);
    expect(readdirSync(join(dir, 'dead'))).toHaveLength(1);
    expect(await metric(metrics, 'dead')).toBe(1);
  });

  it('keeps only the latest state of an alert for state-based receivers', async () => {
    const dir = tempDir();
    const receiver = flaky(Number.POSITIVE_INFINITY, { coalesce: true });
    const outbox = createOutbox(
      receiver.notifier,
      { dir, retryInitialMs: 1000, retryMaxMs: 1000 },
      { log: silentLogger(), metrics: createMetricsRegistry({ processMetrics: false }) },
    );
    await outbox.start();
    await outbox.enqueue(note('a', 'firing', 1));
    await new Promise((r) => setTimeout(r, 20)); // first delivery fails; now in backoff
    await outbox.enqueue(note('a', 'firing', 2));
    await outbox.enqueue(note('a', 'resolved', 3));
    await outbox.enqueue(note('b', 'firing', 4));
    expect(outbox.depth()).toBe(2);
    await outbox.stop();
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toHaveLength(2);
    expect(existsSync(join(dir, 'dead'))).toBe(true);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffMs(30, 1000, 60_000, () => 0.5)).toBe(45_000);
    expect(backoffMs(1000, 1000, 60_000, () => 1)).toBe(60_000);
  });
});
