/**
 * The Kafka clients under comparison, each behind the same small surface so the benchmark drives them the
 * same way: prepared batches sent with a fixed number of sends in flight, then a consumer group that reads the
 * topic from the beginning until it has every message.
 */
import { Consumer, ProduceAcks, Producer } from '@platformatic/kafka';
import kafkajs from 'kafkajs';

const { Kafka, logLevel, Partitioners } = kafkajs;

export interface BenchMessage {
  key: Buffer;
  value: Buffer;
}

export interface ProduceSettings {
  brokers: string[];
  topic: string;
  batches: BenchMessage[][];
  /** Sends awaited concurrently (each one a batch). */
  inflight: number;
  idempotent: boolean;
  /** Messages in sends that resolved, kept up to date during the run (read after a failure too). */
  progress: { acknowledged: number };
}

export interface ConsumeSettings {
  brokers: string[];
  topic: string;
  groupId: string;
  expected: number;
  maxBytes: number;
  maxBytesPerPartition: number;
  maxWaitMs: number;
  timeoutMs: number;
}

export interface ProduceTiming {
  seconds: number;
}

export interface ConsumeTiming {
  /** From starting the consumer to its first message (group join, offset lookup, first fetch). */
  firstMessageSeconds: number;
  /** From the first message to the last expected one. */
  seconds: number;
  messages: number;
  bytes: number;
}

export interface ClientDriver {
  name: string;
  version: string;
  /** Produces idempotently whatever it is asked (kit): the non-idempotent modes are skipped. */
  alwaysIdempotent?: boolean;
  produce(settings: ProduceSettings): Promise<ProduceTiming>;
  consume(settings: ConsumeSettings): Promise<ConsumeTiming>;
}

/**
 * Runs `work(i)` for i in [0, count) with at most `concurrency` in progress. After a failure no new work
 * starts; the call settles once the work in progress has, and rethrows the first failure.
 */
export async function runPool(count: number, concurrency: number, work: (index: number) => Promise<void>) {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < count && !failure) {
      const index = next++;
      try {
        await work(index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  if (failure) throw failure.error;
}

/** Counts messages until `expected`, timing from start and from the first message. */
class ConsumeClock {
  readonly #startedAt = performance.now();
  #firstAt = 0;
  #lastAt = 0;
  messages = 0;
  bytes = 0;
  readonly #expected: number;
  readonly done: Promise<void>;
  #resolve!: () => void;

  constructor(expected: number) {
    this.#expected = expected;
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  add(count: number, bytes: number): void {
    if (this.messages === 0 && count > 0) this.#firstAt = performance.now();
    this.messages += count;
    this.bytes += bytes;
    if (this.messages >= this.#expected && this.#lastAt === 0) {
      this.#lastAt = performance.now();
      this.#resolve();
    }
  }

  timing(): ConsumeTiming {
    return {
      firstMessageSeconds: (this.#firstAt - this.#startedAt) / 1000,
      seconds: (this.#lastAt - this.#firstAt) / 1000,
      messages: this.messages,
      bytes: this.bytes,
    };
  }
}

async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  progress: () => string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms (${progress()})`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const kafkajsDriver: ClientDriver = {
  name: 'kafkajs',
  version: '2.2.4',

  async produce({ brokers, topic, batches, inflight, idempotent, progress }) {
    const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers, logLevel: logLevel.ERROR });
    const producer = kafka.producer({
      idempotent,
      // kafkajs requires one request in flight per broker for idempotence and serialises sends itself.
      maxInFlightRequests: idempotent ? 1 : inflight,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    try {
      const started = performance.now();
      await runPool(batches.length, inflight, async (index) => {
        await producer.send({ topic, acks: -1, messages: batches[index]! });
        progress.acknowledged += batches[index]!.length;
      });
      return { seconds: (performance.now() - started) / 1000 };
    } finally {
      await producer.disconnect();
    }
  },

  async consume({ brokers, topic, groupId, expected, maxBytes, maxBytesPerPartition, maxWaitMs, timeoutMs }) {
    const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers, logLevel: logLevel.ERROR });
    const consumer = kafka.consumer({ groupId, maxBytes, maxBytesPerPartition, maxWaitTimeInMs: maxWaitMs });
    await consumer.connect();
    const clock = new ConsumeClock(expected);
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          let bytes = 0;
          for (const message of batch.messages) bytes += message.value?.length ?? 0;
          clock.add(batch.messages.length, bytes);
        },
      });
      await withTimeout(clock.done, timeoutMs, 'kafkajs consume', () => `${clock.messages}/${expected}`);
      return clock.timing();
    } finally {
      await consumer.disconnect();
    }
  },
};

export const platformaticDriver: ClientDriver = {
  name: '@platformatic/kafka',
  version: '1.35.0',

  async produce({ brokers, topic, batches, inflight, idempotent, progress }) {
    const producer = new Producer({
      clientId: 'bench-platformatic',
      bootstrapBrokers: brokers,
      acks: ProduceAcks.ALL,
      idempotent,
      autocreateTopics: false,
    });
    producer.on('error', () => {});
    const prepared = batches.map((batch) => batch.map(({ key, value }) => ({ topic, key, value })));
    try {
      if (idempotent) await producer.initIdempotentProducer({});
      const started = performance.now();
      await runPool(prepared.length, inflight, async (index) => {
        await producer.send({ messages: prepared[index]!, acks: ProduceAcks.ALL });
        progress.acknowledged += prepared[index]!.length;
      });
      return { seconds: (performance.now() - started) / 1000 };
    } finally {
      await producer.close();
    }
  },

  async consume({ brokers, topic, groupId, expected, maxBytes, maxBytesPerPartition, maxWaitMs, timeoutMs }) {
    const consumer = new Consumer({
      clientId: 'bench-platformatic',
      groupId,
      bootstrapBrokers: brokers,
      autocommit: false,
      maxBytes,
      maxBytesPerPartition,
      maxWaitTime: maxWaitMs,
    });
    consumer.on('error', () => {});
    const clock = new ConsumeClock(expected);
    try {
      const stream = await consumer.consume({
        topics: [topic],
        autocommit: false,
        mode: 'committed',
        fallbackMode: 'earliest',
      });
      stream.on('data', (message) => {
        clock.add(1, message.value?.length ?? 0);
      });
      stream.on('error', () => {});
      await withTimeout(clock.done, timeoutMs, 'platformatic consume', () => `${clock.messages}/${expected}`);
      await stream.close();
      return clock.timing();
    } finally {
      await consumer.close(true);
    }
  },
};
