import { type DomainModule, defineSection } from '@kansoku/kit';
import { createDnsCollector, type DnsCollector } from './collector/collector.ts';
import { dnsCollectorSchema } from './collector/config.ts';

export const dnsCollectorSection = defineSection('dnsCollector', dnsCollectorSchema);

/** The collector built last in this process, for `endpoints()` (printed by `kansoku up` once started). */
let builtCollector: DnsCollector | undefined;

export const dnsModule: DomainModule = {
  name: 'dns',
  sections: [dnsCollectorSection],
  migrations: [],
  queries: [],
  replayers: [],
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
  ],
};
