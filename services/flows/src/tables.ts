import type { Migration } from '@kansoku/kit';

/**
 * Per-minute traffic rollup. SummingMergeTree adds up rows with the same key, so each batch
 * inserts its partial sums and queries still `sum()` (merges are eventual). The deduplication
 * window lets the exactly-once sink replay a batch safely.
 */
export const flowsMigrations: Migration[] = [
  {
    id: 'flows/0001_traffic_1m',
    description: 'Per-minute traffic by exporter, IP version, protocol and application',
    statements: [
      `CREATE TABLE IF NOT EXISTS {{db}}.flows_traffic_1m (
        minute DateTime('UTC'),
        exporter LowCardinality(String),
        ip_version UInt8,
        protocol UInt8,
        application LowCardinality(String),
        bytes UInt64,
        packets UInt64,
        flows UInt64
      ) ENGINE = SummingMergeTree((bytes, packets, flows))
      ORDER BY (minute, exporter, ip_version, protocol, application)
      TTL minute + INTERVAL 400 DAY
      SETTINGS non_replicated_deduplication_window = 10000`,
    ],
  },
];
