/**
 * Our flows collector as it runs in `kansoku run flows-collector`, in this process: kit's Kafka producer
 * (the platform's default batch and linger), then the collector on a free UDP port of 127.0.0.1 publishing
 * to `topic`. No template state file, no origin-AS table.
 */

import { type FlowsCollectorConfig, flowsCollectorSchema } from '@kansoku/flows/collector/config';
import { createFlowsCollector, type FlowsCollector } from '@kansoku/flows/collector/index';
import { createMetricsRegistry, type KafkaConnectionConfig, type Registry, silentLogger } from '@kansoku/kit';
import { createKafkaProducer } from '@kansoku/kit/kafka/index';
import { Value } from '@sinclair/typebox/value';

export interface OurCollectorOptions {
  kafka: KafkaConnectionConfig;
  topic: string;
  recvBufferSize: number;
  producerMaxBatchMessages?: number;
  producerLingerMs?: number;
  registry?: Registry;
}

export interface OurCollector {
  collector: FlowsCollector;
  registry: Registry;
  /** The UDP port of the IPFIX listener. */
  ipfixPort: number;
  /** Waits until every accepted record is acknowledged or failed (or `timeoutMs` passes). */
  settle(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startOurCollector(options: OurCollectorOptions): Promise<OurCollector> {
  const registry = options.registry ?? createMetricsRegistry({ processMetrics: false });
  const log = silentLogger();
  const producer = createKafkaProducer(
    options.kafka,
    { maxBatchMessages: options.producerMaxBatchMessages ?? 1000, lingerMs: options.producerLingerMs ?? 5 },
    { log, metrics: registry },
  );
  await producer.start();
  const defaults = Value.Default(flowsCollectorSchema, {}) as FlowsCollectorConfig;
  const collector = createFlowsCollector(
    {
      ...defaults,
      netflowPort: 0,
      ipfixPort: 0,
      ipfixTcpPort: 0,
      sflowPort: 0,
      stateFile: '',
      topic: options.topic,
      recvBufferSize: options.recvBufferSize,
    },
    { producer, log, metrics: registry },
  );
  await collector.start();
  const ipfix = collector.endpoints().find((e) => e.kind === 'ipfix');
  if (ipfix === undefined) throw new Error('the collector has no IPFIX listener');
  return {
    collector,
    registry,
    ipfixPort: ipfix.port,
    async settle(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (collector.queuedRecords() > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      await collector.stop();
      await producer.stop();
    },
  };
}
