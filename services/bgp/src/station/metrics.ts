/**
 * The station's Prometheus metrics. One set per registry; several stations on one registry (tests) add up.
 * Per-router series are labelled with the router's address: their number is bounded by the listener's
 * maximum connections.
 */

import { Counter, Gauge, type Registry } from '@kansoku/kit';

export interface StationMetrics {
  routersConnected: Gauge<never>;
  peersUp: Gauge<never>;
  /** BMP messages decoded, by message type. */
  messages: Counter<'type'>;
  /** Prefixes published, by router and action (announce, withdraw). */
  routes: Counter<'router' | 'action'>;
  /** Prefixes (or UPDATEs, for families whose NLRI are not decoded) of families not published. */
  unknownFamilies: Counter<'router' | 'afi' | 'safi'>;
  endOfRib: Counter<'router'>;
  /** Malformed BMP messages (and streams), by router and error code. */
  decodeErrors: Counter<'router' | 'code'>;
  /** DOWN events emitted because a router's connection closed with peers up. */
  connectionLostDowns: Counter<never>;
  published: Counter<'topic'>;
  publishErrors: Counter<'topic'>;
  /** Routes and peer events accepted for Kafka and not yet acknowledged. */
  publishQueue: Gauge<never>;
  /** Times reading from the routers was paused because the publish queue was full. */
  backpressurePauses: Counter<never>;
}

const byRegistry = new WeakMap<Registry, StationMetrics>();

export function stationMetrics(registry: Registry): StationMetrics {
  const existing = byRegistry.get(registry);
  if (existing !== undefined) return existing;
  const registers = [registry];
  const metrics: StationMetrics = {
    routersConnected: new Gauge({
      name: 'kansoku_bgp_station_routers_connected',
      help: 'BMP router connections open now.',
      registers,
    }),
    peersUp: new Gauge({
      name: 'kansoku_bgp_station_peers_up',
      help: 'BGP peers up across the connected routers (Peer Up seen, no Peer Down yet).',
      registers,
    }),
    messages: new Counter({
      name: 'kansoku_bgp_station_messages_total',
      help: 'BMP messages decoded, by type.',
      labelNames: ['type'],
      registers,
    }),
    routes: new Counter({
      name: 'kansoku_bgp_station_routes_total',
      help: 'Prefixes published to Kafka, by router and action (announce, withdraw).',
      labelNames: ['router', 'action'],
      registers,
    }),
    unknownFamilies: new Counter({
      name: 'kansoku_bgp_station_unknown_family_total',
      help: 'Prefixes (or UPDATEs whose NLRI are not decoded) of families other than IPv4/IPv6 unicast: counted, not published.',
      labelNames: ['router', 'afi', 'safi'],
      registers,
    }),
    endOfRib: new Counter({
      name: 'kansoku_bgp_station_end_of_rib_total',
      help: 'End-of-RIB markers received (RFC 4724), by router.',
      labelNames: ['router'],
      registers,
    }),
    decodeErrors: new Counter({
      name: 'kansoku_bgp_station_decode_errors_total',
      help: 'Malformed BMP messages or streams, by router and error code.',
      labelNames: ['router', 'code'],
      registers,
    }),
    connectionLostDowns: new Counter({
      name: 'kansoku_bgp_station_connection_lost_downs_total',
      help: 'Peer DOWN events emitted because a router connection closed or terminated with the peer up.',
      registers,
    }),
    published: new Counter({
      name: 'kansoku_bgp_station_published_total',
      help: 'Routes (RouteUpdates, inside their batches) and peer events acknowledged by Kafka, by topic.',
      labelNames: ['topic'],
      registers,
    }),
    publishErrors: new Counter({
      name: 'kansoku_bgp_station_publish_errors_total',
      help: 'Routes and peer events Kafka did not acknowledge, by topic (their routers are disconnected to resynchronise).',
      labelNames: ['topic'],
      registers,
    }),
    publishQueue: new Gauge({
      name: 'kansoku_bgp_station_publish_queue',
      help: 'Routes and peer events accepted for Kafka and not yet acknowledged.',
      registers,
    }),
    backpressurePauses: new Counter({
      name: 'kansoku_bgp_station_backpressure_pauses_total',
      help: 'Times the station stopped reading from routers because the publish queue was full.',
      registers,
    }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
