/** The integration stack's Kafka for the BGP tests: topics of their own, a producer, reading a topic back. */

import { randomUUID } from 'node:crypto';
import { decode, topics } from '@kansoku/contracts';
import type { RouteUpdate } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import {
  createMetricsRegistry,
  type IncomingMessage,
  type KafkaAdmin,
  type KafkaConnectionConfig,
  type KafkaProducer,
  silentLogger,
} from '@kansoku/kit';
import { createKafkaAdmin, createKafkaConsumer, createKafkaProducer } from '@kansoku/kit/kafka/index';
import { inject } from 'vitest';

export function kafkaConnection(): KafkaConnectionConfig {
  let brokers: string[] = [];
  try {
    brokers = inject('kansokuStack')?.kafkaBrokers ?? [];
  } catch {
    // Outside the integration project: the environment.
  }
  if (brokers.length === 0) brokers = (process.env.KANSOKU_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  return { brokers, clientId: `bgp-test-${randomUUID().slice(0, 8)}` };
}

export interface BgpKafka {
  admin: KafkaAdmin;
  producer: KafkaProducer;
  /** A new topic `test-<uuid>`, deleted by close(). */
  newTopic(partitions?: number): Promise<string>;
  /** Waits until `topic` holds at least `atLeast` messages and no more arrive for a moment, then reads them all. */
  read(topic: string, atLeast: number, timeoutMs?: number): Promise<IncomingMessage[]>;
  /**
   * The RouteUpdates of an updates topic (kansoku.bgp.updates.v2 batches, in offset order per partition) once
   * it holds at least `atLeast` routes, each with the partition of its batch.
   */
  readRoutes(
    topic: string,
    atLeast: number,
    timeoutMs?: number,
  ): Promise<{ update: RouteUpdate; partition: number }[]>;
  close(): Promise<void>;
}

async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function bgpKafka(): Promise<BgpKafka> {
  const connection = kafkaConnection();
  const admin = createKafkaAdmin(connection);
  const producer = createKafkaProducer(
    connection,
    { maxBatchMessages: 5000, lingerMs: 5 },
    { log: silentLogger(), metrics: createMetricsRegistry({ processMetrics: false }) },
  );
  await producer.start();
  const created: string[] = [];
  const kafka: BgpKafka = {
    admin,
    producer,
    async newTopic(partitions = 3) {
      const name = `test-${randomUUID()}`;
      await admin.ensureTopics([{ name, partitions, retentionMs: 3_600_000 }]);
      created.push(name);
      return name;
    },
    async read(topic, atLeast, timeoutMs = 60_000) {
      let count = 0n;
      await until(
        `${atLeast} messages on ${topic}`,
        async () => {
          count = await admin.topicMessageCount(topic);
          return count >= BigInt(atLeast);
        },
        timeoutMs,
      );
      // Settled: the count stays the same for a moment.
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const again = await admin.topicMessageCount(topic);
        if (again === count) break;
        count = again;
      }
      const messages: IncomingMessage[] = [];
      const consumer = createKafkaConsumer(
        kafkaConnection(),
        { groupId: `test-${randomUUID()}`, topics: [topic], fromBeginning: true, maxBytes: 10 * 1024 * 1024 },
        { log: silentLogger(), metrics: createMetricsRegistry({ processMetrics: false }) },
      );
      await consumer.start({
        async onBatch(batch) {
          messages.push(...batch.messages);
        },
      });
      try {
        await until(
          `${count} messages read from ${topic}`,
          () => messages.length >= Number(count),
          timeoutMs,
        );
      } finally {
        await consumer.stop();
      }
      return messages;
    },
    async readRoutes(topic, atLeast, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const messages = await kafka.read(topic, atLeast > 0 ? 1 : 0, timeoutMs);
        const routes = messages.flatMap((m) =>
          decode(topics.bgpUpdates, m.value).updates.map((update) => ({ update, partition: m.partition })),
        );
        if (routes.length >= atLeast || Date.now() > deadline) return routes;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    },
    async close() {
      await producer.stop();
      if (created.length > 0) await admin.deleteTopics(created).catch(() => undefined);
      await admin.close();
    },
  };
  return kafka;
}
