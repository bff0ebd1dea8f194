/**
 * The exactly-once sink against a real broker and the embedded ClickHouse. Crashes are
 * reproduced by leaving the ledger and the table exactly as a process killed at that point would
 * have left them (intent written, rows maybe inserted, offset not committed), then starting a sink.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaAdmin, createKafkaConsumer, createKafkaProducer } from '../../src/kafka/index.ts';
import type { IncomingMessage, KafkaAdmin, KafkaProducer } from '../../src/kafka/types.ts';
import { silentLogger } from '../../src/log.ts';
import { createMetricsRegistry } from '../../src/metrics.ts';
import { createWarehouseSink, type SinkRows } from '../../src/pipeline/warehouse-sink.ts';
import { openTestWarehouse, type TestWarehouse } from '../../src/testing/warehouse.ts';
import { ingestLedgerMigration, ledgerToken, writeIntent } from '../../src/warehouse/ingest-ledger.ts';
import { migrate } from '../../src/warehouse/migrations.ts';
import type { Warehouse } from '../../src/warehouse/warehouse.ts';

const log = silentLogger();
const brokers = (process.env.KANSOKU_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const connection = { brokers, clientId: 'kansoku-sink-test' };

/** Each message's value is a decimal number; the sink sums them per key into one row per key. */
const decode = (m: IncomingMessage) => ({ key: m.key?.toString() ?? '', n: Number(m.value.toString()) });
const aggregate = (items: { key: string; n: number }[]): SinkRows[] => {
  const sums = new Map<string, { n: number; c: number }>();
  for (const item of items) {
    const s = sums.get(item.key) ?? { n: 0, c: 0 };
    s.n += item.n;
    s.c += 1;
    sums.set(item.key, s);
  }
  const rows = [...sums.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, s]) => ({ k, n: s.n, c: s.c }));
  return [{ table: '{{db}}.sink_test', rows }];
};

describe('warehouse sink (exactly once)', () => {
  let db: TestWarehouse | undefined;
  let warehouse: Warehouse;
  let admin: KafkaAdmin;
  let producer: KafkaProducer;
  const topics: string[] = [];

  beforeAll(async () => {
    db = await openTestWarehouse({ prefix: 'kansoku-sink-' });
    const { metrics } = db;
    warehouse = db.warehouse;
    await migrate(
      warehouse,
      [
        ingestLedgerMigration,
        {
          id: 'test/0001_sink_test',
          description: 'sums per key',
          statements: [
            `CREATE TABLE IF NOT EXISTS {{db}}.sink_test (k String, n UInt64, c UInt64)
             ENGINE = SummingMergeTree ORDER BY k SETTINGS non_replicated_deduplication_window = 1000`,
          ],
        },
      ],
      { log },
    );
    admin = createKafkaAdmin(connection);
    producer = createKafkaProducer(connection, { maxBatchMessages: 500, lingerMs: 2 }, { log, metrics });
    await producer.start();
  });

  afterAll(async () => {
    await producer?.stop();
    if (topics.length > 0) await admin?.deleteTopics(topics);
    await admin?.close();
    await db?.close();
  });

  /** A one-partition topic holding values 1..count under key `key`. */
  async function topicWith(key: string, count: number): Promise<string> {
    const topic = `test-${randomUUID()}`;
    topics.push(topic);
    await admin.ensureTopics([{ name: topic, partitions: 1, retentionMs: 3_600_000 }]);
    const messages = Array.from({ length: count }, (_, i) => ({ key, value: Buffer.from(String(i + 1)) }));
    await producer.send(topic, messages);
    return topic;
  }

  async function runSinkUntil(topic: string, group: string, key: string, expectedCount: number) {
    const metrics = createMetricsRegistry({ processMetrics: false });
    const consumer = createKafkaConsumer(
      connection,
      { groupId: group, topics: [topic], fromBeginning: true, maxBytes: 1024 * 1024 },
      { log, metrics },
    );
    const sink = createWarehouseSink(
      { name: 'test', groupId: group, maxBatchMessages: 40, maxBatchDelayMs: 100, decode, aggregate },
      { consumer, warehouse, log, metrics },
    );
    await sink.start();
    const deadline = Date.now() + 60_000;
    let row: { n: number; c: number } | undefined;
    while (Date.now() < deadline) {
      row = await sumOf(key);
      if (row.c >= expectedCount) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await sink.stop();
    const replays = (await metrics.getSingleMetric('kansoku_sink_flushes_total')?.get())?.values.find(
      (v) => v.labels.kind === 'replay',
    )?.value;
    return { row: await sumOf(key), replays: replays ?? 0 };
  }

  async function sumOf(key: string) {
    const [row] = await warehouse.query<{ n: string; c: string }>(
      'SELECT sum(n) AS n, sum(c) AS c FROM {{db}}.sink_test WHERE k = {k:String}',
      { k: key },
    );
    return { n: Number(row?.n ?? 0), c: Number(row?.c ?? 0) };
  }

  const sumTo = (count: number) => (count * (count + 1)) / 2;

  it('writes every message once', async () => {
    const key = `k-${randomUUID()}`;
    const topic = await topicWith(key, 500);
    const { row } = await runSinkUntil(topic, `g-${randomUUID()}`, key, 500);
    expect(row).toEqual({ n: sumTo(500), c: 500 });
  });

  it('replays a range whose rows landed but whose offset was not committed, without counting it twice', async () => {
    const key = `k-${randomUUID()}`;
    const group = `g-${randomUUID()}`;
    const topic = await topicWith(key, 300);
    // What a process killed between the insert and the commit leaves: intent + rows for offsets 0..99.
    const token = ledgerToken(group, topic, 0, 0n, 99n);
    await writeIntent(warehouse, group, topic, 0, { first: 0n, last: 99n, token });
    const firstHundred = Array.from({ length: 100 }, (_, i) => ({ key, n: i + 1 }));
    for (const out of aggregate(firstHundred))
      await warehouse.insert(out.table, out.rows, { dedupToken: token });

    const { row, replays } = await runSinkUntil(topic, group, key, 300);
    expect(replays).toBe(1);
    expect(row).toEqual({ n: sumTo(300), c: 300 });
  });

  it('replays a range whose intent was written but whose rows never landed', async () => {
    const key = `k-${randomUUID()}`;
    const group = `g-${randomUUID()}`;
    const topic = await topicWith(key, 200);
    await writeIntent(warehouse, group, topic, 0, {
      first: 0n,
      last: 149n,
      token: ledgerToken(group, topic, 0, 0n, 149n),
    });

    const { row, replays } = await runSinkUntil(topic, group, key, 200);
    expect(replays).toBe(1);
    expect(row).toEqual({ n: sumTo(200), c: 200 });
  });

  it('counts malformed messages and skips them without blocking the partition', async () => {
    const key = `k-${randomUUID()}`;
    const topic = `test-${randomUUID()}`;
    topics.push(topic);
    await admin.ensureTopics([{ name: topic, partitions: 1, retentionMs: 3_600_000 }]);
    await producer.send(topic, [
      { key, value: Buffer.from('5') },
      { key, value: Buffer.from('not a number') },
      { key, value: Buffer.from('7') },
    ]);
    const strictDecode = (m: IncomingMessage) => {
      const n = Number(m.value.toString());
      if (!Number.isFinite(n)) throw new Error('not a number');
      return { key: m.key?.toString() ?? '', n };
    };
    const metrics = createMetricsRegistry({ processMetrics: false });
    const group = `g-${randomUUID()}`;
    const consumer = createKafkaConsumer(
      connection,
      { groupId: group, topics: [topic], fromBeginning: true, maxBytes: 1024 * 1024 },
      { log, metrics },
    );
    const sink = createWarehouseSink(
      {
        name: 'strict',
        groupId: group,
        maxBatchMessages: 10,
        maxBatchDelayMs: 50,
        decode: strictDecode,
        aggregate,
      },
      { consumer, warehouse, log, metrics },
    );
    await sink.start();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await sumOf(key)).c < 2) await new Promise((r) => setTimeout(r, 100));
    await sink.stop();
    expect(await sumOf(key)).toEqual({ n: 12, c: 2 });
    const outcomes = (await metrics.getSingleMetric('kansoku_sink_messages_total')?.get())?.values ?? [];
    expect(outcomes.find((v) => v.labels.outcome === 'malformed')?.value).toBe(1);
  });
});
