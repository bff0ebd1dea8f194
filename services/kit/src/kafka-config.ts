import { Type } from '@sinclair/typebox';
import { defineSection, type SectionValue } from './config.ts';

export const kafkaSection = defineSection(
  'kafka',
  Type.Object({
    brokers: Type.Array(Type.String({ pattern: '^\\S+:\\d{1,5}$' }), {
      default: ['127.0.0.1:9092'],
      minItems: 1,
      description: 'Bootstrap brokers as host:port; env: comma-separated',
    }),
    clientId: Type.String({ default: 'kansoku', minLength: 1 }),
    producerLingerMs: Type.Integer({ default: 5, minimum: 0, maximum: 10_000 }),
    producerMaxBatchMessages: Type.Integer({ default: 1000, minimum: 1, maximum: 100_000 }),
    consumerMaxBytes: Type.Integer({ default: 10 * 1024 * 1024, minimum: 1024 }),
    consumerSessionTimeoutMs: Type.Integer({
      default: 30_000,
      minimum: 6000,
      maximum: 300_000,
      description: 'How long a dead consumer keeps its partitions before the group moves them',
    }),
  }),
);

export type KafkaConfig = SectionValue<typeof kafkaSection>;
