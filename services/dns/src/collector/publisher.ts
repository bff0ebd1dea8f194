/**
 * DnsQuery records → Kafka, with bounded memory. Records are encoded at once and handed to kit's producer
 * (which batches: linger, batch size, acks=all) in chunks once per event-loop turn. A record counts against
 * `maxQueuedRecords` from acceptance until Kafka acknowledges it or the send fails; past the bound new
 * records are dropped and counted. Stream feeds ask `hasRoom()` first and pause their sockets while there
 * is none, so a resolver that sends faster than Kafka takes is slowed down (its own dnstap buffer then
 * decides what to drop) rather than losing records here.
 */

import { topics } from '@kansoku/contracts';
import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { errorMessage, type KafkaProducer, type OutgoingMessage } from '@kansoku/kit';
import { createRateLimitedLog, type WarnLogger } from '@kansoku/kit/net/rate-limited-log';
import { encodeDnsQuery } from './dns-query-codec.ts';

export interface QueryPublisherConfig {
  topic: string;
  maxQueuedRecords: number;
  maxSendRecords: number;
}

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
  let buffer: OutgoingMessage[] = [];
  let outstanding = 0;
  let scheduled: NodeJS.Immediate | undefined;
  const inFlight = new Set<Promise<void>>();
  const waiting: Array<() => void> = [];
  const counts: PublisherCounts = { accepted: 0, published: 0, failed: 0, dropped: 0 };

  const settled = (n: number) => {
    outstanding -= n;
    metrics.queued(outstanding);
    if (waiting.length > 0 && outstanding < highWater) {
      for (const callback of waiting.splice(0)) callback();
    }
  };

  const sendBuffered = () => {
    scheduled = undefined;
    while (buffer.length > 0) {
      const chunk = buffer.length <= config.maxSendRecords ? buffer : buffer.slice(0, config.maxSendRecords);
      buffer = buffer.length <= config.maxSendRecords ? [] : buffer.slice(config.maxSendRecords);
      const n = chunk.length;
      const sent = deps.producer.send(topic, chunk).then(
        () => {
          counts.published += n;
          metrics.published(n);
          settled(n);
        },
        (error: unknown) => {
          counts.failed += n;
          metrics.failed(n);
          settled(n);
          warnings.warn(
            'publish-failed',
            { topic, records: n, err: errorMessage(error) },
            'DNS query records not published: Kafka did not acknowledge them',
          );
        },
      );
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent));
    }
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
      buffer.push({ key: topics.dnsQueries.key.of(record), value: encodeDnsQuery(record) });
      outstanding++;
      counts.accepted++;
      if (scheduled === undefined) scheduled = setImmediate(sendBuffered);
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
      if (scheduled !== undefined) clearImmediate(scheduled);
      sendBuffered();
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      metrics.queued(outstanding);
      warnings.flush();
    },
  };
}
