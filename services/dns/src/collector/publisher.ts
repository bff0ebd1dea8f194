/**
 * DnsQuery records → Kafka (kansoku.dns.queries.v2), with bounded memory. Records are encoded at once into the
 * DnsQueryBatch of their client shard (contracts: `dnsClientShard`), so every query of a client goes to one
 * partition, in order; a shard's batch becomes a Kafka message when it holds `maxRecordsPerMessage` queries or
 * `maxMessageBytes` bytes, or `messageLingerMs` after its first query, whichever comes first. One message per query cost more than decoding
 * the dnstap frames (the producer's and the broker's work is per message). Messages are handed to kit's producer
 * (which batches them again: linger, batch size, acks=all) in calls of at most `maxSendRecords` queries. A record
 * counts against `maxQueuedRecords` from acceptance until Kafka acknowledges its message or the send fails; past
 * the bound new records are dropped and counted. Stream feeds ask `hasRoom()` first and pause their sockets while
 * there is none, so a resolver that sends faster than Kafka takes is slowed down (its own dnstap buffer then
 * decides what to drop) rather than losing records here.
 */

import { DNS_CLIENT_SHARDS, dnsClientShard, dnsClientShardKey } from '@kansoku/contracts';
import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import type { KafkaProducer } from '@kansoku/kit';
import { createRecordMessageSender } from '@kansoku/kit/kafka/record-message-sender';
import { createRateLimitedLog, type WarnLogger } from '@kansoku/kit/net/rate-limited-log';
import { DnsQueryBatchBuilder } from './dns-query-codec.ts';

export interface QueryPublisherConfig {
  topic: string;
  maxQueuedRecords: number;
  maxSendRecords: number;
  /** Queries per Kafka message at most (default 500). */
  maxRecordsPerMessage?: number;
  /**
   * A message is closed once it holds this many bytes (default 800): small messages spread a request evenly over
   * the partitions (kit's producer cuts its requests at 900 KiB, below the broker's message.max.bytes).
   */
  maxMessageBytes?: number;
  /** Longest a query waits for its message to fill, in ms (default 20; 0: until the end of the event-loop turn). */
  messageLingerMs?: number;
}

export const DEFAULT_MAX_RECORDS_PER_MESSAGE = 500;
export const DEFAULT_MAX_MESSAGE_BYTES = 800;
export const DEFAULT_MESSAGE_LINGER_MS = 20;

export interface PublisherMetrics {
  published(n: number): void;
  failed(n: number): void;
  dropped(n: number): void;
  queued(n: number): void;
}

export interface QueryPublisherDeps {
  producer: Pick<KafkaProducer, 'send'>;
  log: WarnLogger;
  metrics?: PublisherMetrics;
}

export interface PublisherCounts {
  accepted: number;
  published: number;
  failed: number;
  dropped: number;
}

export interface QueryPublisher {
  /** Queues one record; drops it (counted) when the queue is full. Returns whether it was kept. */
  publish(record: DnsQuery): boolean;
  /** Whether the queue is below three quarters of its bound (stream feeds pause above it). */
  hasRoom(): boolean;
  /** Calls `callback` once, when the queue has room again (at once if it has now). */
  whenRoom(callback: () => void): void;
  queued(): number;
  counts(): PublisherCounts;
  /** Sends what is queued now and waits until every send so far has been acknowledged or has failed. */
  flush(): Promise<void>;
}

const noMetrics: PublisherMetrics = { published() {}, failed() {}, dropped() {}, queued() {} };

export function createQueryPublisher(config: QueryPublisherConfig, deps: QueryPublisherDeps): QueryPublisher {
  const { topic } = config;
  const metrics = deps.metrics ?? noMetrics;
  const warnings = createRateLimitedLog(deps.log);
  const highWater = Math.max(1, Math.floor(config.maxQueuedRecords * 0.75));
  const maxPerMessage = Math.max(1, config.maxRecordsPerMessage ?? DEFAULT_MAX_RECORDS_PER_MESSAGE);
  const lingerMs = Math.max(0, config.messageLingerMs ?? DEFAULT_MESSAGE_LINGER_MS);
  const maxBytes = Math.max(1, config.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
  /** One batch being filled per client shard, and each shard's record key. */
  const shards: DnsQueryBatchBuilder[] = [];
  const shardKeys: Buffer[] = [];
  for (let i = 0; i < DNS_CLIENT_SHARDS; i++) {
    shards.push(new DnsQueryBatchBuilder());
    shardKeys.push(Buffer.from(dnsClientShardKey(i)));
  }
  /** Shards that got a query since they were last sealed (may repeat; sealing skips empty ones). */
  let filling: number[] = [];
  let outstanding = 0;
  let lingerTimer: NodeJS.Timeout | undefined;
  let lingerTurn: NodeJS.Immediate | undefined;
  const waiting: Array<() => void> = [];
  const counts: PublisherCounts = { accepted: 0, published: 0, failed: 0, dropped: 0 };

  const sender = createRecordMessageSender(
    { topic, maxSendRecords: config.maxSendRecords, what: 'DNS query records' },
    {
      producer: deps.producer,
      log: deps.log,
      settled(outcome, n) {
        if (outcome === 'published') {
          counts.published += n;
          metrics.published(n);
        } else {
          counts.failed += n;
          metrics.failed(n);
        }
        outstanding -= n;
        metrics.queued(outstanding);
        if (waiting.length > 0 && outstanding < highWater) {
          for (const callback of waiting.splice(0)) callback();
        }
      },
    },
  );

  const seal = (shard: number) => {
    const builder = shards[shard]!;
    if (builder.count === 0) return;
    const records = builder.count;
    sender.add({ key: shardKeys[shard]!, value: builder.take() }, records);
  };

  /** Seals every shard's batch and sends. */
  const sealAll = () => {
    if (lingerTimer !== undefined) clearTimeout(lingerTimer);
    if (lingerTurn !== undefined) clearImmediate(lingerTurn);
    lingerTimer = undefined;
    lingerTurn = undefined;
    for (const shard of filling) seal(shard);
    filling = [];
    sender.sendNow();
  };

  return {
    publish(record) {
      if (outstanding >= config.maxQueuedRecords) {
        counts.dropped++;
        metrics.dropped(1);
        warnings.warn(
          'queue-full',
          { topic, maxQueuedRecords: config.maxQueuedRecords },
          'DNS query records dropped: publish queue full (Kafka slower than the resolvers)',
        );
        return false;
      }
      const shard = dnsClientShard(record.clientAddress);
      const builder = shards[shard]!;
      if (builder.count === 0) filling.push(shard);
      builder.append(record);
      outstanding++;
      counts.accepted++;
      if (builder.count >= maxPerMessage || builder.bytes >= maxBytes) {
        seal(shard);
        sender.schedule();
      }
      if (lingerMs === 0) lingerTurn ??= setImmediate(sealAll);
      else lingerTimer ??= setTimeout(sealAll, lingerMs);
      return true;
    },
    hasRoom: () => outstanding < highWater,
    whenRoom(callback) {
      if (outstanding < highWater) callback();
      else waiting.push(callback);
    },
    queued: () => outstanding,
    counts: () => ({ ...counts }),
    async flush() {
      sealAll();
      await sender.flush();
      metrics.queued(outstanding);
      warnings.flush();
    },
  };
}
