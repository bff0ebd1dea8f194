/**
 * Flow records → Kafka, with bounded memory. Records are encoded and handed to kit's producer (which batches
 * them: linger, largest batch, acks=all) in chunks once per event-loop turn. Every record counts against
 * `maxQueuedRecords` from the moment it is accepted until Kafka acknowledges it (or the send fails); when
 * Kafka is slower than the exporters the queue fills and new records are dropped and counted, instead of
 * memory growing without bound.
 */

import { encodeFlowRecord, topics } from '@kansoku/contracts';
import type { FlowRecord } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { errorMessage, type KafkaProducer, type OutgoingMessage } from '@kansoku/kit';
import { createRateLimitedLog, type WarnLogger } from '@kansoku/kit/net/rate-limited-log';
import type { CollectorMetrics } from './metrics.ts';

export interface RecordPublisherConfig {
  topic: string;
  maxQueuedRecords: number;
  maxSendRecords: number;
}

export interface RecordPublisherDeps {
  producer: Pick<KafkaProducer, 'send'>;
  log: WarnLogger;
  metrics: Pick<CollectorMetrics, 'published' | 'publishErrors' | 'queueDropped' | 'queued'>;
}

export interface PublisherCounts {
  accepted: number;
  published: number;
  failed: number;
  dropped: number;
}

export interface RecordPublisher {
  /** Queues records for Kafka; those beyond the queue's bound are dropped (counted). Returns how many were kept. */
  publish(records: readonly FlowRecord[]): number;
  /** Records accepted and not yet acknowledged or failed. */
  queued(): number;
  counts(): PublisherCounts;
  /** Sends what is queued now and waits until every send so far has been acknowledged or has failed. */
  flush(): Promise<void>;
}

export function createRecordPublisher(
  config: RecordPublisherConfig,
  deps: RecordPublisherDeps,
): RecordPublisher {
  const { topic } = config;
  const warnings = createRateLimitedLog(deps.log);
  const labels = { topic };
  let buffer: OutgoingMessage[] = [];
  /** Accepted, not yet settled: in `buffer` or in the producer. */
  let outstanding = 0;
  let scheduled: NodeJS.Immediate | undefined;
  const inFlight = new Set<Promise<void>>();
  const counts: PublisherCounts = { accepted: 0, published: 0, failed: 0, dropped: 0 };

  const settled = (n: number) => {
    outstanding -= n;
    deps.metrics.queued.set(outstanding);
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
          deps.metrics.published.inc(labels, n);
          settled(n);
        },
        (error: unknown) => {
          counts.failed += n;
          deps.metrics.publishErrors.inc(labels, n);
          settled(n);
          warnings.warn(
            'publish-failed',
            { topic, records: n, err: errorMessage(error) },
            'flow records not published: Kafka did not acknowledge them',
          );
        },
      );
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent));
    }
  };

  return {
    publish(records) {
      let kept = 0;
      for (const record of records) {
        if (outstanding >= config.maxQueuedRecords) {
          const dropped = records.length - kept;
          counts.dropped += dropped;
          deps.metrics.queueDropped.inc(dropped);
          warnings.warn(
            'queue-full',
            { topic, maxQueuedRecords: config.maxQueuedRecords, dropped },
            'flow records dropped: publish queue full (Kafka slower than the exporters)',
          );
          break;
        }
        buffer.push({ key: topics.flowRecords.key.of(record), value: encodeFlowRecord(record) });
        outstanding++;
        kept++;
      }
      counts.accepted += kept;
      deps.metrics.queued.set(outstanding);
      if (buffer.length > 0 && scheduled === undefined) scheduled = setImmediate(sendBuffered);
      return kept;
    },
    queued: () => outstanding,
    counts: () => ({ ...counts }),
    async flush() {
      if (scheduled !== undefined) clearImmediate(scheduled);
      sendBuffered();
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      warnings.flush();
    },
  };
}
