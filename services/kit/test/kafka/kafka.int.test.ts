/**
 * kit's Kafka components against the real broker the integration setup starts (no mocks): every test has its
 * own topics and groups (`test-${randomUUID()}`), so tests never see each other's messages.
 */
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createKafkaAdmin,
  createKafkaConsumer,
  createKafkaProducer,
  type IncomingBatch,
  type IncomingMessage,
  type KafkaAdmin,
  type KafkaConnectionConfig,
  type KafkaConsumer,
  partitionForKey,
} from '../../src/kafka/index.ts';
import { silentLogger } from '../../src/log.ts';

function brokers(): string[] {
  let provided: string[] = [];
  try {
    provided = inject('kansokuStack')?.kafkaBrokers ?? [];
  } catch {
    // Run outside the integration project: fall back to the environment.
  }
  if (provided.length > 0) return provided;
  return (process.env.KANSOKU_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
}

const conn = (): KafkaConnectionConfig => ({
  brokers: brokers(),
  clientId: `kit-test-${randomUUID().slice(0, 8)}`,
});
const deps = (metrics = new Registry()) => ({ log: silentLogger(), metrics });
const newTopic = () => `test-${randomUUID()}`;
const DAY_MS = 86_400_000;

async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((value) =>
    Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted),
  );
  return match?.value ?? 0;
}

/** Waits until `predicate` holds, polling; fails with `what` after `timeoutMs`. */
async function until(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A consumer that records every batch; `stop()` must be called by the test. */
function recordingConsumer(topic: string, groupId: string, options: { maxBytes?: number } = {}) {
  const batches: IncomingBatch[] = [];
  const messages: IncomingMessage[] = [];
  const revoked: { topic: string; partition: number }[] = [];
  const consumer = createKafkaConsumer(
    conn(),
    { groupId, topics: [topic], fromBeginning: true, maxBytes: options.maxBytes ?? 1024 * 1024 },
    deps(),
  );
  const start = () =>
    consumer.start({
      async onBatch(batch) {
        batches.push(batch);
        messages.push(...batch.messages);
      },
      onRevoked(partitions) {
        revoked.push(...partitions);
      },
    });
  return { consumer, batches, messages, revoked, start };
}

describe('kit kafka (real broker)', () => {
  let admin: KafkaAdmin;
  const created: string[] = [];

  const topicWith = async (partitions: number): Promise<string> => {
    const name = newTopic();
    await admin.ensureTopics([{ name, partitions, retentionMs: DAY_MS }]);
    created.push(name);
    return name;
  };

  beforeAll(async () => {
    admin = createKafkaAdmin(conn());
    const cluster = await admin.describeCluster();
    expect(cluster.brokers).toBeGreaterThanOrEqual(1);
  });

  afterAll(async () => {
    await admin.deleteTopics(created);
    await admin.close();
  });

  it('produces keyed messages and consumes every one, in order per partition and per key', async () => {
    const topic = await topicWith(3);
    const metrics = new Registry();
    const producer = createKafkaProducer(conn(), { maxBatchMessages: 500, lingerMs: 5 }, deps(metrics));
    await producer.start();
    const total = 3_000;
    // Recent on purpose: a record older than the topic's retention (a day) may be deleted, active segment and
    // all, by the broker's next retention check — which made this count flaky with a fixed 2025 date.
    const timestamp = Date.now() - 60_000;
    const message = (i: number) => ({
      key: `device-${i % 37}`,
      value: Buffer.from(JSON.stringify({ i })),
      headers: { seq: String(i), source: 'kit-test' },
      timestamp: timestamp + i,
    });
    // Three sends in flight at once, as a collector would issue them.
    const sends = [0, 1, 2].map((part) =>
      producer.send(
        topic,
        Array.from({ length: total / 3 }, (_, j) => message(part * (total / 3) + j)),
      ),
    );
    await Promise.all(sends);
    await producer.stop();
    expect(await admin.topicMessageCount(topic)).toBe(BigInt(total));
    expect(await metricValue(metrics, 'kansoku_kafka_produced_messages_total', { topic })).toBe(total);

    const reader = recordingConsumer(topic, `test-${randomUUID()}`);
    await reader.start();
    await until('every message', () => reader.messages.length >= total);
    await reader.consumer.stop();

    expect(reader.messages).toHaveLength(total);
    const seen = new Set(reader.messages.map((m) => JSON.parse(m.value.toString()).i as number));
    expect(seen.size).toBe(total);

    const offsetsByPartition = new Map<number, bigint[]>();
    const lastIndexByKey = new Map<string, number>();
    for (const m of reader.messages) {
      const key = m.key?.toString() ?? '';
      const i = JSON.parse(m.value.toString()).i as number;
      // The Java client's partitioner would have put the key on the same partition.
      expect(m.partition).toBe(partitionForKey(Buffer.from(key), 3));
      expect(i).toBeGreaterThan(lastIndexByKey.get(key) ?? -1);
      lastIndexByKey.set(key, i);
      expect(m.headers).toEqual({ seq: String(i), source: 'kit-test' });
      expect(m.timestamp).toBe(timestamp + i);
      expect(m.topic).toBe(topic);
      offsetsByPartition.set(m.partition, [...(offsetsByPartition.get(m.partition) ?? []), m.offset]);
    }
    // Each partition's offsets arrive as 0, 1, 2, … with no gap, repeat or reordering.
    expect(offsetsByPartition.size).toBe(3);
    for (const offsets of offsetsByPartition.values()) {
      expect(offsets).toEqual(offsets.map((_, index) => BigInt(index)));
    }
    // A batch holds one partition's messages, in offset order.
    for (const batch of reader.batches) {
      expect(batch.messages.every((m) => m.partition === batch.partition && m.topic === batch.topic)).toBe(
        true,
      );
    }
  });

  it('cuts requests by size: 1,000 messages of 3 kB in one send all arrive (one request would pass the 1 MiB limit)', async () => {
    const topic = await topicWith(1);
    const producer = createKafkaProducer(conn(), { maxBatchMessages: 1000, lingerMs: 0 }, deps());
    await producer.start();
    const value = (i: number) => Buffer.concat([Buffer.from(`m${i}:`), Buffer.alloc(3000, i % 256)]);
    await producer.send(
      topic,
      Array.from({ length: 1000 }, (_, i) => ({ key: null, value: value(i) })),
    );
    await producer.stop();
    const reader = recordingConsumer(topic, `test-${randomUUID()}`);
    await reader.start();
    await until('1000 messages', () => reader.messages.length >= 1000);
    await reader.consumer.stop();
    expect(reader.messages.map((m) => m.value.subarray(0, 8).toString().split(':')[0])).toEqual(
      Array.from({ length: 1000 }, (_, i) => `m${i}`),
    );
    expect(reader.messages.every((m, i) => m.value.equals(value(i)))).toBe(true);
  });

  it('commits only when told to: a consumer that stops without committing is read again from the last commit', async () => {
    const topic = await topicWith(1);
    const producer = createKafkaProducer(conn(), { maxBatchMessages: 1000, lingerMs: 0 }, deps());
    await producer.start();
    await producer.send(
      topic,
      Array.from({ length: 100 }, (_, i) => ({ key: null, value: Buffer.from(`m${i}`) })),
    );
    await producer.stop();

    const groupId = `test-${randomUUID()}`;
    const first = recordingConsumer(topic, groupId);
    await first.start();
    await until('100 messages', () => first.messages.length >= 100);
    await first.consumer.commit(topic, 0, 40n);
    // Long enough for any periodic auto-commit to have happened, had there been one.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await first.consumer.stop();

    const second = recordingConsumer(topic, groupId);
    await second.start();
    await until('the rest after the commit', () => second.messages.length >= 60);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await second.consumer.stop();
    expect(second.messages[0]?.offset).toBe(40n);
    expect(second.messages.map((m) => m.value.toString())).toEqual(
      Array.from({ length: 60 }, (_, i) => `m${i + 40}`),
    );

    // A group that never commits starts over from the beginning every time.
    const neverCommits = `test-${randomUUID()}`;
    const third = recordingConsumer(topic, neverCommits);
    await third.start();
    await until('100 messages', () => third.messages.length >= 100);
    await third.consumer.stop();
    const fourth = recordingConsumer(topic, neverCommits);
    await fourth.start();
    await until('100 messages again', () => fourth.messages.length >= 100);
    await fourth.consumer.stop();
    expect(fourth.messages[0]?.offset).toBe(0n);
  });

  it('waits for the batch handler before fetching more of that partition, and seeks', async () => {
    const topic = await topicWith(1);
    const producer = createKafkaProducer(conn(), { maxBatchMessages: 200, lingerMs: 0 }, deps());
    await producer.start();
    for (let chunk = 0; chunk < 10; chunk++) {
      await producer.send(
        topic,
        Array.from({ length: 200 }, (_, i) => ({ key: null, value: Buffer.alloc(100, chunk * 200 + i) })),
      );
    }
    await producer.stop();

    let active = 0;
    let mostActive = 0;
    let calls = 0;
    const delivered: bigint[] = [];
    let consumer: KafkaConsumer | undefined;
    let seeked = false;
    consumer = createKafkaConsumer(
      conn(),
      // Small fetches: the 2,000 messages come in many batches.
      { groupId: `test-${randomUUID()}`, topics: [topic], fromBeginning: true, maxBytes: 4096 },
      deps(),
    );
    await consumer.start({
      async onBatch(batch) {
        active++;
        mostActive = Math.max(mostActive, active);
        calls++;
        await new Promise((resolve) => setTimeout(resolve, calls === 1 ? 400 : 5));
        for (const m of batch.messages) delivered.push(m.offset);
        if (!seeked && delivered.length >= 2_000) {
          seeked = true;
          consumer?.seek(topic, 0, 1_990n);
        }
        active--;
      },
    });
    await until('the log and the tail again after the seek', () => delivered.length >= 2_010);
    await consumer.stop();
    consumer = undefined;
    expect(calls).toBeGreaterThan(5);
    expect(mostActive).toBe(1);
    expect(delivered.slice(0, 2_000)).toEqual(Array.from({ length: 2_000 }, (_, i) => BigInt(i)));
    expect(delivered.slice(2_000, 2_010)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(1_990 + i)));
  });

  it('tells the first member which partitions a rebalance took away, and the new member gets them', async () => {
    const topic = await topicWith(2);
    const groupId = `test-${randomUUID()}`;
    const a = recordingConsumer(topic, groupId);
    const b = recordingConsumer(topic, groupId);
    await a.start();
    await b.start();
    try {
      await until('a revocation on the first member', () => a.revoked.length > 0, 60_000);
      expect(a.revoked).toHaveLength(1);
      expect(a.revoked[0]?.topic).toBe(topic);

      // The two members now own one partition each: each reads only its own.
      const producer = createKafkaProducer(conn(), { maxBatchMessages: 100, lingerMs: 0 }, deps());
      await producer.start();
      await producer.send(
        topic,
        Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(String(i)) })),
      );
      await producer.stop();
      await until('both members read', () => a.messages.length + b.messages.length >= 40);
      const partitionsOf = (messages: IncomingMessage[]) => new Set(messages.map((m) => m.partition));
      expect([...partitionsOf(a.messages)]).not.toContain(a.revoked[0]?.partition);
      for (const p of partitionsOf(b.messages)) expect(partitionsOf(a.messages).has(p)).toBe(false);
    } finally {
      await b.consumer.stop();
      await a.consumer.stop();
    }
  });

  it('ensureTopics is idempotent and leaves existing topics as they are', async () => {
    const name = newTopic();
    created.push(name);
    const spec = { name, partitions: 2, retentionMs: DAY_MS };
    await admin.ensureTopics([spec]);
    await admin.ensureTopics([spec]);
    await Promise.all([admin.ensureTopics([spec]), admin.ensureTopics([{ ...spec, partitions: 5 }])]);
    expect(await admin.topicMessageCount(name)).toBe(0n);

    // Still two partitions: a hundred keys spread over partitions 0 and 1 only (five would use 0–4).
    const producer = createKafkaProducer(conn(), { maxBatchMessages: 1000, lingerMs: 0 }, deps());
    await producer.start();
    await producer.send(
      name,
      Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: Buffer.from('x') })),
    );
    await producer.stop();
    const reader = recordingConsumer(name, `test-${randomUUID()}`);
    await reader.start();
    await until('the messages', () => reader.messages.length >= 100);
    await reader.consumer.stop();
    expect(new Set(reader.messages.map((m) => m.partition))).toEqual(new Set([0, 1]));

    await admin.deleteTopics([name]);
    await admin.deleteTopics([name]);
  });

  it('topicMessageCount sums every partition', async () => {
    const topic = await topicWith(3);
    const producer = createKafkaProducer(conn(), { maxBatchMessages: 1000, lingerMs: 0 }, deps());
    await producer.start();
    await producer.send(
      topic,
      Array.from({ length: 250 }, (_, i) => ({ key: `k${i}`, value: Buffer.from('v') })),
    );
    await producer.send(topic, [{ key: null, value: Buffer.from('keyless') }]);
    await producer.stop();
    expect(await admin.topicMessageCount(topic)).toBe(251n);
    await expect(admin.topicMessageCount(newTopic())).rejects.toMatchObject({
      code: 'KANSOKU_KAFKA_UNKNOWN_TOPIC',
    });
  });

  it('stop() flushes what is still lingering; send resolves only once acknowledged', async () => {
    const topic = await topicWith(1);
    const producer = createKafkaProducer(conn(), { maxBatchMessages: 10_000, lingerMs: 60_000 }, deps());
    await producer.start();
    let acknowledged = false;
    const pending = producer.send(topic, [{ key: 'a', value: Buffer.from('lingering') }]).then(() => {
      acknowledged = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Lingering: neither sent nor acknowledged yet.
    expect(acknowledged).toBe(false);
    expect(await admin.topicMessageCount(topic)).toBe(0n);
    await producer.stop();
    await pending;
    expect(acknowledged).toBe(true);
    expect(await admin.topicMessageCount(topic)).toBe(1n);
    await expect(producer.send(topic, [{ value: Buffer.from('late') }])).rejects.toMatchObject({
      code: 'KANSOKU_KAFKA_STOPPED',
    });
  });

  it('constructors are inert: nothing connects before start()', async () => {
    const nowhere: KafkaConnectionConfig = { brokers: ['127.0.0.1:1'], clientId: 'inert' };
    const producer = createKafkaProducer(nowhere, { maxBatchMessages: 10, lingerMs: 5 }, deps());
    const consumer = createKafkaConsumer(
      nowhere,
      { groupId: 'inert', topics: ['inert'], fromBeginning: true, maxBytes: 1 << 20 },
      deps(),
    );
    createKafkaAdmin(nowhere);
    await expect(producer.send('inert', [{ value: Buffer.from('x') }])).rejects.toMatchObject({
      code: 'KANSOKU_KAFKA_NOT_STARTED',
    });
    expect(() => consumer.seek('inert', 0, 0n)).toThrow(/before start/);
    await producer.stop();
    await consumer.stop();
  });
});
