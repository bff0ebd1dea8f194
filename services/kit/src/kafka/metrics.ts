import type { Counter, Gauge, Registry } from 'prom-client';
import { sharedCounter, sharedGauge } from '../metrics.ts';

/** Kafka metrics shared by every producer and consumer of a process (see sharedCounter). */
function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  return sharedCounter(registry, { name, help, labelNames });
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[]): Gauge<string> {
  return sharedGauge(registry, { name, help, labelNames });
}

export function producerMetrics(registry: Registry) {
  return {
    messages: counter(registry, 'kansoku_kafka_produced_messages_total', 'Messages acknowledged by Kafka', [
      'client_id',
      'topic',
    ]),
    bytes: counter(
      registry,
      'kansoku_kafka_produced_bytes_total',
      'Key and value bytes acknowledged by Kafka',
      ['client_id', 'topic'],
    ),
    errors: counter(registry, 'kansoku_kafka_produce_errors_total', 'Messages whose produce request failed', [
      'client_id',
      'topic',
    ]),
    requests: counter(registry, 'kansoku_kafka_produce_requests_total', 'Produce requests (batches) sent', [
      'client_id',
    ]),
  };
}

export function consumerMetrics(registry: Registry) {
  return {
    messages: counter(
      registry,
      'kansoku_kafka_consumed_messages_total',
      'Messages handed to the batch handler',
      ['group', 'topic'],
    ),
    bytes: counter(
      registry,
      'kansoku_kafka_consumed_bytes_total',
      'Key and value bytes handed to the handler',
      ['group', 'topic'],
    ),
    commits: counter(registry, 'kansoku_kafka_commits_total', 'Offsets committed', ['group', 'topic']),
    handlerErrors: counter(
      registry,
      'kansoku_kafka_batch_handler_errors_total',
      'Batches whose handler threw (the batch is read again)',
      ['group', 'topic'],
    ),
    fetchErrors: counter(registry, 'kansoku_kafka_fetch_errors_total', 'Failed fetch requests', ['group']),
    rebalances: counter(registry, 'kansoku_kafka_rebalances_total', 'Partition assignments received', [
      'group',
    ]),
    lag: gauge(
      registry,
      'kansoku_kafka_consumer_lag',
      'High watermark minus the next offset to read, at the last fetch',
      ['group', 'topic', 'partition'],
    ),
  };
}
