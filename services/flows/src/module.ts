import { type DomainModule, defineSection, kafkaSection } from '@kansoku/kit';
import { createKafkaConsumer } from '@kansoku/kit/kafka/index';
import { Type } from '@sinclair/typebox';
import { createFlowsProcessor, FLOW_RECORDS_TOPIC, FLOWS_PROCESSOR_GROUP } from './processor.ts';
import { flowsQueries } from './queries.ts';
import { flowsMigrations } from './tables.ts';

export const flowsProcessorSection = defineSection(
  'flowsProcessor',
  Type.Object({
    topic: Type.String({
      default: FLOW_RECORDS_TOPIC,
      minLength: 1,
      description: 'Topic of flow records to consume',
    }),
    groupId: Type.String({
      default: FLOWS_PROCESSOR_GROUP,
      minLength: 1,
      description: 'Kafka consumer group',
    }),
    maxBatchMessages: Type.Integer({
      default: 20_000,
      minimum: 1,
      description: 'Records per warehouse insert',
    }),
    maxBatchDelayMs: Type.Integer({
      default: 1000,
      minimum: 10,
      description: 'Longest a record waits to be written',
    }),
  }),
);

export const flowsModule: DomainModule = {
  name: 'flows',
  sections: [flowsProcessorSection],
  migrations: flowsMigrations,
  queries: flowsQueries,
  services: [
    {
      name: 'flows-processor',
      description: 'Consumes flow records and writes the per-minute traffic rollups',
      build(runtime) {
        const log = runtime.log.child({ component: 'flows-processor' });
        const processorConfig = runtime.config.get(flowsProcessorSection);
        const consumer = createKafkaConsumer(
          runtime.kafka(),
          {
            groupId: processorConfig.groupId,
            topics: [processorConfig.topic],
            fromBeginning: true,
            maxBytes: runtime.config.get(kafkaSection).consumerMaxBytes,
          },
          { log, metrics: runtime.metrics },
        );
        return [
          createFlowsProcessor(processorConfig, {
            consumer,
            warehouse: runtime.warehouse(),
            log,
            metrics: runtime.metrics,
          }),
        ];
      },
    },
  ],
};
