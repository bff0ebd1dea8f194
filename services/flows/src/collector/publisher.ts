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
import { errorMessage, type KafkaProducer, type OutgoingMessage } from '@kansoku/kit';
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
  /** Encoded messages waiting for the next send, and how many records each carries. */
  let buffer: OutgoingMessage[] = [];
  let bufferRecords: number[] = [];
  /** Accepted, not yet settled: in `buffer` or in the producer. */
  let outstanding = 0;
  let scheduled: NodeJS.Immediate | undefined;
  const inFlight = new Set<Promise<void>>();
  const counts: PublisherCounts = { accepted: 0, published: 0, failed: 0, dropped: 0 };

  const settled = (n: number) => {
    outstanding -= n;
    deps.metrics.queued.set(outstanding);
  };

  const send = (messages: OutgoingMessage[], n: number) => {
    const sent = deps.producer.send(topic, messages).then(
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
  };

  /** Hands the buffer to the producer in calls of at most maxSendRecords records (at least one message). */
  const sendBuffered = () => {
    scheduled = undefined;
    let first = 0;
    while (first < buffer.length) {
      let last = first;
      let n = bufferRecords[first]!;
      while (last + 1 < buffer.length && n + bufferRecords[last + 1]! <= config.maxSendRecords) {
        last++;
        n += bufferRecords[last]!;
      }
      send(first === 0 && last === buffer.length - 1 ? buffer : buffer.slice(first, last + 1), n);
      first = last + 1;
    }
    buffer = [];
    bufferRecords = [];
  };

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
      buffer.push({ key: formatIpAddress(exporter), value: encodeFlowRecordBatch(part) });
      bufferRecords.push(end - start);
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
