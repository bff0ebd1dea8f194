/**
 * The DNS processor: consumes DnsQuery messages (`kansoku.dns.queries.v1`) and writes the raw queries and the
 * query, client and zone rollups per minute and per hour, exactly once (kit's warehouse sink and ingest
 * ledger). See tables.ts for the tables, aggregate.ts for the rows and batch-aggregator.ts for the hot path.
 */
import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import {
  type Component,
  createWarehouseSink,
  type IncomingMessage,
  type KafkaConsumer,
  type Logger,
  type Registry,
  type Warehouse,
} from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { DnsQueryBatchAggregator } from './batch-aggregator.ts';
import { decodeDnsQueryFast } from './dns-query-decoder.ts';

export const DNS_QUERIES_TOPIC = 'kansoku.dns.queries.v1';
export const DNS_PROCESSOR_GROUP = 'kansoku-dns-processor';

export const dnsProcessorSchema = Type.Object({
  topic: Type.String({
    default: DNS_QUERIES_TOPIC,
    minLength: 1,
    description: 'Topic of DNS queries to consume',
  }),
  groupId: Type.String({ default: DNS_PROCESSOR_GROUP, minLength: 1, description: 'Kafka consumer group' }),
  maxBatchMessages: Type.Integer({
    default: 50_000,
    minimum: 1,
    description: 'Queries per warehouse insert',
  }),
  maxBatchDelayMs: Type.Integer({
    default: 1000,
    minimum: 10,
    description: 'Longest a query waits to be written',
  }),
  rawSampleOneIn: Type.Integer({
    default: 1,
    minimum: 0,
    description:
      'Raw query rows kept: 1 = every query, N = 1 in N (deterministic per query), 0 = none. Rollups always count every query.',
  }),
});

export interface DnsProcessorConfig {
  groupId: string;
  maxBatchMessages: number;
  maxBatchDelayMs: number;
  rawSampleOneIn: number;
}

export function decodeDnsQuery(message: Pick<IncomingMessage, 'value'>): DnsQuery {
  return decodeDnsQueryFast(message.value);
}

export function createDnsProcessor(
  config: DnsProcessorConfig,
  deps: { consumer: KafkaConsumer; warehouse: Warehouse; log: Logger; metrics: Registry },
): Component {
  // Messages are read into the aggregator's columns (decode gives a row number) and turned into rows per
  // table in one pass: no DnsQuery object per message. The sink decodes a batch and aggregates it with no
  // await in between, which is what the aggregator needs (one batch at a time).
  const batch = new DnsQueryBatchAggregator({ rawSampleOneIn: config.rawSampleOneIn });
  const sink = createWarehouseSink<number>(
    {
      name: 'dns',
      groupId: config.groupId,
      maxBatchMessages: config.maxBatchMessages,
      maxBatchDelayMs: config.maxBatchDelayMs,
      decode: (message) => batch.add(message.value),
      aggregate: (rows) => batch.aggregate(rows),
    },
    deps,
  );
  return { name: 'dns-processor', start: () => sink.start(), stop: () => sink.stop() };
}
