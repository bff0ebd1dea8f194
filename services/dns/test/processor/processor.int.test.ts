/**
 * The DNS processor on real parts: DnsQuery records produced to the running Kafka, the processor's consumer
 * group writing into an embedded ClickHouse, and the rollups and raw rows counted. A second processor on the
 * same group after a stop must not add anything (offsets committed after the exactly-once write).
 */
import { randomUUID } from 'node:crypto';
import { create, toBinary } from '@bufbuild/protobuf';
import { DnsQuerySchema, DnsTransport, IpVersion } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { DnsQueryBatchSchema } from '@kansoku/contracts/gen/kansoku/dns/v2/dns_pb';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { createMetricsRegistry, ingestLedgerMigration, migrate, silentLogger } from '@kansoku/kit';
import { createKafkaAdmin, createKafkaConsumer, createKafkaProducer } from '@kansoku/kit/kafka/index';
import { openTestWarehouse, type TestWarehouse } from '@kansoku/kit/testing/warehouse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnsProcessor } from '../../src/processor/processor.ts';
import { dnsMigrations } from '../../src/tables.ts';

const log = silentLogger();
const brokers = (process.env.KANSOKU_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const connection = { brokers, clientId: 'kansoku-dns-processor-test' };
const N = 5000;

describe('dns processor', () => {
  const topic = `test-${randomUUID()}`;
  const groupId = `test-${randomUUID()}`;
  const admin = createKafkaAdmin(connection);
  let tw: TestWarehouse;

  beforeAll(async () => {
    await admin.ensureTopics([{ name: topic, partitions: 2, retentionMs: 3_600_000 }]);
    tw = await openTestWarehouse({ prefix: 'kansoku-dns-proc-' });
    await migrate(tw.warehouse, [ingestLedgerMigration, ...dnsMigrations], { log });
  }, 60_000);
  afterAll(async () => {
    await tw?.close();
    await admin.deleteTopics([topic]);
    await admin.close();
  });

  // Each processor gets its own registry: a restarted process starts with fresh metrics.
  const processor = (metrics = createMetricsRegistry({ processMetrics: false })) =>
    createDnsProcessor(
      { groupId, maxBatchMessages: 700, maxBatchDelayMs: 200, rawSampleOneIn: 1 },
      {
        consumer: createKafkaConsumer(
          connection,
          { groupId, topics: [topic], fromBeginning: true, maxBytes: 1024 * 1024 },
          { log, metrics },
        ),
        warehouse: tw.warehouse,
        log,
        metrics,
      },
    );

  const count = async (sql: string) => Number((await tw.warehouse.query<{ n: string }>(sql))[0]?.n ?? 0);

  it('writes every query once into every table', async () => {
    const producer = createKafkaProducer(
      connection,
      { maxBatchMessages: 1000, lingerMs: 2 },
      { log, metrics: tw.metrics },
    );
    await producer.start();
    const now = Date.now();
    const messages = Array.from({ length: N }, (_, i) => {
      const v6 = i % 5 === 0;
      const client = v6 ? `2001:db8::${(i % 300).toString(16)}` : `10.1.${(i >> 8) & 0xff}.${i & 0xff}`;
      const q = create(DnsQuerySchema, {
        timeQueryNs: BigInt(now - 60_000 + (i % 1000)) * 1_000_000n,
        clientAddress: parseIpAddress(client),
        ipVersion: v6 ? IpVersion.V6 : IpVersion.V4,
        transport: DnsTransport.UDP,
        messageId: i & 0xffff,
        qname: `host${i % 50}.example.jp.`,
        qtype: i % 3 === 0 ? 28 : 1,
        qclass: 1,
        responseSeen: true,
        rcode: i % 10 === 0 ? 3 : 0,
        responseTimeUs: 500n,
        resolverIdentity: 'test-resolver',
      });
      // One query per message here (batches of one): the processor reads any batch size.
      return {
        key: Buffer.from(parseIpAddress(client)),
        value: toBinary(DnsQueryBatchSchema, create(DnsQueryBatchSchema, { queries: [q] })),
      };
    });
    await producer.send(topic, messages);
    await producer.stop();

    const first = processor();
    await first.start();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if ((await count('SELECT sum(queries) AS n FROM {{db}}.dns_queries_1m')) >= N) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await first.stop();
    const second = processor();
    await second.start();
    await new Promise((r) => setTimeout(r, 3000));
    await second.stop();

    for (const table of [
      'dns_queries_1m',
      'dns_queries_1h',
      'dns_clients_1m',
      'dns_clients_1h',
      'dns_zones_1h',
    ]) {
      expect(await count(`SELECT sum(queries) AS n FROM {{db}}.${table}`), table).toBe(N);
    }
    expect(await count('SELECT count() AS n FROM {{db}}.dns_queries_raw')).toBe(N);
    expect(await count('SELECT sum(queries) AS n FROM {{db}}.dns_queries_1m WHERE qtype = 28')).toBe(
      Math.ceil(N / 3),
    );
    expect(await count('SELECT sum(queries) AS n FROM {{db}}.dns_queries_1h WHERE ip_version = 6')).toBe(
      N / 5,
    );
    expect(await count('SELECT sum(nxdomain) AS n FROM {{db}}.dns_clients_1h')).toBe(N / 10);
    expect(await count("SELECT sum(queries) AS n FROM {{db}}.dns_zones_1m WHERE zone = 'example.jp.'")).toBe(
      N,
    );
  }, 120_000);
});
