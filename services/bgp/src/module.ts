/**
 * The BGP domain as the platform sees it: config sections, services, replayers, migrations and queries.
 * The station and MRT replay live in station/ and replay/; the RIB processor, its tables and queries are
 * added here by their own modules.
 */

import { type DomainModule, defineSection } from '@kansoku/kit';
import { bgpProcessorSection } from './processor/config.ts';
import { bgpProcessorService } from './processor/service.ts';
import { bgpQueries } from './queries.ts';
import { mrtReplayer } from './replay/replayer.ts';
import { bgpStationSchema } from './station/config.ts';
import { type BgpStation, createBgpStation } from './station/station.ts';
import { bgpMigrations } from './tables.ts';

export const bgpStationSection = defineSection('bgpStation', bgpStationSchema);

/** The station built last in this process, for `endpoints()` (printed by `kansoku up` once started). */
let builtStation: BgpStation | undefined;

export const bgpModule: DomainModule = {
  name: 'bgp',
  replayers: [mrtReplayer],
  sections: [bgpStationSection, bgpProcessorSection],
  migrations: bgpMigrations,
  queries: bgpQueries,
  services: [
    bgpProcessorService,
    {
      name: 'bgp-station',
      description:
        'BMP station (RFC 7854, Loc-RIB RFC 9069, Adj-RIB-Out RFC 8671): publishes routes and peer events to Kafka',
      build(runtime) {
        const log = runtime.log.child({ component: 'bgp-station' });
        const producer = runtime.kafkaProducer(log);
        const station = createBgpStation(runtime.config.get(bgpStationSection), {
          producer,
          log,
          metrics: runtime.metrics,
        });
        builtStation = station;
        // The producer starts first and stops last: the station flushes into it on stop.
        return [
          { name: 'bgp-station-producer', start: () => producer.start(), stop: () => producer.stop() },
          station,
        ];
      },
      endpoints() {
        if (builtStation === undefined) return [];
        try {
          const { address, port } = builtStation.address();
          return [`bgp      bmp       tcp://${address}:${port}`];
        } catch {
          return [];
        }
      },
    },
  ],
};
