/**
 * The DNS detector service: its own consumer group on the DNS queries (detection never waits on the warehouse),
 * feeding the client-rate, random-subdomain and SERVFAIL detectors and emitting detections. State is in memory:
 * after a restart baselines learn again. Offsets are committed after each batch is observed (at least once: a
 * redelivered batch only nudges counts).
 *
 * Queries carry their own time; detectors run on it, so a replayed capture is judged as it happened. When
 * queries stop, a timer moves detector time on at the wall clock's pace from the last query's time.
 */
import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import {
  type Component,
  Counter,
  type DetectionEmitter,
  errorMessage,
  Gauge,
  type KafkaConsumer,
  type Logger,
  type Registry,
} from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { queryTimeMs, RCODE_NXDOMAIN } from '../processor/aggregate.ts';
import { decodeDnsQueryBatch } from '../processor/dns-query-decoder.ts';
import { DNS_QUERIES_TOPIC } from '../processor/processor.ts';
import { registeredDomain, subdomainPart } from '../processor/zone.ts';
import {
  type ClientRateSpikeConfig,
  clientRateSpikeSchema,
  createClientRateSpikeDetector,
} from './client-rate-spike.ts';
import {
  createRandomSubdomainDetector,
  type RandomSubdomainConfig,
  randomSubdomainSchema,
} from './random-subdomain.ts';
import {
  createServfailSurgeDetector,
  type ServfailSurgeConfig,
  servfailSurgeSchema,
} from './servfail-surge.ts';

export const DNS_DETECTOR_GROUP = 'kansoku-dns-detector';

export const dnsDetectorSchema = Type.Object({
  topic: Type.String({
    default: DNS_QUERIES_TOPIC,
    minLength: 1,
    description: 'Topic of DNS queries to watch',
  }),
  groupId: Type.String({ default: DNS_DETECTOR_GROUP, minLength: 1, description: 'Kafka consumer group' }),
  tickMs: Type.Integer({ default: 1000, minimum: 50, description: 'How often idle detectors move time on' }),
  clientRate: Type.Object(clientRateSpikeSchema.properties, { default: {} }),
  randomSubdomain: Type.Object(randomSubdomainSchema.properties, { default: {} }),
  servfail: Type.Object(servfailSurgeSchema.properties, { default: {} }),
});

export interface DnsDetectorConfig {
  tickMs: number;
  clientRate: ClientRateSpikeConfig;
  randomSubdomain: RandomSubdomainConfig;
  servfail: ServfailSurgeConfig;
}

export interface DnsDetectors {
  observe(q: DnsQuery): void;
  advance(nowMs: number): void;
  stats(): Record<string, number>;
}

/** The three detectors behind one `observe` (the service feeds it; tests feed it synthetic sequences). */
export function createDnsDetectors(
  config: DnsDetectorConfig,
  deps: { emitter: DetectionEmitter },
): DnsDetectors {
  const clientRate = createClientRateSpikeDetector(config.clientRate, deps);
  const randomSubdomain = createRandomSubdomainDetector(config.randomSubdomain, deps);
  const servfail = createServfailSurgeDetector(config.servfail, deps);
  return {
    observe(q) {
      const timeMs = queryTimeMs(q);
      if (q.clientAddress.length > 0) clientRate.observe(formatIpAddress(q.clientAddress), timeMs);
      if (!q.responseSeen) return;
      const zone = registeredDomain(q.qname);
      if (q.rcode === RCODE_NXDOMAIN)
        randomSubdomain.observeNxdomain(zone, subdomainPart(q.qname, zone), timeMs);
      servfail.observeAnswer(q.resolverIdentity, zone, q.rcode, timeMs);
    },
    advance(nowMs) {
      clientRate.advance(nowMs);
      randomSubdomain.advance(nowMs);
      servfail.advance(nowMs);
    },
    stats() {
      const c = clientRate.stats();
      const r = randomSubdomain.stats();
      const s = servfail.stats();
      return {
        clients: c.clients,
        client_baselines: c.baselines,
        clients_dropped: c.dropped,
        client_rate_firing: c.firing,
        nxdomain_zones: r.zones,
        nxdomain_zones_dropped: r.dropped,
        random_subdomain_firing: r.firing,
        resolvers: s.resolvers,
        servfail_firing: s.firing,
      };
    },
  };
}

export function createDnsDetector(
  config: DnsDetectorConfig,
  deps: { consumer: KafkaConsumer; emitter: DetectionEmitter; log: Logger; metrics: Registry },
): Component {
  const detectors = createDnsDetectors(config, deps);
  let lastQueryMs = 0;
  let lastQueryWallMs = 0;
  let timer: NodeJS.Timeout | undefined;

  const queries = new Counter({
    name: 'kansoku_dns_detector_queries_total',
    help: 'DNS queries observed by the detectors (outcome observed), and Kafka messages that could not be read (outcome malformed)',
    labelNames: ['outcome'],
    registers: [deps.metrics],
  });
  new Gauge({
    name: 'kansoku_dns_detector_state',
    help: 'DNS detector state sizes and firing episodes',
    labelNames: ['what'],
    registers: [deps.metrics],
    collect() {
      for (const [what, value] of Object.entries(detectors.stats())) this.set({ what }, value);
    },
  });

  return {
    name: 'dns-detector',
    async start() {
      await deps.consumer.start({
        onBatch: async (batch) => {
          let malformed = 0;
          let observed = 0;
          for (const message of batch.messages) {
            let batchQueries: DnsQuery[];
            try {
              batchQueries = decodeDnsQueryBatch(message.value);
            } catch {
              malformed++;
              continue;
            }
            for (const q of batchQueries) {
              detectors.observe(q);
              const timeMs = queryTimeMs(q);
              if (timeMs > lastQueryMs) lastQueryMs = timeMs;
            }
            observed += batchQueries.length;
          }
          lastQueryWallMs = Date.now();
          queries.inc({ outcome: 'observed' }, observed);
          if (malformed > 0) queries.inc({ outcome: 'malformed' }, malformed);
          const last = batch.messages.at(-1);
          if (last) await deps.consumer.commit(batch.topic, batch.partition, last.offset + 1n);
        },
      });
      timer = setInterval(() => {
        if (lastQueryWallMs === 0) return;
        try {
          detectors.advance(lastQueryMs + (Date.now() - lastQueryWallMs));
        } catch (error) {
          deps.log.error({ err: errorMessage(error) }, 'dns detector tick failed');
        }
      }, config.tickMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await deps.consumer.stop();
    },
  };
}
