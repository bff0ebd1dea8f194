/**
 * The producer: acks=all and idempotent, with batching done here (linger + largest batch).
 *
 * One produce request is in flight at a time. @platformatic/kafka 1.35 assigns an idempotent batch's sequence
 * number when the request is built and advances it only when the response arrives, so two concurrent sends to a
 * partition carry the same sequence and the broker drops the second as a duplicate while acknowledging it
 * (platformatic/kafka#326; measured in docs/benchmarks.md). Serialising requests keeps idempotence sound; the
 * batching here keeps requests large, so one in flight costs little.
 */
import { ProduceAcks, Producer } from '@platformatic/kafka';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { describeError, KafkaError } from './errors.ts';
import { producerMetrics } from './metrics.ts';
import { keyHash } from './partitioner.ts';
import type { KafkaConnectionConfig, KafkaProducer, OutgoingMessage, ProducerOptions } from './types.ts';

export interface KafkaDeps {
  log: Logger;
  metrics: Registry;
}

type WireMessage = {
  topic: string;
  key?: Buffer;
  value: Buffer;
  partition: number;
  headers?: Map<Buffer, Buffer>;
  timestamp?: bigint;
};

/** One `send` call: settles when all its messages are acknowledged, or at the first failure. */
interface Ticket {
  remaining: number;
  settled: boolean;
  resolve(): void;
  reject(error: Error): void;
}

interface Pending {
  message: WireMessage;
  bytes: number;
  /** True when the message has no key: its partition is chosen when its request is built. */
  keyless: boolean;
  enqueuedAt: number;
  ticket: Ticket;
}

/** Wait between broker retries of one request, and how many before the request fails. */
const REQUEST_RETRIES = 3;
const RETRY_DELAY_MS = 250;
const REQUEST_TIMEOUT_MS = 30_000;
/**
 * Most key and value bytes in one produce request. The broker refuses a partition's batch larger than its
 * `message.max.bytes` (1 MiB by default) and fails the whole request with it; at 1,000 messages a request that
 * happens once messages pass 1 kB (a batch of flow records is a few kB), so requests are cut by size as well.
 */
const MAX_REQUEST_BYTES = 900 * 1024;

export function createKafkaProducer(
  conn: KafkaConnectionConfig,
  options: ProducerOptions,
  deps: KafkaDeps,
): KafkaProducer {
  if (!Number.isInteger(options.maxBatchMessages) || options.maxBatchMessages < 1) {
    throw new KafkaError('KANSOKU_KAFKA_BAD_OPTION', 'producer maxBatchMessages must be an integer ≥ 1');
  }
  if (!Number.isFinite(options.lingerMs) || options.lingerMs < 0) {
    throw new KafkaError('KANSOKU_KAFKA_BAD_OPTION', 'producer lingerMs must be ≥ 0');
  }
  const log = deps.log.child({ component: 'kafka-producer', clientId: conn.clientId });
  const metrics = producerMetrics(deps.metrics);
  const maxBatch = options.maxBatchMessages;
  const lingerMs = options.lingerMs;

  let state: 'created' | 'started' | 'stopping' | 'stopped' = 'created';
  let client: Producer | undefined;
  let queue: Pending[] = [];
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  /** Keyless messages of one request all go to one partition, the next one for the next request. */
  let stickyPartition = 0;

  const newClient = (): Producer => {
    const producer = new Producer({
      clientId: conn.clientId,
      bootstrapBrokers: conn.brokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      retries: REQUEST_RETRIES,
      retryDelay: RETRY_DELAY_MS,
      timeout: REQUEST_TIMEOUT_MS,
      autocreateTopics: false,
    });
    producer.on('error', (error: Error) => log.warn({ err: describeError(error) }, 'kafka producer error'));
    return producer;
  };

  const toWire = (topic: string, message: OutgoingMessage): WireMessage => {
    const value = Buffer.isBuffer(message.value)
      ? message.value
      : Buffer.from(message.value.buffer, message.value.byteOffset, message.value.byteLength);
    const wire: WireMessage = { topic, value, partition: 0 };
    if (message.key !== undefined && message.key !== null) {
      const key = typeof message.key === 'string' ? Buffer.from(message.key) : message.key;
      wire.key = key;
      // The client takes this modulo the topic's partition count, as the Java client does with the hash.
      wire.partition = keyHash(key);
    }
    if (message.headers) {
      const headers = new Map<Buffer, Buffer>();
      for (const [name, text] of Object.entries(message.headers))
        headers.set(Buffer.from(name), Buffer.from(text));
      wire.headers = headers;
    }
    if (message.timestamp !== undefined) wire.timestamp = BigInt(message.timestamp);
    return wire;
  };

  const settleOk = (batch: Pending[]) => {
    for (const pending of batch) {
      const ticket = pending.ticket;
      if (ticket.settled) continue;
      ticket.remaining--;
      if (ticket.remaining === 0) {
        ticket.settled = true;
        ticket.resolve();
      }
    }
  };

  const settleFailed = (batch: Pending[], error: Error) => {
    for (const pending of batch) {
      if (pending.ticket.settled) continue;
      pending.ticket.settled = true;
      pending.ticket.reject(error);
    }
  };

  const sendBatch = async (batch: Pending[]): Promise<void> => {
    stickyPartition = (stickyPartition + 1) & 0x7fffffff;
    for (const pending of batch) if (pending.keyless) pending.message.partition = stickyPartition;
    client ??= newClient();
    const current = client;
    metrics.requests.inc({ client_id: conn.clientId });
    try {
      await current.send({ messages: batch.map((pending) => pending.message) });
    } catch (error) {
      const perTopic = new Map<string, number>();
      for (const pending of batch)
        perTopic.set(pending.message.topic, (perTopic.get(pending.message.topic) ?? 0) + 1);
      for (const [topic, count] of perTopic) metrics.errors.inc({ client_id: conn.clientId, topic }, count);
      log.error({ err: describeError(error), messages: batch.length }, 'produce request failed');
      // After a failed request the broker's idea of our sequence numbers is unknown; a new producer id
      // starts clean instead of risking a later batch being taken for a duplicate.
      if (client === current) client = undefined;
      current.close().catch(() => undefined);
      settleFailed(
        batch,
        new KafkaError('KANSOKU_KAFKA_PRODUCE_FAILED', `produce failed: ${describeError(error)}`, {
          cause: error,
        }),
      );
      return;
    }
    const perTopic = new Map<string, { messages: number; bytes: number }>();
    for (const pending of batch) {
      const entry = perTopic.get(pending.message.topic) ?? { messages: 0, bytes: 0 };
      entry.messages++;
      entry.bytes += pending.bytes;
      perTopic.set(pending.message.topic, entry);
    }
    for (const [topic, entry] of perTopic) {
      metrics.messages.inc({ client_id: conn.clientId, topic }, entry.messages);
      metrics.bytes.inc({ client_id: conn.clientId, topic }, entry.bytes);
    }
    settleOk(batch);
  };

  /** Starts the next request when one is due and none is in flight; arms the linger timer otherwise. */
  const drive = (): void => {
    if (inFlight || queue.length === 0) return;
    const oldest = queue[0]!.enqueuedAt;
    const due = state === 'stopping' || queue.length >= maxBatch || performance.now() - oldest >= lingerMs;
    if (!due) {
      if (!timer) {
        const wait = Math.max(0, lingerMs - (performance.now() - oldest));
        timer = setTimeout(() => {
          timer = undefined;
          drive();
        }, wait);
      }
      return;
    }
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    // At most maxBatch messages and MAX_REQUEST_BYTES of keys and values (at least one message).
    let count = 0;
    let bytes = 0;
    while (
      count < queue.length &&
      count < maxBatch &&
      (count === 0 || bytes + queue[count]!.bytes <= MAX_REQUEST_BYTES)
    ) {
      bytes += queue[count]!.bytes;
      count++;
    }
    const batch = count === queue.length ? queue : queue.slice(0, count);
    queue = count === queue.length ? [] : queue.slice(count);
    inFlight = sendBatch(batch).finally(() => {
      inFlight = undefined;
      drive();
    });
  };

  return {
    async start(): Promise<void> {
      if (state !== 'created') throw new KafkaError('KANSOKU_KAFKA_BAD_OPTION', `producer already ${state}`);
      client = newClient();
      try {
        // Registers the idempotent producer id: the first I/O, and a check that a broker answers.
        await client.initIdempotentProducer({});
      } catch (error) {
        await client.close().catch(() => undefined);
        client = undefined;
        throw new KafkaError(
          'KANSOKU_KAFKA_NO_BROKER',
          `producer cannot reach Kafka at ${conn.brokers.join(', ')}: ${describeError(error)}`,
          { cause: error },
        );
      }
      state = 'started';
      log.debug({ brokers: conn.brokers }, 'producer started');
    },

    send(topic: string, messages: OutgoingMessage[]): Promise<void> {
      if (state !== 'started') {
        const code = state === 'created' ? 'KANSOKU_KAFKA_NOT_STARTED' : 'KANSOKU_KAFKA_STOPPED';
        return Promise.reject(new KafkaError(code, `producer is ${state}; cannot send to ${topic}`));
      }
      if (messages.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const ticket: Ticket = { remaining: messages.length, settled: false, resolve, reject };
        const now = performance.now();
        try {
          for (const message of messages) {
            const wire = toWire(topic, message);
            queue.push({
              message: wire,
              bytes: wire.value.length + (wire.key?.length ?? 0),
              keyless: wire.key === undefined,
              enqueuedAt: now,
              ticket,
            });
          }
        } catch (error) {
          ticket.settled = true;
          reject(error);
        }
        drive();
      });
    },

    async stop(): Promise<void> {
      if (state === 'stopped' || state === 'stopping') return;
      const wasStarted = state === 'started';
      state = 'stopping';
      if (wasStarted) {
        // Flush: send what is queued now, without waiting for linger.
        while (queue.length > 0 || inFlight) {
          drive();
          await inFlight;
        }
      }
      if (timer) clearTimeout(timer);
      timer = undefined;
      const current = client;
      client = undefined;
      state = 'stopped';
      if (current) await current.close();
      log.debug('producer stopped');
    },
  };
}
