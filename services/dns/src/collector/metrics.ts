/**
 * The DNS collector's Prometheus metrics. Counters on the hot path (frames, records) are kept as plain
 * numbers by the collector and read at scrape time; the rest are incremented where they happen. One set
 * per registry; several collectors on one registry (tests) add up.
 */

import { Counter, Gauge, type Registry } from '@kansoku/kit';
import type { DnstapAssemblerStats } from '../decoders/dnstap-queries.ts';
import type { PublisherMetrics } from './publisher.ts';

/** What a running collector exposes for scraping. */
export interface CollectorStatsSource {
  /** Data frames received per listener (tcp, unix). */
  frames(): Record<string, number>;
  dnstap(): DnstapAssemblerStats;
  /** Decode errors and disconnects per sender and code. */
  senderErrors(): Array<{ sender: string; code: string; count: number }>;
  queryLog(): { lines: number; records: number; unparsed: Record<string, number> } | undefined;
}

export interface DnsCollectorMetrics {
  publisher: (topic: string) => PublisherMetrics;
  disconnects: Counter<'listener' | 'code'>;
  sources: Set<CollectorStatsSource>;
}

const byRegistry = new WeakMap<Registry, DnsCollectorMetrics>();

function reset(metric: { reset(): void }): void {
  metric.reset();
}

export function dnsCollectorMetrics(registry: Registry): DnsCollectorMetrics {
  const existing = byRegistry.get(registry);
  if (existing !== undefined) return existing;
  const sources = new Set<CollectorStatsSource>();

  new Counter<'listener'>({
    name: 'kansoku_dns_collector_frames_total',
    help: 'Frame Streams data frames received, per listener (tcp, unix).',
    labelNames: ['listener'],
    registers: [registry],
    collect() {
      reset(this);
      for (const source of sources)
        for (const [listener, n] of Object.entries(source.frames())) this.inc({ listener }, n);
    },
  });
  new Counter<'type'>({
    name: 'kansoku_dns_collector_messages_total',
    help: 'dnstap messages decoded, by message type (client_query, client_response, resolver_query, …).',
    labelNames: ['type'],
    registers: [registry],
    collect() {
      reset(this);
      for (const source of sources)
        for (const [type, n] of Object.entries(source.dnstap().messagesByType)) this.inc({ type }, n);
    },
  });
  new Counter<'sender' | 'code'>({
    name: 'kansoku_dns_collector_decode_errors_total',
    help: 'Unreadable frames, DNS messages and protocol violations per sender and error code (KANSOKU_*).',
    labelNames: ['sender', 'code'],
    registers: [registry],
    collect() {
      reset(this);
      for (const source of sources)
        for (const e of source.senderErrors()) this.inc({ sender: e.sender, code: e.code }, e.count);
    },
  });
  new Counter<'outcome'>({
    name: 'kansoku_dns_collector_pairing_total',
    help: 'Query/response pairing outcomes: paired, timed_out, evicted, replaced, unmatched_response.',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      reset(this);
      for (const source of sources) {
        const p = source.dnstap().pairing;
        this.inc({ outcome: 'paired' }, p.paired);
        this.inc({ outcome: 'timed_out' }, p.timedOut);
        this.inc({ outcome: 'evicted' }, p.evicted);
        this.inc({ outcome: 'replaced' }, p.replaced);
        this.inc({ outcome: 'unmatched_response' }, p.unmatchedResponses);
      }
    },
  });
  new Gauge<never>({
    name: 'kansoku_dns_collector_pending_queries',
    help: 'Queries waiting for their response now.',
    registers: [registry],
    collect() {
      let n = 0;
      for (const source of sources) n += source.dnstap().pairing.pending;
      this.set(n);
    },
  });
  new Counter<never>({
    name: 'kansoku_dns_collector_query_log_lines_total',
    help: 'Query-log lines read (file and syslog).',
    registers: [registry],
    collect() {
      reset(this);
      for (const source of sources) this.inc(source.queryLog()?.lines ?? 0);
    },
  });
  new Counter<'reason'>({
    name: 'kansoku_dns_collector_query_log_unparsed_total',
    help: 'Query-log lines that were not a query or reply line of a known format, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      reset(this);
      for (const source of sources)
        for (const [reason, n] of Object.entries(source.queryLog()?.unparsed ?? {})) this.inc({ reason }, n);
    },
  });

  const published = new Counter<'topic'>({
    name: 'kansoku_dns_collector_records_published_total',
    help: 'DnsQuery records acknowledged by Kafka.',
    labelNames: ['topic'],
    registers: [registry],
  });
  const publishErrors = new Counter<'topic'>({
    name: 'kansoku_dns_collector_publish_errors_total',
    help: 'DnsQuery records lost because Kafka did not acknowledge them.',
    labelNames: ['topic'],
    registers: [registry],
  });
  const dropped = new Counter<'topic'>({
    name: 'kansoku_dns_collector_queue_dropped_total',
    help: 'DnsQuery records dropped because the publish queue was full.',
    labelNames: ['topic'],
    registers: [registry],
  });
  const queued = new Gauge<'topic'>({
    name: 'kansoku_dns_collector_queued_records',
    help: 'DnsQuery records accepted and not yet acknowledged by Kafka.',
    labelNames: ['topic'],
    registers: [registry],
  });

  const metrics: DnsCollectorMetrics = {
    publisher: (topic) => ({
      published: (n) => published.inc({ topic }, n),
      failed: (n) => publishErrors.inc({ topic }, n),
      dropped: (n) => dropped.inc({ topic }, n),
      queued: (n) => queued.set({ topic }, n),
    }),
    disconnects: new Counter({
      name: 'kansoku_dns_collector_disconnects_total',
      help: 'Frame Streams connections cut because the sender broke the protocol (garbage, oversize frames).',
      labelNames: ['listener', 'code'],
      registers: [registry],
    }),
    sources,
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
