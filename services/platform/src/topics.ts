import { allTopics } from '@kansoku/contracts';
import type { TopicSpec } from '@kansoku/kit';

/** Every topic of the contracts registry, as the Kafka admin creates it. */
export function kafkaTopicSpecs(): TopicSpec[] {
  return allTopics.map((t) => ({
    name: t.name,
    partitions: t.defaultPartitions,
    retentionMs: t.retentionMs,
  }));
}
