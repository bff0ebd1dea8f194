/**
 * Flow records → Kafka, with bounded memory. The records of one `publish` call (one export packet, one
 * exporter) become FlowRecordBatch messages of at most `maxRecordsPerMessage` records, handed to kit's
 * producer (which batches them: linger, largest batch, acks=all) in chunks once per event-loop turn. Every
 * record counts against `maxQueuedRecords` from the moment it is accepted until Kafka acknowledges it (or the
 * send fails); when Kafka is slower than the exporters the queue fills and new records are dropped and counted,
 * instead of memory growing without bound.
 */

import { encodeFlowRecordBatch, formatIpAddress } from '@kansoku/contracts';
import type { FlowRecord } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import type { KafkaProducer } from '@kansoku/kit';
import { createRecordMessageSender } from '@kansoku/kit/kafka/record-message-sender';
import { createRateLimitedLog, type WarnLogger } from '@kansoku/kit/net/rate-limited-log';
import type { CollectorMetrics } from './metrics.ts';

export interface RecordPublisherConfig {
  topic: string;
  maxQueuedRecords: number;
  maxSendRecords: number;
  maxRecordsPerMessage: number;
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
  /**
   * Queues records for Kafka; those beyond the queue's bound are dropped (counted). Returns how many were kept.
   * A message never mixes exporters: a run of records of one exporter is cut where the exporter changes.
   */
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
  /** Accepted, not yet settled: waiting for the next send or in the producer. */
  let outstanding = 0;
  const counts: PublisherCounts = { accepted: 0, published: 0, failed: 0, dropped: 0 };
  const sender = createRecordMessageSender(
    { topic, maxSendRecords: config.maxSendRecords, what: 'flow records' },
    {
      producer: deps.producer,
      log: deps.log,
      settled(outcome, n) {
        if (outcome === 'published') {
          counts.published += n;
          deps.metrics.published.inc(labels, n);
        } else {
          counts.failed += n;
          deps.metrics.publishErrors.inc(labels, n);
        }
        outstanding -= n;
        deps.metrics.queued.set(outstanding);
      },
    },
  );

  const sameAddress = (a: Uint8Array, b: Uint8Array) => {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  };

  /** Queues records[from, to) as messages, each of one exporter and at most maxRecordsPerMessage records. */
  const enqueue = (records: readonly FlowRecord[], from: number, to: number) => {
    let start = from;
    while (start < to) {
      const exporter = records[start]!.exporterAddress;
      let end = start + 1;
      const limit = Math.min(to, start + config.maxRecordsPerMessage);
      while (end < limit && sameAddress(records[end]!.exporterAddress, exporter)) end++;
      const part = start === 0 && end === records.length ? records : records.slice(start, end);
      sender.add({ key: formatIpAddress(exporter), value: encodeFlowRecordBatch(part) }, end - start);
      start = end;
    }
  };

  return {
    publish(records) {
      const room = Math.max(0, config.maxQueuedRecords - outstanding);
      const kept = Math.min(records.length, room);
      if (kept < records.length) {
        const dropped = records.length - kept;
        counts.dropped += dropped;
        deps.metrics.queueDropped.inc(dropped);
        warnings.warn(
          'queue-full',
          { topic, maxQueuedRecords: config.maxQueuedRecords, dropped },
          'flow records dropped: publish queue full (Kafka slower than the exporters)',
        );
      }
      if (kept > 0) enqueue(records, 0, kept);
      outstanding += kept;
      counts.accepted += kept;
      deps.metrics.queued.set(outstanding);
      sender.schedule();
      return kept;
    },
    queued: () => outstanding,
    counts: () => ({ ...counts }),
    async flush() {
      await sender.flush();
      warnings.flush();
    },
  };
}
