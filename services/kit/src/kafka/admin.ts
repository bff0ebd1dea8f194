import { Admin, ListOffsetTimestamps } from '@platformatic/kafka';
import { describeError, KafkaError } from './errors.ts';
import type { KafkaAdmin, KafkaConnectionConfig, TopicSpec } from './types.ts';

/** How long `ensureTopics` waits for new topics to have a leader on every partition. */
const TOPIC_READY_TIMEOUT_MS = 15_000;

/** Creates the admin client; nothing connects until the first call. */
export function createKafkaAdmin(conn: KafkaConnectionConfig): KafkaAdmin {
  let admin: Admin | undefined;
  let closed = false;

  const client = (): Admin => {
    if (closed) throw new KafkaError('KANSOKU_KAFKA_STOPPED', 'the Kafka admin client is closed');
    if (!admin) {
      admin = new Admin({
        clientId: `${conn.clientId}-admin`,
        bootstrapBrokers: conn.brokers,
        retries: 3,
        retryDelay: 250,
      });
      // The client reports some failures as events; without a listener Node would throw them.
      admin.on('error', () => {});
    }
    return admin;
  };

  const existingTopics = async (): Promise<Set<string>> => new Set(await client().listTopics());

  const waitForLeaders = async (names: string[]): Promise<void> => {
    const deadline = Date.now() + TOPIC_READY_TIMEOUT_MS;
    for (;;) {
      try {
        const metadata = await client().metadata({ topics: names, forceUpdate: true });
        const ready = names.every((name) => {
          const topic = metadata.topics.get(name);
          return (
            topic !== undefined && topic.partitions.length > 0 && topic.partitions.every((p) => p.leader >= 0)
          );
        });
        if (ready) return;
      } catch {
        // Topic metadata may lag creation for a moment; keep polling until the deadline.
      }
      if (Date.now() > deadline) {
        throw new KafkaError(
          'KANSOKU_KAFKA_TOPIC_NOT_READY',
          `topics ${names.join(', ')} have no leader yet`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  return {
    async ensureTopics(topics: TopicSpec[]): Promise<void> {
      if (topics.length === 0) return;
      const existing = await existingTopics();
      const missing = topics.filter((topic) => !existing.has(topic.name));
      for (const topic of missing) {
        if (!Number.isInteger(topic.partitions) || topic.partitions < 1) {
          throw new KafkaError('KANSOKU_KAFKA_BAD_OPTION', `topic ${topic.name}: partitions must be ≥ 1`);
        }
        try {
          await client().createTopics({
            topics: [topic.name],
            partitions: topic.partitions,
            // -1: the broker's default.replication.factor (1 on a single node, more in a cluster).
            replicas: -1,
            configs: [{ name: 'retention.ms', value: String(topic.retentionMs) }],
          });
        } catch (error) {
          // Another process created it between our listing and our request: that is what we wanted.
          if (!isProtocolError(error, 'TOPIC_ALREADY_EXISTS')) {
            throw new KafkaError(
              'KANSOKU_KAFKA_ADMIN_FAILED',
              `cannot create topic ${topic.name}: ${describeError(error)}`,
              {
                cause: error,
              },
            );
          }
        }
      }
      if (missing.length > 0) await waitForLeaders(missing.map((topic) => topic.name));
    },

    async deleteTopics(names: string[]): Promise<void> {
      if (names.length === 0) return;
      const existing = await existingTopics();
      const present = names.filter((name) => existing.has(name));
      if (present.length === 0) return;
      try {
        await client().deleteTopics({ topics: present });
      } catch (error) {
        if (
          !isProtocolError(error, 'UNKNOWN_TOPIC_OR_PARTITION') &&
          !isProtocolError(error, 'UNKNOWN_TOPIC_ID')
        ) {
          throw error;
        }
      }
    },

    async topicMessageCount(name: string): Promise<bigint> {
      let partitionCount: number;
      try {
        const metadata = await client().metadata({ topics: [name], forceUpdate: true });
        partitionCount = metadata.topics.get(name)?.partitionsCount ?? 0;
      } catch (error) {
        throw new KafkaError('KANSOKU_KAFKA_UNKNOWN_TOPIC', `topic ${name}: ${describeError(error)}`, {
          cause: error,
        });
      }
      if (partitionCount === 0)
        throw new KafkaError('KANSOKU_KAFKA_UNKNOWN_TOPIC', `topic ${name} does not exist`);
      const request = (timestamp: bigint) => ({
        topics: [
          {
            name,
            partitions: Array.from({ length: partitionCount }, (_, partitionIndex) => ({
              partitionIndex,
              timestamp,
            })),
          },
        ],
      });
      const [earliest, latest] = await Promise.all([
        client().listOffsets(request(ListOffsetTimestamps.EARLIEST)),
        client().listOffsets(request(ListOffsetTimestamps.LATEST)),
      ]);
      const low = new Map<number, bigint>();
      for (const topic of earliest) for (const p of topic.partitions) low.set(p.partitionIndex, p.offset);
      let total = 0n;
      for (const topic of latest) {
        for (const p of topic.partitions) total += p.offset - (low.get(p.partitionIndex) ?? 0n);
      }
      return total;
    },

    async describeCluster(): Promise<{ brokers: number; controller: number | null }> {
      try {
        const metadata = await client().metadata({ topics: [], forceUpdate: true });
        if (metadata.brokers.size === 0) throw new Error('metadata lists no broker');
        return {
          brokers: metadata.brokers.size,
          controller: metadata.controllerId >= 0 ? metadata.controllerId : null,
        };
      } catch (error) {
        if (error instanceof KafkaError) throw error;
        throw new KafkaError(
          'KANSOKU_KAFKA_NO_BROKER',
          `no Kafka broker answered at ${conn.brokers.join(', ')}: ${describeError(error)}`,
          { cause: error },
        );
      }
    },

    async close(): Promise<void> {
      closed = true;
      const current = admin;
      admin = undefined;
      if (current) await current.close();
    },
  };
}

/** True when `error` (or one of the errors it aggregates) is the broker error `id`, e.g. TOPIC_ALREADY_EXISTS. */
export function isProtocolError(error: unknown, id: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const finder = (error as { findBy?: (property: string, value: unknown) => unknown }).findBy;
  if (typeof finder === 'function') return Boolean(finder.call(error, 'apiId', id));
  return (error as { apiId?: unknown }).apiId === id;
}
