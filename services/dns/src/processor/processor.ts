/**
 * The DNS processor: consumes DnsQuery messages (`kansoku.dns.queries.v1`) and writes the raw queries and the
 * query, client and zone rollups per minute and per hour, exactly once (kit's warehouse sink and ingest
 * ledger). See tables.ts for the tables and aggregate.ts for the rows.
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
import { aggregateDnsQueries } from './aggregate.ts';
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
  const sink = createWarehouseSink<DnsQuery>(
    {
      name: 'dns',
      groupId: config.groupId,
      maxBatchMessages: config.maxBatchMessages,
      maxBatchDelayMs: config.maxBatchDelayMs,
      decode: decodeDnsQuery,
      aggregate: (records) => aggregateDnsQueries(records, { rawSampleOneIn: config.rawSampleOneIn }),
    },
    deps,
  );
  return { name: 'dns-processor', start: () => sink.start(), stop: () => sink.stop() };
}
