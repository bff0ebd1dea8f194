import { fileURLToPath } from 'node:url';
import { type Component, createNatsDetectionEmitter, type DomainModule, defineSection } from '@kansoku/kit';
import {
  chainOriginAsLookups,
  createNatsOriginAsClient,
  originAsClientSection,
  originAsSlot,
} from '@kansoku/kit/enrichment';
import { Type } from '@sinclair/typebox';
import { createFlowsCollector, type FlowsCollector } from './collector/collector.ts';
import { flowsCollectorSchema } from './collector/config.ts';
import { createPrefixAsTable } from './collector/prefix-table.ts';
import { createFlowsDetector } from './detection/detector-service.ts';
import { exporterSilenceSchema } from './detection/exporter-silence.ts';
import { ddosDetectorSchema } from './detection/volumetric-ddos.ts';
import { createFlowsProcessor, FLOW_RECORDS_TOPIC, FLOWS_PROCESSOR_GROUP } from './processor.ts';
import { flowsQueries } from './queries.ts';
import { createFlowsSimulator, type SimulatorConfig, simulatorSchema } from './simulator/simulator.ts';
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
      default: 4_000,
      minimum: 1,
      description:
        'Kafka messages per warehouse insert (each the records of one export packet: about 100,000 records at 24 a ' +
        'packet); every insert has a fixed cost in the engine, so fewer, larger ones take more records a second',
    }),
    maxBatchDelayMs: Type.Integer({
      default: 1000,
      minimum: 10,
      description: 'Longest a record waits to be written',
    }),
  }),
);

export const flowsCollectorSection = defineSection('flowsCollector', flowsCollectorSchema);

export const FLOWS_DETECTOR_GROUP = 'kansoku-flows-detector';

export const flowsDetectorSection = defineSection(
  'flowsDetector',
  Type.Object({
    topic: Type.String({
      default: FLOW_RECORDS_TOPIC,
      minLength: 1,
      description: 'Topic of flow records to watch',
    }),
    groupId: Type.String({
      default: FLOWS_DETECTOR_GROUP,
      minLength: 1,
      description: 'Kafka consumer group',
    }),
    tickMs: Type.Integer({
      default: 1000,
      minimum: 50,
      description: 'How often idle detectors move time on',
    }),
    ddos: Type.Object(ddosDetectorSchema.properties, { default: {} }),
    exporterSilence: Type.Object(exporterSilenceSchema.properties, { default: {} }),
  }),
);

/** The collector built last in this process, for `endpoints()` (printed by `kansoku up` once started). */
let builtCollector: FlowsCollector | undefined;

export const flowsModule: DomainModule = {
  name: 'flows',
  simulator: {
    description: 'NetFlow v9, IPFIX and sFlow packets shaped like the report, sent to the flows collector',
    options: simulatorSchema,
    create: (options, deps) => createFlowsSimulator(options as unknown as SimulatorConfig, deps),
  },
  sections: [flowsProcessorSection, flowsCollectorSection, flowsDetectorSection, originAsClientSection],
  migrations: flowsMigrations,
  queries: flowsQueries,
  alertRules: [fileURLToPath(new URL('../rules/flows.rules.yaml', import.meta.url))],
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
        const producer = runtime.kafkaProducer(log);
        // Origin AS: the live RIB of a bgp-processor in this process (read at each call, so build order does
        // not matter), else one in another process over NATS, then the configured prefix table.
        const slot = originAsSlot(runtime);
        const clientConfig = runtime.config.get(originAsClientSection);
        const natsClient = clientConfig.nats
          ? createNatsOriginAsClient(clientConfig, { nats: runtime.nats(), log, metrics: runtime.metrics })
          : undefined;
        const originAs = chainOriginAsLookups([
          () => slot.current(),
          () => (slot.current() === undefined ? natsClient : undefined),
          () => (prefixTable.size > 0 ? prefixTable : undefined),
        ]);
        const collector = createFlowsCollector(collectorConfig, {
          producer,
          log,
          metrics: runtime.metrics,
          originAs,
        });
        builtCollector = collector;
        // The producer starts first and stops last: the collector flushes into it on stop.
        const components: Component[] = [
          { name: 'flows-collector-producer', start: () => producer.start(), stop: () => producer.stop() },
        ];
        if (natsClient !== undefined) components.push(natsClient);
        components.push(collector);
        return components;
      },
      endpoints() {
        return (builtCollector?.endpoints() ?? []).map(
          (e) => `flows    ${e.kind.padEnd(9)} ${e.transport}://${e.address}:${e.port}`,
        );
      },
    },
    {
      name: 'flows-processor',
      description: 'Consumes flow records and writes raw flows and the 1-minute and 1-hour rollups',
      build(runtime) {
        const log = runtime.log.child({ component: 'flows-processor' });
        const processorConfig = runtime.config.get(flowsProcessorSection);
        const consumer = runtime.kafkaConsumer(
          { groupId: processorConfig.groupId, topics: [processorConfig.topic], fromBeginning: true },
          log,
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
    {
      name: 'flows-detector',
      description: 'Watches flow records for volumetric DDoS and silent exporters; detections go to NATS',
      build(runtime) {
        const log = runtime.log.child({ component: 'flows-detector' });
        const detectorConfig = runtime.config.get(flowsDetectorSection);
        // A detector judges the present: a new group starts at the end of the topic.
        const consumer = runtime.kafkaConsumer(
          { groupId: detectorConfig.groupId, topics: [detectorConfig.topic], fromBeginning: false },
          log,
        );
        const emitter = createNatsDetectionEmitter(runtime.nats(), { log, metrics: runtime.metrics });
        return [createFlowsDetector(detectorConfig, { consumer, emitter, log, metrics: runtime.metrics })];
      },
    },
  ],
};
