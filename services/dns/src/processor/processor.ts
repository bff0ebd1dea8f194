/**
 * The DNS processor: consumes DnsQueryBatch messages (`kansoku.dns.queries.v2`) and writes the raw queries and the
 * query, client and zone rollups per minute and per hour, exactly once (kit's warehouse sink and ingest
 * ledger). See tables.ts for the tables, aggregate.ts for the rows and batch-aggregator.ts for the hot path.
 */
import { topics } from '@kansoku/contracts';
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
import { decodeDnsQueryBatch } from './dns-query-decoder.ts';

export const DNS_QUERIES_TOPIC: string = topics.dnsQueries.name;
export const DNS_PROCESSOR_GROUP = 'kansoku-dns-processor';

export const dnsProcessorSchema = Type.Object({
  topic: Type.String({
    default: DNS_QUERIES_TOPIC,
    minLength: 1,
    description: 'Topic of DNS queries to consume',
  }),
  groupId: Type.String({ default: DNS_PROCESSOR_GROUP, minLength: 1, description: 'Kafka consumer group' }),
  maxBatchMessages: Type.Integer({
    default: 2000,
    minimum: 1,
    description:
      'Kafka messages per warehouse insert at most (each a DnsQueryBatch of up to the collector’s maxRecordsPerMessage queries)',
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

/** The queries of one message of the topic (a DnsQueryBatch). */
export function decodeDnsQueries(message: Pick<IncomingMessage, 'value'>): DnsQuery[] {
  return decodeDnsQueryBatch(message.value);
}

export function createDnsProcessor(
  config: DnsProcessorConfig,
  deps: { consumer: KafkaConsumer; warehouse: Warehouse; log: Logger; metrics: Registry },
): Component {
  // The queries of each message (a DnsQueryBatch) are read into the aggregator's columns (decodeInto gives
  // their row numbers) and turned into rows per table in one pass: no DnsQuery object per query. The sink decodes a batch and aggregates it with no
  // await in between, which is what the aggregator needs (one batch at a time).
  const batch = new DnsQueryBatchAggregator({ rawSampleOneIn: config.rawSampleOneIn });
  const sink = createWarehouseSink<number>(
    {
      name: 'dns',
      groupId: config.groupId,
      maxBatchMessages: config.maxBatchMessages,
      maxBatchDelayMs: config.maxBatchDelayMs,
      decodeInto: (message, into) => batch.addBatch(message.value, into),
      aggregate: (rows) => batch.aggregate(rows),
    },
    deps,
  );
  return { name: 'dns-processor', start: () => sink.start(), stop: () => sink.stop() };
}
