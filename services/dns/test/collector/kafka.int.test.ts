/**
 * End to end through the real broker: our Frame Streams sender (as a resolver) → the collector → Kafka →
 * the DnsQuery records read back from the topic, equal field for field to the exchanges sent.
 */

import { randomUUID } from 'node:crypto';
import { decode, dnsClientShard, dnsClientShardKey, keyOf, topics } from '@kansoku/contracts';
import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import {
  createMetricsRegistry,
  type IncomingMessage,
  type KafkaConnectionConfig,
  silentLogger,
} from '@kansoku/kit';
import { createKafkaAdmin, createKafkaConsumer, createKafkaProducer } from '@kansoku/kit/kafka/index';
import { describe, expect, inject, it } from 'vitest';
import { createDnsCollector } from '../../src/collector/collector.ts';
import { openFrameStreamSender } from '../../src/decoders/fstrm-sender.ts';
import { type Exchange, exchangeFrames, expectedRecord, testConfig, until } from './helpers.ts';

function kafkaConnection(): KafkaConnectionConfig {
  let brokers: string[] = [];
  try {
    brokers = inject('kansokuStack')?.kafkaBrokers ?? [];
  } catch {
    // Outside the integration project: the environment.
  }
  if (brokers.length === 0) brokers = (process.env.KANSOKU_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  return { brokers, clientId: `dns-collector-test-${randomUUID().slice(0, 8)}` };
}

describe('dnstap → collector → Kafka', () => {
  it('publishes every exchange as one DnsQuery in DnsQueryBatch messages keyed by client shard, equal to what was sent', async () => {
    const connection = kafkaConnection();
    const admin = createKafkaAdmin(connection);
    const topic = `test-${randomUUID()}`;
    await admin.ensureTopics([{ name: topic, partitions: 3, retentionMs: 3_600_000 }]);
    const registry = createMetricsRegistry({ processMetrics: false });
    const producer = createKafkaProducer(
      connection,
      { maxBatchMessages: 5000, lingerMs: 5 },
      { log: silentLogger(), metrics: registry },
    );
    await producer.start();
    const collector = createDnsCollector(testConfig({ topic }), {
      producer,
      log: silentLogger(),
      metrics: registry,
    });
    await collector.start();
    const exchanges: Exchange[] = Array.from({ length: 2000 }, (_, i) => ({
      client:
        i % 4 === 3
          ? Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (i >> 8) & 0xff, i & 0xff])
          : Uint8Array.from([198, 51, (i >> 8) & 0xff, i & 0xff]),
      clientPort: 1024 + i,
      query: {
        id: i,
        name: `n${i}.zone${i % 7}.example.`,
        type: [1, 28, 65, 15, 16][i % 5]!,
        recursionDesired: i % 9 !== 0,
        edns: i % 3 === 0 ? undefined : { dnssecOk: i % 2 === 0, udpSize: 1232 },
      },
      response: { rcode: [0, 0, 0, 3, 2, 5][i % 6]!, answers: i % 4, truncated: i % 50 === 0 },
      timeSec: 1_764_000_000 + Math.floor(i / 100),
      timeNsec: (i % 100) * 10_000_000,
      latencyUs: 100 + (i % 997),
      protocol: i % 10 === 0 ? 2 : 1,
    }));
    const messages: IncomingMessage[] = [];
    const consumer = createKafkaConsumer(
      connection,
      { groupId: `test-${randomUUID()}`, topics: [topic], fromBeginning: true, maxBytes: 10 * 1024 * 1024 },
      { log: silentLogger(), metrics: registry },
    );
    try {
      const senders = await Promise.all(
        [0, 1].map(() => openFrameStreamSender({ host: '127.0.0.1', port: collector.tcpPort() })),
      );
      await Promise.all(
        senders.map(async (sender, s) => {
          for (let i = s; i < exchanges.length; i += 2) {
            const [q, r] = exchangeFrames(exchanges[i]!);
            await sender.send(q);
            await sender.send(r);
          }
          await sender.close();
        }),
      );
      await until(
        'the collector to publish 2000',
        () => collector.publisher.counts().published >= 2000,
        60_000,
      );
      await consumer.start({
        async onBatch(batch) {
          messages.push(...batch.messages);
        },
      });
      // Messages are batches of one client shard: count the queries they carry.
      const queriesIn = () =>
        messages.reduce((n, m) => n + decode(topics.dnsQueries, m.value).queries.length, 0);
      await until('2000 queries read back', () => queriesIn() >= 2000, 60_000);
    } finally {
      await consumer.stop();
      await collector.stop();
      await producer.stop();
      await admin.deleteTopics([topic]).catch(() => undefined);
      await admin.close();
    }
    // Fewer messages than queries: the point of batching.
    expect(messages.length).toBeLessThan(2000);
    const byId = new Map<number, { record: DnsQuery; key: string }>();
    for (const m of messages) {
      const batch = decode(topics.dnsQueries, m.value);
      expect(batch.queries.length).toBeGreaterThan(0);
      for (const record of batch.queries)
        byId.set(record.messageId, { record, key: m.key?.toString() ?? '' });
      expect(keyOf(topics.dnsQueries, batch)).toBe(m.key?.toString());
    }
    expect(byId.size).toBe(2000);
    for (const [i, e] of exchanges.entries()) {
      const { record, key } = byId.get(i)!;
      expect(record).toMatchObject(expectedRecord(e));
      expect(formatIpAddress(record.clientAddress)).toBe(formatIpAddress(e.client));
      // Every query of a client goes under its client shard's key (one partition, in order).
      expect(key).toBe(dnsClientShardKey(dnsClientShard(e.client)));
      expect(record.timeReceivedNs).toBeGreaterThan(0n);
    }
    expect(collector.publisher.counts()).toMatchObject({ published: 2000, dropped: 0, failed: 0 });
  });
});
