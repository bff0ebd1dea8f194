/**
 * Shared parts of the collector's integration tests: the real Kafka broker of the integration stack, one
 * topic per test, a collector on free ports publishing to it, UDP/TCP senders, and reading the topic back.
 */

import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { fromBinary } from '@bufbuild/protobuf';
import type { FlowRecord } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { FlowRecordBatchSchema } from '@kansoku/contracts/gen/kansoku/flows/v2/flows_pb';
import {
  createMetricsRegistry,
  type IncomingMessage,
  type KafkaAdmin,
  type KafkaConnectionConfig,
  type KafkaProducer,
  type Registry,
  silentLogger,
} from '@kansoku/kit';
import { createKafkaAdmin, createKafkaConsumer, createKafkaProducer } from '@kansoku/kit/kafka/index';
import { inject } from 'vitest';
import {
  createFlowsCollector,
  type FlowsCollector,
  type ListenerKind,
} from '../../src/collector/collector.ts';
import type { FlowsCollectorConfig } from '../../src/collector/config.ts';
import { testCollectorConfig } from './collector-config.ts';

export function kafkaConnection(): KafkaConnectionConfig {
  let brokers: string[] = [];
  try {
    brokers = inject('kansokuStack')?.kafkaBrokers ?? [];
  } catch {
    // Outside the integration project: the environment.
  }
  if (brokers.length === 0) brokers = (process.env.KANSOKU_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  return { brokers, clientId: `flows-collector-test-${randomUUID().slice(0, 8)}` };
}

export interface KafkaHarness {
  admin: KafkaAdmin;
  producer: KafkaProducer;
  /** A new topic `test-<uuid>`, deleted by close(). */
  newTopic(partitions?: number): Promise<string>;
  close(): Promise<void>;
}

export async function kafkaHarness(): Promise<KafkaHarness> {
  const connection = kafkaConnection();
  const admin = createKafkaAdmin(connection);
  const producer = createKafkaProducer(
    connection,
    { maxBatchMessages: 5000, lingerMs: 5 },
    { log: silentLogger(), metrics: createMetricsRegistry({ processMetrics: false }) },
  );
  await producer.start();
  const created: string[] = [];
  return {
    admin,
    producer,
    async newTopic(partitions = 3) {
      const name = `test-${randomUUID()}`;
      await admin.ensureTopics([{ name, partitions, retentionMs: 3_600_000 }]);
      created.push(name);
      return name;
    },
    async close() {
      await producer.stop();
      if (created.length > 0) await admin.deleteTopics(created).catch(() => undefined);
      await admin.close();
    },
  };
}

export interface RunningCollector {
  collector: FlowsCollector;
  registry: Registry;
  port(kind: ListenerKind): number;
}

/** A started collector on free ports of 127.0.0.1, publishing to `topic` through the harness's producer. */
export async function startCollector(
  kafka: KafkaHarness,
  topic: string,
  overrides: Partial<FlowsCollectorConfig> = {},
): Promise<RunningCollector> {
  const registry = createMetricsRegistry({ processMetrics: false });
  const collector = createFlowsCollector(testCollectorConfig({ topic, ...overrides }), {
    producer: kafka.producer,
    log: silentLogger(),
    metrics: registry,
  });
  await collector.start();
  return {
    collector,
    registry,
    port(kind) {
      const endpoint = collector.endpoints().find((e) => e.kind === kind);
      if (endpoint === undefined) throw new Error(`no ${kind} listener`);
      return endpoint.port;
    },
  };
}

/**
 * Sends datagrams to 127.0.0.1:port from one socket (one exporter), in order, pausing now and then so the
 * collector's socket buffer never overflows on this small machine.
 */
export async function sendUdp(port: number, datagrams: readonly Buffer[]): Promise<void> {
  const socket = createSocket('udp4');
  try {
    let sent = 0;
    for (const datagram of datagrams) {
      await new Promise<void>((resolve, reject) =>
        socket.send(datagram, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
      );
      if (++sent % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    socket.close();
  }
}

/** Writes `chunks` on one TCP connection to 127.0.0.1:port, then ends it and waits for the close. */
export async function sendTcp(port: number, chunks: readonly Buffer[]): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  for (const chunk of chunks) {
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
    // Separate segments, so that the collector's framing is exercised and not only one big read.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.end();
  });
}

/** Waits until every predicate holds, polling; throws with `what` after `timeoutMs`. */
export async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Every record of `topic` (FlowRecordBatch messages, read with the generic protobuf decoder as an oracle for
 * ours): reads with a consumer group of its own until at least `atLeast` records arrived and no more came for
 * a moment. `records` are in message order; `messageOfRecord[i]` is the index of record i's message.
 */
export async function readTopic(
  topic: string,
  atLeast: number,
  timeoutMs = 60_000,
): Promise<{ records: FlowRecord[]; messages: IncomingMessage[]; messageOfRecord: number[] }> {
  const messages: IncomingMessage[] = [];
  const records: FlowRecord[] = [];
  const messageOfRecord: number[] = [];
  const consumer = createKafkaConsumer(
    kafkaConnection(),
    { groupId: `test-${randomUUID()}`, topics: [topic], fromBeginning: true, maxBytes: 10 * 1024 * 1024 },
    { log: silentLogger(), metrics: createMetricsRegistry({ processMetrics: false }) },
  );
  await consumer.start({
    async onBatch(batch) {
      for (const message of batch.messages) {
        for (const record of fromBinary(FlowRecordBatchSchema, message.value).records) {
          records.push(record);
          messageOfRecord.push(messages.length);
        }
        messages.push(message);
      }
    },
  });
  try {
    await until(`${atLeast} records read from ${topic}`, () => records.length >= atLeast, timeoutMs);
    // Anything beyond the expected count (a duplicate, a stray record) is still on its way: wait for it.
    let seen = -1;
    while (seen !== records.length) {
      seen = records.length;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  } finally {
    await consumer.stop();
  }
  return { records, messages, messageOfRecord };
}

/** Which listener an export payload belongs on: by its version field. */
export function listenerFor(payload: Buffer): ListenerKind | undefined {
  if (payload.length < 4) return undefined;
  const version = payload.readUInt16BE(0);
  if (version === 5 || version === 9) return 'netflow';
  if (version === 10) return 'ipfix';
  if (payload.readUInt32BE(0) === 5) return 'sflow';
  return undefined;
}

export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}
