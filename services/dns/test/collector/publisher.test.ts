/**
 * The publish queue: bounded, dropping and counting beyond its bound, and — for stream feeds — pausing the
 * dnstap sockets while Kafka is behind so that nothing is dropped.
 */

import { dnsClientShard, dnsClientShardKey } from '@kansoku/contracts';
import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import type { OutgoingMessage } from '@kansoku/kit';
import { createMetricsRegistry, silentLogger } from '@kansoku/kit';
import { describe, expect, it } from 'vitest';
import { createDnsCollector } from '../../src/collector/collector.ts';
import { createQueryPublisher } from '../../src/collector/publisher.ts';
import { openFrameStreamSender } from '../../src/decoders/fstrm-sender.ts';
import { newDnsQuery } from '../../src/decoders/query-record.ts';
import { exchangeFrames, memoryProducer, testConfig, until } from './helpers.ts';

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
      // One query per message here: the bound and the send size are about records.
      { topic: 't', maxQueuedRecords: 8, maxSendRecords: 3, maxRecordsPerMessage: 1, messageLingerMs: 0 },
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

describe('query batches', () => {
  it('puts the queries of a client shard in one message, in order, under the shard key', async () => {
    const producer = memoryProducer();
    const publisher = createQueryPublisher(
      {
        topic: 't',
        maxQueuedRecords: 10_000,
        maxSendRecords: 1000,
        maxRecordsPerMessage: 50,
        messageLingerMs: 5,
      },
      { producer, log: silentLogger() },
    );
    const clients = Array.from({ length: 40 }, (_, i) => Uint8Array.from([198, 51, 100, i]));
    const published: DnsQuery[] = [];
    for (let i = 0; i < 400; i++) {
      const record = newDnsQuery();
      record.clientAddress = clients[i % clients.length]!;
      record.messageId = i;
      record.qname = `q${i}.example.jp.`;
      publisher.publish(record);
      published.push(record);
    }
    await publisher.flush();
    expect(publisher.counts()).toEqual({ accepted: 400, published: 400, failed: 0, dropped: 0 });
    // Each message is one shard's queries, at most 50; together they are every query once.
    expect(producer.messages()).toBeLessThan(400);
    expect(producer.records.map((r) => r.messageId).sort((a, b) => a - b)).toEqual(
      published.map((r) => r.messageId),
    );
    for (const [i, record] of producer.records.entries()) {
      expect(producer.keys[i]).toBe(dnsClientShardKey(dnsClientShard(record.clientAddress)));
    }
    // Per client, the order of publishing is kept.
    for (const client of clients) {
      const ids = producer.records.filter((r) => r.clientAddress[3] === client[3]).map((r) => r.messageId);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(ids).toHaveLength(10);
    }
  });

  it('sends a partial batch after the linger time without a flush', async () => {
    const producer = memoryProducer();
    const publisher = createQueryPublisher(
      {
        topic: 't',
        maxQueuedRecords: 100,
        maxSendRecords: 100,
        maxRecordsPerMessage: 50,
        messageLingerMs: 10,
      },
      { producer, log: silentLogger() },
    );
    const record = newDnsQuery();
    record.clientAddress = Uint8Array.from([192, 0, 2, 1]);
    publisher.publish(record);
    publisher.publish(record);
    expect(producer.messages()).toBe(0);
    await until('the lingering batch is sent', () => producer.messages() === 1, 2000);
    expect(producer.records).toHaveLength(2);
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
