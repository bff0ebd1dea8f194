/**
 * The DNS detector on real parts: DnsQuery records produced to Kafka (a random-subdomain NXDOMAIN flood under
 * one zone, mixed with ordinary answers), the detector consuming them with its own group, and the detection
 * arriving on a real NATS subscription.
 */
import { randomUUID } from 'node:crypto';
import { create, toBinary } from '@bufbuild/protobuf';
import { DnsQuerySchema, IpVersion } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { DnsQueryBatchSchema } from '@kansoku/contracts/gen/kansoku/dns/v2/dns_pb';
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
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDnsDetector,
  type DnsDetectorConfig,
  dnsDetectorSchema,
} from '../../src/detection/detector-service.ts';

const log = silentLogger();
const brokers = (process.env.KANSOKU_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const servers = (process.env.KANSOKU_NATS_SERVERS ?? '127.0.0.1:4222').split(',');
const connection = { brokers, clientId: 'kansoku-dns-detector-test' };
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

describe('dns detector service', () => {
  const topic = `test-${randomUUID()}`;
  const admin = createKafkaAdmin(connection);
  const metrics = createMetricsRegistry({ processMetrics: false });
  const producer = createKafkaProducer(connection, { maxBatchMessages: 1000, lingerMs: 2 }, { log, metrics });
  let nats: Nats;

  beforeAll(async () => {
    await admin.ensureTopics([{ name: topic, partitions: 1, retentionMs: 3_600_000 }]);
    await producer.start();
    nats = createNats({ servers, name: 'dns-detector-test', token: '', connectTimeoutMs: 5000 }, { log });
    await nats.start();
  });
  afterAll(async () => {
    await producer.stop();
    await nats?.stop();
    await admin.deleteTopics([topic]);
    await admin.close();
  });

  it('publishes a random-subdomain detection on NATS for a flood in the records', async () => {
    const received: Detection[] = [];
    const subscription = nats.connection().subscribe('kansoku.detections.dns.>', {
      callback: (_error, message) => {
        received.push(message.json<Detection>());
      },
    });
    const config = Value.Default(dnsDetectorSchema, {}) as DnsDetectorConfig & { groupId: string };
    config.randomSubdomain.windowSeconds = 10;
    config.tickMs = 100;
    const groupId = `test-${randomUUID()}`;
    const consumer = createKafkaConsumer(
      connection,
      { groupId, topics: [topic], fromBeginning: true, maxBytes: 1024 * 1024 },
      { log, metrics },
    );
    const detector = createDnsDetector(config, {
      consumer,
      emitter: createNatsDetectionEmitter(nats, { log, metrics }),
      log,
      metrics,
    });
    await detector.start();
    // 40 s of record time ending now: 30 random NXDOMAIN names a second under victim.example.jp.
    const start = Date.now() - 40_000;
    let seed = 1;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const messages = [];
    for (let s = 0; s < 40; s++) {
      for (let k = 0; k < 35; k++) {
        const flood = k < 30;
        let label = '';
        for (let i = 0; i < 12; i++) label += ALNUM[Math.floor(random() * 36)];
        const q = create(DnsQuerySchema, {
          timeQueryNs: BigInt(start + s * 1000 + k) * 1_000_000n,
          clientAddress: parseIpAddress(`198.51.100.${1 + (k % 200)}`),
          ipVersion: IpVersion.V4,
          qname: flood ? `${label}.victim.example.jp.` : 'www.example.com.',
          qtype: 1,
          responseSeen: true,
          rcode: flood ? 3 : 0,
          resolverIdentity: 'r1',
        });
        messages.push({
          value: Buffer.from(toBinary(DnsQueryBatchSchema, create(DnsQueryBatchSchema, { queries: [q] }))),
        });
      }
    }
    await producer.send(topic, messages);
    const deadline = Date.now() + 30_000;
    while (!received.some((d) => d.name === 'random-subdomain-attack') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    await detector.stop();
    subscription.unsubscribe();
    const flood = received.find((d) => d.name === 'random-subdomain-attack');
    expect(flood).toMatchObject({
      domain: 'dns',
      status: 'firing',
      severity: 'critical',
      labels: { zone: 'example.jp.' },
    });
    expect(flood?.value).toBeCloseTo(30, 0);
    expect(received.filter((d) => d.name !== 'random-subdomain-attack')).toEqual([]);
  }, 60_000);
});
