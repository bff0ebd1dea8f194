/**
 * Measures the durable outbox: N notifications enqueued (each written to disk) and delivered to a local
 * webhook receiver, first with the receiver up, then with it down for the enqueue and back afterwards.
 *
 *   cd services/alerting && npx tsx test/measure-outbox.ts [count=5000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetricsRegistry, silentLogger } from '@kansoku/kit';
import type { Notification } from '../src/notification.ts';
import { createWebhookNotifier } from '../src/notifiers/webhook.ts';
import { createOutbox } from '../src/outbox.ts';

const count = Number(process.argv[2] ?? 5000);
let up = true;
let received = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (up) received++;
    res.writeHead(up ? 200 : 503).end();
  });
});
server.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const address = server.address();
const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
const dir = mkdtempSync(join(tmpdir(), 'kansoku-outbox-measure-'));

function note(i: number): Notification {
  return {
    id: `fp${i}-firing-${i}`,
    fingerprint: `fp${i}`,
    status: 'firing',
    alertname: 'Measure',
    severity: 'warning',
    source: 'rule',
    labels: { alertname: 'Measure', severity: 'warning', exporter: `192.0.2.${i % 250}` },
    annotations: { summary: `measure ${i}` },
    value: i,
    startsAt: Date.now(),
    createdAt: Date.now(),
  };
}

try {
  for (const phase of ['receiver up', 'receiver down during enqueue']) {
    received = 0;
    up = phase === 'receiver up';
    const outbox = createOutbox(
      createWebhookNotifier({ url, timeoutMs: 5000, externalUrl: '' }, 0),
      { dir: join(dir, phase.replaceAll(' ', '-')), retryInitialMs: 20, retryMaxMs: 100 },
      { log: silentLogger(), metrics: createMetricsRegistry({ processMetrics: false }) },
    );
    await outbox.start();
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await outbox.enqueue(note(i));
    const enqueueMs = performance.now() - t0;
    up = true;
    await outbox.idle();
    const totalMs = performance.now() - t0;
    await outbox.stop();
    console.log(
      `${phase}: ${count} enqueued in ${enqueueMs.toFixed(0)} ms (${((count / enqueueMs) * 1000).toFixed(0)}/s to disk), ` +
        `all ${received} delivered after ${totalMs.toFixed(0)} ms (${((count / totalMs) * 1000).toFixed(0)}/s end to end)`,
    );
  }
} finally {
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
