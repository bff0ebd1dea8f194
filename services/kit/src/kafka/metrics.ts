import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Kafka metrics shared by every producer and consumer of a process: several components register on the same
 * registry (all services in one process), so each metric is created once and found again by name.
 */
function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<string>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[]): Gauge<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<string>;
  return new Gauge({ name, help, labelNames, registers: [registry] });
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
