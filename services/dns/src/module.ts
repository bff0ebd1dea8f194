import { createNatsDetectionEmitter, type DomainModule, defineSection } from '@kansoku/kit';
import { createDnsCollector, type DnsCollector } from './collector/collector.ts';
import { dnsCollectorSchema } from './collector/config.ts';
import { createDnsDetector, dnsDetectorSchema } from './detection/detector-service.ts';
import { createDnsProcessor, dnsProcessorSchema } from './processor/processor.ts';
import { dnsQueries } from './queries.ts';
import { dnsReplayer } from './replay/replayer.ts';
import { createDnsSimulator, type DnsSimulatorConfig, dnsSimulatorSchema } from './simulator/simulator.ts';
import { dnsMigrations } from './tables.ts';

export const dnsCollectorSection = defineSection('dnsCollector', dnsCollectorSchema);
export const dnsProcessorSection = defineSection('dnsProcessor', dnsProcessorSchema);
export const dnsDetectorSection = defineSection('dnsDetector', dnsDetectorSchema);

/** The collector built last in this process, for `endpoints()` (printed by `kansoku up` once started). */
let builtCollector: DnsCollector | undefined;

export const dnsModule: DomainModule = {
  name: 'dns',
  simulator: {
    description:
      'Resolver clients shaped like the report (per-source rate by time of day, query types per transport), sent as dnstap over Frame Streams to the DNS collector',
    options: dnsSimulatorSchema,
    create: (options, deps) => createDnsSimulator(options as unknown as DnsSimulatorConfig, deps),
  },
  sections: [dnsCollectorSection, dnsProcessorSection, dnsDetectorSection],
  migrations: dnsMigrations,
  queries: dnsQueries,
  replayers: [dnsReplayer],
  services: [
    {
      name: 'dns-collector',
      description:
        'Receives dnstap over Frame Streams (TCP, unix socket) and resolver query logs; publishes DNS queries to Kafka',
      build(runtime) {
        const log = runtime.log.child({ component: 'dns-collector' });
        const producer = runtime.kafkaProducer(log);
        const collector = createDnsCollector(runtime.config.get(dnsCollectorSection), {
          producer,
          log,
          metrics: runtime.metrics,
        });
        builtCollector = collector;
        // The producer starts first and stops last: the collector flushes into it on stop.
        return [
          { name: 'dns-collector-producer', start: () => producer.start(), stop: () => producer.stop() },
          collector,
        ];
      },
      endpoints() {
        return (builtCollector?.endpoints() ?? []).map(
          (e) => `dns      ${e.kind.padEnd(9)} ${e.transport}://${e.where}`,
        );
      },
    },
    {
      name: 'dns-processor',
      description: 'Consumes DNS queries and writes raw queries and the query, client and zone rollups',
      build(runtime) {
        const log = runtime.log.child({ component: 'dns-processor' });
        const config = runtime.config.get(dnsProcessorSection);
        const consumer = runtime.kafkaConsumer(
          { groupId: config.groupId, topics: [config.topic], fromBeginning: true },
          log,
        );
        return [
          createDnsProcessor(config, {
            consumer,
            warehouse: runtime.warehouse(),
            log,
            metrics: runtime.metrics,
          }),
        ];
      },
    },
    {
      name: 'dns-detector',
      description:
        'Watches DNS queries for client rate spikes, random-subdomain NXDOMAIN floods and SERVFAIL surges; detections go to NATS',
      build(runtime) {
        const log = runtime.log.child({ component: 'dns-detector' });
        const config = runtime.config.get(dnsDetectorSection);
        // A detector judges the present: a new group starts at the end of the topic.
        const consumer = runtime.kafkaConsumer(
          { groupId: config.groupId, topics: [config.topic], fromBeginning: false },
          log,
        );
        const emitter = createNatsDetectionEmitter(runtime.nats(), { log, metrics: runtime.metrics });
        return [createDnsDetector(config, { consumer, emitter, log, metrics: runtime.metrics })];
      },
    },
  ],
};
