/**
 * The publish queue: bounded, dropping and counting beyond its bound, and — for stream feeds — pausing the
 * dnstap sockets while Kafka is behind so that nothing is dropped.
 */

import type { OutgoingMessage } from '@kansoku/kit';
import { createMetricsRegistry, silentLogger } from '@kansoku/kit';
import { describe, expect, it } from 'vitest';
import { createDnsCollector } from '../../src/collector/collector.ts';
import { createQueryPublisher } from '../../src/collector/publisher.ts';
import { openFrameStreamSender } from '../../src/decoders/fstrm-sender.ts';
import { newDnsQuery } from '../../src/decoders/query-record.ts';
import { exchangeFrames, testConfig, until } from './helpers.ts';

/** A producer whose sends wait until `release()`; counts what it was given. */
function gatedProducer() {
  const waiting: Array<() => void> = [];
  let sent = 0;
  let open = false;
  return {
    async send(_topic: string, messages: OutgoingMessage[]) {
      if (!open) await new Promise<void>((resolve) => waiting.push(resolve));
      sent += messages.length;
    },
    release() {
      open = true;
      for (const w of waiting.splice(0)) w();
    },
    sent: () => sent,
    waiting: () => waiting.length,
  };
}

describe('query publisher', () => {
  it('drops and counts records beyond its bound, and says when it has room again', async () => {
    const producer = gatedProducer();
    const dropped: number[] = [];
    const publisher = createQueryPublisher(
      { topic: 't', maxQueuedRecords: 8, maxSendRecords: 3 },
      {
        producer,
        log: silentLogger(),
        metrics: { published() {}, failed() {}, dropped: (n) => dropped.push(n), queued() {} },
      },
    );
    const record = newDnsQuery();
    record.clientAddress = Uint8Array.from([192, 0, 2, 1]);
    let kept = 0;
    for (let i = 0; i < 10; i++) if (publisher.publish(record)) kept++;
    expect(kept).toBe(8);
    expect(dropped).toEqual([1, 1]);
    expect(publisher.hasRoom()).toBe(false);
    let roomAgain = false;
    publisher.whenRoom(() => {
      roomAgain = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(producer.waiting()).toBe(3); // 8 records in sends of at most 3
    producer.release();
    await publisher.flush();
    expect(roomAgain).toBe(true);
    expect(publisher.counts()).toEqual({ accepted: 8, published: 8, failed: 0, dropped: 2 });
    expect(producer.sent()).toBe(8);
  });
});

describe('collector backpressure', () => {
  it('pauses the dnstap sockets while Kafka is behind, and loses nothing', { timeout: 60_000 }, async () => {
    const producer = gatedProducer();
    const collector = createDnsCollector(testConfig({ maxQueuedRecords: 2000, maxSendRecords: 500 }), {
      producer,
      log: silentLogger(),
      metrics: createMetricsRegistry({ processMetrics: false }),
    });
    await collector.start();
    try {
      const sender = await openFrameStreamSender({ host: '127.0.0.1', port: collector.tcpPort() });
      const exchanges = 6000;
      const sending = (async () => {
        for (let i = 0; i < exchanges; i++) {
          const [q, r] = exchangeFrames({
            client: Uint8Array.from([10, 1, i >> 8, i & 0xff]),
            clientPort: 2000 + i,
            query: { id: i, name: `p${i}.example.`, type: 1 },
            timeSec: 1_795_000_000,
            timeNsec: i,
            latencyUs: 10,
          });
          await sender.send(q);
          await sender.send(r);
        }
        await sender.close(30_000);
      })();
      // Kafka stalls: the collector takes up to its bound and stops reading.
      // (The pause comes after a socket read, so the quarter of the queue left above the pause mark must
      // hold one read's records: ~200 exchanges per 64 KiB here.)
      await until('the queue to fill', () => collector.publisher.queued() >= 1500);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(collector.publisher.queued()).toBeLessThanOrEqual(2000);
      expect(collector.publisher.counts().published).toBe(0);
      producer.release();
      await sending;
      await until('every record', () => collector.publisher.counts().published === exchanges, 30_000);
      expect(collector.publisher.counts().dropped).toBe(0);
    } finally {
      await collector.stop();
    }
  });
});
