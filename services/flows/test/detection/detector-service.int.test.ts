/**
 * The flows detector on real parts: flow records produced to Kafka, the detector consuming them with its own
 * group, and the detection arriving on a real NATS subscription.
 */
import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { encode, flows, flowsV2, topics } from '@kansoku/contracts';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import {
  createMetricsRegistry,
  createNats,
  createNatsDetectionEmitter,
  type Detection,
  type Nats,
  silentLogger,
} from '@kansoku/kit';
import { createKafkaAdmin, createKafkaConsumer, createKafkaProducer } from '@kansoku/kit/kafka/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowsDetector } from '../../src/detection/detector-service.ts';

const log = silentLogger();
const brokers = (process.env.KANSOKU_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const servers = (process.env.KANSOKU_NATS_SERVERS ?? '127.0.0.1:4222').split(',');
const connection = { brokers, clientId: 'kansoku-detector-test' };

function record(dst: string, bytes: number, timeMs: number) {
  return create(flows.FlowRecordSchema, {
    timeReceivedNs: BigInt(timeMs) * 1_000_000n,
    exporterAddress: parseIpAddress('192.0.2.1'),
    ipVersion: flows.IpVersion.V4,
    srcAddress: parseIpAddress('198.51.100.9'),
    dstAddress: parseIpAddress(dst),
    protocol: 17,
    bytes: BigInt(bytes),
    packets: BigInt(Math.ceil(bytes / 1000)),
    samplingRate: 1,
  });
}

describe('flows detector service', () => {
  const topic = `test-${randomUUID()}`;
  const admin = createKafkaAdmin(connection);
  const metrics = createMetricsRegistry({ processMetrics: false });
  const producer = createKafkaProducer(connection, { maxBatchMessages: 1000, lingerMs: 2 }, { log, metrics });
  let nats: Nats;

  beforeAll(async () => {
    await admin.ensureTopics([{ name: topic, partitions: 1, retentionMs: 3_600_000 }]);
    await producer.start();
    nats = createNats({ servers, name: 'detector-test', token: '', connectTimeoutMs: 5000 }, { log });
    await nats.start();
  });
  afterAll(async () => {
    await producer.stop();
    await nats?.stop();
    await admin.deleteTopics([topic]);
    await admin.close();
  });

  it('publishes a firing and then a resolved volumetric-ddos detection on NATS', async () => {
    const received: Detection[] = [];
    const subscription = nats.connection().subscribe('kansoku.detections.flows.>', {
      callback: (_error, message) => {
        received.push(message.json<Detection>());
      },
    });
    const consumer = createKafkaConsumer(
      connection,
      { groupId: `test-${randomUUID()}`, topics: [topic], fromBeginning: true, maxBytes: 1024 * 1024 },
      { log, metrics },
    );
    const detector = createFlowsDetector(
      {
        ddos: {
          windowSeconds: 10,
          minBps: 1e9,
          minPps: 1e7,
          factor: 4,
          forWindows: 2,
          resolveWindows: 2,
          maxDestinations: 10_000,
          maxBaselines: 1000,
          baselineAlpha: 0.1,
          learningSeconds: 0,
        },
        exporterSilence: { silentAfterSeconds: 3600, minRecordsPerMinute: 10, maxExporters: 100 },
        tickMs: 100,
      },
      { consumer, emitter: createNatsDetectionEmitter(nats, { log, metrics }), log, metrics },
    );
    await detector.start();

    // 40 s of record time: 5 Gbps toward the victim for 30 s, 10 Mbps to a neighbour throughout, then quiet.
    const t0 = Date.UTC(2026, 0, 5, 10);
    const messages = [];
    for (let ms = 0; ms < 60_000; ms += 100) {
      const batch = [record('203.0.113.10', 125_000, t0 + ms)];
      if (ms < 30_000) batch.push(record('203.0.113.66', 62_500_000, t0 + ms));
      // One message per exporter packet, as the collector publishes them.
      const message = create(flowsV2.FlowRecordBatchSchema, { records: batch });
      messages.push({ key: topics.flowRecords.key.of(message), value: encode(topics.flowRecords, message) });
    }
    await producer.send(topic, messages);

    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !received.some((d) => d.status === 'resolved')) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await detector.stop();
    subscription.unsubscribe();

    const firing = received.filter((d) => d.name === 'volumetric-ddos' && d.status === 'firing');
    expect(firing.length).toBeGreaterThan(0);
    expect(firing[0]?.labels.destination).toBe('203.0.113.66');
    expect(firing[0]?.startsAt).toBe(t0);
    expect(received.every((d) => d.labels.destination !== '203.0.113.10')).toBe(true);
    const resolved = received.filter((d) => d.status === 'resolved');
    expect(resolved).toHaveLength(1);
    expect(resolved[0]?.labels.destination).toBe('203.0.113.66');
  });
});
