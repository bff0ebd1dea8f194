import type { Migration } from '@kansoku/kit';

/**
 * The DNS tables. Every one takes the processor's exactly-once inserts (kit's warehouse sink: one insert per
 * table per batch, all with the batch's dedup token), so every one has `non_replicated_deduplication_window`.
 *
 * - `dns_queries_raw`: one row per query (optionally 1 in N, deterministic by query; `sample_one_in` says
 *   how many each row stands for), for drill-down and the top query names. Kept two days: at resolver rates
 *   this is by far the biggest table, and no figure is computed from it beyond that.
 * - `dns_queries_1m` / `_1h`: queries, bytes and a latency histogram per (bucket, resolver, IP version,
 *   transport protocol, qtype, answered, rcode): the query-type mix by transport (Fig. 3, 4), rcodes and
 *   latency. The key is small and bounded (qtype and rcode are 16-bit, in practice a few dozen values).
 * - `dns_clients_1m` / `_1h`: one row per (bucket, resolver, IP version, client address) with the client's
 *   query counts (all, A, AAAA, NXDOMAIN, SERVFAIL). This is what "queries per second per source IP" needs:
 *   the average over sources (queries ÷ sources ÷ seconds), its distribution over sources (quantiles of
 *   per-client counts) and the share of sources asking A or AAAA are all exact sums and counts over these
 *   rows. A uniq state (HyperLogLog) would give the number of sources but never a per-source distribution;
 *   a per-client row does both. Cardinality: one row per active client and bucket, so at the report's
 *   ~0.08 queries/s per source an hour row stands for ~290 queries and a minute row for ~5. The minute table
 *   is therefore kept only a few days (recent top clients, detection drill-down); the hourly one a quarter.
 * - `dns_zones_1m` / `_1h`: queries and rcodes per registered domain (public-suffix aware: `example.co.jp.`)
 *   for top zones and NXDOMAIN by zone over long ranges. Random-subdomain floods stay one row per zone.
 *
 * All rollups are SummingMergeTree written by the sink, partial sums per batch, always read with `sum()`.
 * They are not AggregatingMergeTree views over the raw table: the raw table may be sampled, every table keeps
 * one exactly-once mechanism (the batch token, see flows/tables.ts for why not view deduplication), and
 * nothing here needs a state that a sum of per-client rows cannot give exactly.
 */

export const RAW_RETENTION_DAYS = 2;
export const MINUTE_RETENTION_DAYS = 35;
export const HOUR_RETENTION_DAYS = 800;
export const CLIENT_MINUTE_RETENTION_DAYS = 3;
export const CLIENT_HOUR_RETENTION_DAYS = 92;

export const DNS_RAW_TABLE = '{{db}}.dns_queries_raw';
export const DNS_1M_TABLE = '{{db}}.dns_queries_1m';
export const DNS_1H_TABLE = '{{db}}.dns_queries_1h';
export const DNS_CLIENTS_1M_TABLE = '{{db}}.dns_clients_1m';
export const DNS_CLIENTS_1H_TABLE = '{{db}}.dns_clients_1h';
export const DNS_ZONES_1M_TABLE = '{{db}}.dns_zones_1m';
export const DNS_ZONES_1H_TABLE = '{{db}}.dns_zones_1h';

/**
 * Latency histogram: bucket b holds response times t (µs) with floor(4·log2(t + 1)) = b, i.e. four buckets
 * per doubling (±9% around a bucket's middle); 0 is "under 1 µs", 135 covers beyond an hour.
 */
export const LATENCY_BUCKETS_PER_OCTAVE = 4;

const DEDUP_WINDOW = 10_000;
const SETTINGS = `SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}, ttl_only_drop_parts = 1`;

function queriesRollup(table: string, partition: string, days: number): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
        time DateTime('UTC'),
        resolver LowCardinality(String),
        ip_version UInt8,
        protocol UInt8,
        qtype UInt16,
        answered UInt8,
        rcode UInt16,
        queries UInt64,
        truncated UInt64,
        query_bytes UInt64,
        response_bytes UInt64,
        response_time_us UInt64,
        latency Map(UInt8, UInt64)
      ) ENGINE = SummingMergeTree((queries, truncated, query_bytes, response_bytes, response_time_us, latency))
      PARTITION BY ${partition}
      ORDER BY (time, resolver, ip_version, protocol, qtype, answered, rcode)
      TTL time + INTERVAL ${days} DAY
      ${SETTINGS}`;
}

function clientsRollup(table: string, partition: string, days: number): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
        time DateTime('UTC'),
        resolver LowCardinality(String),
        ip_version UInt8,
        client String,
        queries UInt64,
        a_queries UInt64,
        aaaa_queries UInt64,
        nxdomain UInt64,
        servfail UInt64
      ) ENGINE = SummingMergeTree((queries, a_queries, aaaa_queries, nxdomain, servfail))
      PARTITION BY ${partition}
      ORDER BY (time, resolver, ip_version, client)
      TTL time + INTERVAL ${days} DAY
      ${SETTINGS}`;
}

function zonesRollup(table: string, partition: string, days: number): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
        time DateTime('UTC'),
        resolver LowCardinality(String),
        zone String,
        queries UInt64,
        nxdomain UInt64,
        servfail UInt64
      ) ENGINE = SummingMergeTree((queries, nxdomain, servfail))
      PARTITION BY ${partition}
      ORDER BY (time, resolver, zone)
      TTL time + INTERVAL ${days} DAY
      ${SETTINGS}`;
}

export const dnsMigrations: Migration[] = [
  {
    id: 'dns/0001_query_rollups',
    description: 'Raw DNS queries (days), query/client/zone rollups per minute and per hour',
    statements: [
      `CREATE TABLE IF NOT EXISTS ${DNS_RAW_TABLE} (
        time_query DateTime64(3, 'UTC'),
        resolver LowCardinality(String),
        client String,
        client_port UInt16,
        server String,
        ip_version UInt8,
        protocol UInt8,
        message_id UInt16,
        qname String,
        zone String,
        qtype UInt16,
        recursion_desired UInt8,
        dnssec_ok UInt8,
        answered UInt8,
        rcode UInt16,
        response_time_us UInt64,
        query_bytes UInt32,
        response_bytes UInt32,
        answer_count UInt16,
        truncated UInt8,
        source UInt8,
        sample_one_in UInt32
      ) ENGINE = MergeTree
      PARTITION BY toDate(time_query)
      ORDER BY (time_query, resolver)
      TTL toDateTime(time_query) + INTERVAL ${RAW_RETENTION_DAYS} DAY
      ${SETTINGS}`,
      queriesRollup(DNS_1M_TABLE, 'toDate(time)', MINUTE_RETENTION_DAYS),
      queriesRollup(DNS_1H_TABLE, 'toYYYYMM(time)', HOUR_RETENTION_DAYS),
      clientsRollup(DNS_CLIENTS_1M_TABLE, 'toDate(time)', CLIENT_MINUTE_RETENTION_DAYS),
      clientsRollup(DNS_CLIENTS_1H_TABLE, 'toYYYYMMDD(time)', CLIENT_HOUR_RETENTION_DAYS),
      zonesRollup(DNS_ZONES_1M_TABLE, 'toDate(time)', MINUTE_RETENTION_DAYS),
      zonesRollup(DNS_ZONES_1H_TABLE, 'toYYYYMM(time)', HOUR_RETENTION_DAYS),
    ],
  },
];
