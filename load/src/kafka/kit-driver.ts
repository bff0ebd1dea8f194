/**
 * kit's own producer and consumer (services/kit/src/kafka) driven like the raw clients, to show what the
 * wrapper costs or gains over the library it is built on.
 */
import { createKafkaConsumer, createKafkaProducer } from '@kansoku/kit/kafka/index';
import { silentLogger } from '@kansoku/kit/log';
import { createMetricsRegistry } from '@kansoku/kit/metrics';
import { type ClientDriver, runPool } from './drivers.ts';

export const kitDriver: ClientDriver = {
  name: 'kit (on @platformatic/kafka)',
  version: 'workspace',
  alwaysIdempotent: true,

  async produce({ brokers, topic, batches, inflight, idempotent, progress }) {
    if (!idempotent) throw new Error('kit always produces idempotently');
    const producer = createKafkaProducer(
      { brokers, clientId: 'bench-kit' },
      { maxBatchMessages: batches[0]?.length ?? 1000, lingerMs: 5 },
      { log: silentLogger(), metrics: createMetricsRegistry({ processMetrics: false }) },
    );
    await producer.start();
    try {
      const started = performance.now();
      await runPool(batches.length, inflight, async (index) => {
        await producer.send(topic, batches[index]!);
        progress.acknowledged += batches[index]!.length;
      });
      return { seconds: (performance.now() - started) / 1000 };
    } finally {
      await producer.stop();
    }
  },

  async consume({ brokers, topic, groupId, expected, maxBytes, timeoutMs }) {
    const consumer = createKafkaConsumer(
      { brokers, clientId: 'bench-kit' },
      { groupId, topics: [topic], fromBeginning: true, maxBytes },
      { log: silentLogger(), metrics: createMetricsRegistry({ processMetrics: false }) },
    );
    const startedAt = performance.now();
    let firstAt = 0;
    let lastAt = 0;
    let messages = 0;
    let bytes = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    await consumer.start({
      async onBatch(batch) {
        if (messages === 0) firstAt = performance.now();
        messages += batch.messages.length;
        for (const message of batch.messages) bytes += message.value.length;
        if (messages >= expected && lastAt === 0) {
          lastAt = performance.now();
          resolveDone();
        }
      },
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        done,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`kit consume timed out after ${timeoutMs} ms (${messages}/${expected})`)),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      await consumer.stop();
    }
    return {
      firstMessageSeconds: (firstAt - startedAt) / 1000,
      seconds: (lastAt - firstAt) / 1000,
      messages,
      bytes,
    };
  },
};
