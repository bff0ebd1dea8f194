import type { Migration } from '@kansoku/kit';

/**
 * The flows tables. Every one takes the processor's exactly-once inserts (kit's warehouse sink: one
 * insert per table per batch, all with the batch's dedup token), so every one has a
 * `non_replicated_deduplication_window`: a replayed batch is recognised by its token and dropped.
 *
 * - `flows_raw`: every record's main fields, for drill-down (top talkers, the flows behind a spike).
 *   Kept a few days only: at the rates the collector takes this is by far the biggest table.
 * - `flows_traffic_1m` and `flows_traffic_1h`: the same sums of bytes, packets and flows per
 *   (bucket, exporter, in/out interface, IP version, protocol, source port, application, source AS,
 *   destination AS), per minute and per hour. These dimensions are what the report's figures are
 *   drawn from (Fig. 6 IP version; Fig. 7, 8 source AS; Fig. 9, 10 protocol and source port;
 *   Fig. 11–13 time buckets) plus exporter and interface for top talkers. Source ports are folded
 *   (see `rollupSourcePort`) so the key stays bounded.
 *
 * SummingMergeTree adds up rows with the same key during merges, which are eventual: each batch
 * inserts its partial sums and queries always `sum()`.
 *
 * The 1-hour rollup is written by the sink, not by a materialized view over the 1-minute table:
 * with the sink writing it, exactly-once rests on one mechanism for every table (the batch's
 * token and the table's own deduplication window). A view would deduplicate a replay only when the
 * inserting query runs with `deduplicate_blocks_in_dependent_materialized_views = 1`. chDB 26.7
 * has that on by default and a replayed insert is dropped in the view's target too (the flows
 * tests check it), but it is a query/profile setting of the ClickHouse server we do not control
 * when a URL is configured, it was off by default for years, and it is ignored for async inserts
 * without `async_insert_deduplicate`. The cost of writing it ourselves is one small insert per
 * batch (an hour's cells are never more than the minute cells they sum).
 */

/** Days of raw flows kept (drill-down only). */
export const RAW_RETENTION_DAYS = 3;
/** Days of the 1-minute rollup: a month at full resolution (Fig. 13 is one month of days). */
export const MINUTE_RETENTION_DAYS = 35;
/** Days of the 1-hour rollup: two years and more, for year-on-year comparisons. */
export const HOUR_RETENTION_DAYS = 800;

export const FLOWS_RAW_TABLE = '{{db}}.flows_raw';
export const FLOWS_1M_TABLE = '{{db}}.flows_traffic_1m';
export const FLOWS_1H_TABLE = '{{db}}.flows_traffic_1h';

/** Replays are recognised among this many recent inserts per table. */
const DEDUP_WINDOW = 10_000;

function rollupTable(table: string, partition: string, retentionDays: number): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
        time DateTime('UTC'),
        exporter LowCardinality(String),
        in_interface UInt32,
        out_interface UInt32,
        ip_version UInt8,
        protocol UInt8,
        src_port UInt16,
        application LowCardinality(String),
        src_as UInt32,
        dst_as UInt32,
        bytes UInt64,
        packets UInt64,
        flows UInt64
      ) ENGINE = SummingMergeTree((bytes, packets, flows))
      PARTITION BY ${partition}
      ORDER BY (time, exporter, ip_version, protocol, src_port, application, src_as, dst_as, in_interface, out_interface)
      TTL time + INTERVAL ${retentionDays} DAY
      SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}, ttl_only_drop_parts = 1`;
}

export const flowsMigrations: Migration[] = [
  {
    id: 'flows/0001_traffic_rollups',
    description: 'Raw flows (days) and traffic rollups per minute and per hour',
    statements: [
      `CREATE TABLE IF NOT EXISTS ${FLOWS_RAW_TABLE} (
        time_received DateTime64(3, 'UTC'),
        time_flow_start DateTime64(3, 'UTC'),
        time_flow_end DateTime64(3, 'UTC'),
        exporter LowCardinality(String),
        observation_domain_id UInt32,
        flow_protocol UInt8,
        in_interface UInt32,
        out_interface UInt32,
        direction UInt8,
        ip_version UInt8,
        src_address String,
        dst_address String,
        src_prefix_length UInt8,
        dst_prefix_length UInt8,
        src_port UInt16,
        dst_port UInt16,
        protocol UInt8,
        tcp_flags UInt16,
        bytes UInt64,
        packets UInt64,
        sampling_rate UInt32,
        raw_bytes UInt64,
        raw_packets UInt64,
        src_as UInt32,
        dst_as UInt32,
        next_hop String,
        src_vlan_id UInt16,
        dst_vlan_id UInt16,
        application LowCardinality(String)
      ) ENGINE = MergeTree
      PARTITION BY toDate(time_received)
      ORDER BY (time_received, exporter)
      TTL toDateTime(time_received) + INTERVAL ${RAW_RETENTION_DAYS} DAY
      SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}, ttl_only_drop_parts = 1`,
      rollupTable(FLOWS_1M_TABLE, 'toDate(time)', MINUTE_RETENTION_DAYS),
      rollupTable(FLOWS_1H_TABLE, 'toYYYYMM(time)', HOUR_RETENTION_DAYS),
    ],
  },
];
