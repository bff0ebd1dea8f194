import { type DomainModule, defineSection, kafkaSection } from '@kansoku/kit';
import { createKafkaConsumer, createKafkaProducer } from '@kansoku/kit/kafka/index';
import { Type } from '@sinclair/typebox';
import { createFlowsCollector, type FlowsCollector } from './collector/collector.ts';
import { flowsCollectorSchema } from './collector/config.ts';
import { createPrefixAsTable } from './collector/prefix-table.ts';
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

export const flowsCollectorSection = defineSection('flowsCollector', flowsCollectorSchema);

/** The collector built last in this process, for `endpoints()` (printed by `kansoku up` once started). */
let builtCollector: FlowsCollector | undefined;

export const flowsModule: DomainModule = {
  name: 'flows',
  sections: [flowsProcessorSection, flowsCollectorSection],
  migrations: flowsMigrations,
  queries: flowsQueries,
  services: [
    {
      name: 'flows-collector',
      description:
        'Receives NetFlow v5/v9, IPFIX (UDP and TCP) and sFlow and publishes flow records to Kafka',
      build(runtime) {
        const log = runtime.log.child({ component: 'flows-collector' });
        const collectorConfig = runtime.config.get(flowsCollectorSection);
        // Validated here, at build time, so `--check` names a bad entry.
        const prefixTable = createPrefixAsTable(collectorConfig.prefixes, 'flowsCollector.prefixes');
        const kafka = runtime.config.get(kafkaSection);
        const producer = createKafkaProducer(
          runtime.kafka(),
          { maxBatchMessages: kafka.producerMaxBatchMessages, lingerMs: kafka.producerLingerMs },
          { log, metrics: runtime.metrics },
        );
        const collector = createFlowsCollector(collectorConfig, {
          producer,
          log,
          metrics: runtime.metrics,
          ...(prefixTable.size > 0 ? { originAs: prefixTable } : {}),
        });
        builtCollector = collector;
        // The producer starts first and stops last: the collector flushes into it on stop.
        return [
          { name: 'flows-collector-producer', start: () => producer.start(), stop: () => producer.stop() },
          collector,
        ];
      },
      endpoints() {
        return (builtCollector?.endpoints() ?? []).map(
          (e) => `flows    ${e.kind.padEnd(9)} ${e.transport}://${e.address}:${e.port}`,
        );
      },
    },
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
