/**
 * The ingest ledger makes Kafka → ClickHouse writes exactly-once.
 *
 * For each batch a sink writes, in order: (1) an intent row naming the partition and offset range
 * [first, last] with a token, (2) the rows, inserted with that token as ClickHouse's
 * insert_deduplication_token, (3) the Kafka commit of last + 1. A process killed anywhere in
 * between restarts from the committed offset, finds the intent, and re-reads exactly the same
 * range before flushing: the same rows with the same token are deduplicated by ClickHouse if they
 * had landed, and inserted if they had not. Nothing is lost and nothing is counted twice.
 */
import type { Migration } from './migrations.ts';
import type { Warehouse } from './warehouse.ts';

export interface LedgerIntent {
  first: bigint;
  last: bigint;
  token: string;
}

export const ingestLedgerMigration: Migration = {
  id: 'kit/0001_ingest_ledger',
  description: 'Offset ranges written by each consumer group, for exactly-once sinks',
  statements: [
    `CREATE TABLE IF NOT EXISTS {{db}}.kansoku_ingest_ledger (
      consumer_group LowCardinality(String),
      topic LowCardinality(String),
      partition UInt32,
      first_offset UInt64,
      last_offset UInt64,
      token String,
      written_at DateTime64(3) DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree(last_offset)
    ORDER BY (consumer_group, topic, partition)`,
  ],
};

export function ledgerToken(
  group: string,
  topic: string,
  partition: number,
  first: bigint,
  last: bigint,
): string {
  return `${group}:${topic}:${partition}:${first}-${last}`;
}

export async function latestIntent(
  warehouse: Warehouse,
  group: string,
  topic: string,
  partition: number,
): Promise<LedgerIntent | undefined> {
  const rows = await warehouse.query<{
    first_offset: string | number;
    last_offset: string | number;
    token: string;
  }>(
    `SELECT first_offset, last_offset, token FROM {{db}}.kansoku_ingest_ledger FINAL
     WHERE consumer_group = {group:String} AND topic = {topic:String} AND partition = {partition:UInt32}`,
    { group, topic, partition },
  );
  const row = rows[0];
  if (!row) return undefined;
  return { first: BigInt(row.first_offset), last: BigInt(row.last_offset), token: row.token };
}

export async function writeIntent(
  warehouse: Warehouse,
  group: string,
  topic: string,
  partition: number,
  intent: LedgerIntent,
): Promise<void> {
  await warehouse.insert('{{db}}.kansoku_ingest_ledger', [
    {
      consumer_group: group,
      topic,
      partition,
      first_offset: intent.first.toString(),
      last_offset: intent.last.toString(),
      token: intent.token,
    },
  ]);
}
