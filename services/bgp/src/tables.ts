import type { Migration } from '@kansoku/kit';

/**
 * The BGP tables, written by bgp-processor (processor/processor.ts). The RIB itself lives in the processor's
 * memory; these tables hold what the NOC reads over time:
 *
 * - `bgp_prefix_lengths_1m` / `_1h`: routes per prefix length per address family per peer RIB, a snapshot
 *   every minute (the hourly table keeps the hour's last minute, 800 days: Table 1 and Fig. 1–2 are years).
 *   The row with `peer = ''` is the whole RIB: distinct prefixes over every peer (Table 1 counts a full table,
 *   not the sum of several copies of it). ReplacingMergeTree: a snapshot written again for the same minute
 *   (restart, replay) replaces the earlier one; queries read `FINAL`.
 * - `bgp_update_rates_1m`: announcements and withdrawals per peer RIB and family per minute (SummingMergeTree:
 *   each flush adds its partial sums; queries `sum()`).
 * - `bgp_peer_events`: up / down / stats of each peer, as received (replacing on the same event, so a replayed
 *   range is stored once).
 * - `bgp_peer_state`: each peer RIB's state and route counts at the last snapshot (for the peers table).
 * - `bgp_prefix_origins`: the current origin AS the RIB answers per prefix (the one most of its routes carry);
 *   a row per change (version = change time), `present = 0` once the prefix is gone. Queries read
 *   `FINAL … present = 1`.
 */

export const PREFIX_LENGTHS_1M_TABLE = '{{db}}.bgp_prefix_lengths_1m';
export const PREFIX_LENGTHS_1H_TABLE = '{{db}}.bgp_prefix_lengths_1h';
export const UPDATE_RATES_TABLE = '{{db}}.bgp_update_rates_1m';
export const PEER_EVENTS_TABLE = '{{db}}.bgp_peer_events';
export const PEER_STATE_TABLE = '{{db}}.bgp_peer_state';
export const PREFIX_ORIGINS_TABLE = '{{db}}.bgp_prefix_origins';

/** Days of per-minute prefix-length snapshots and update rates. */
export const MINUTE_RETENTION_DAYS = 35;
/** Days of hourly snapshots (Fig. 1–2 span years). */
export const HOUR_RETENTION_DAYS = 800;
/** Days of peer events. */
export const PEER_EVENT_RETENTION_DAYS = 400;

function prefixLengthTable(table: string, retentionDays: number): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
      time DateTime('UTC'),
      router LowCardinality(String),
      peer String,
      distinguisher String,
      peer_asn UInt32,
      rib_type UInt8,
      afi UInt8,
      prefix_length UInt8,
      routes UInt32
    ) ENGINE = ReplacingMergeTree
    PARTITION BY toYYYYMM(time)
    ORDER BY (afi, router, peer, distinguisher, rib_type, time, prefix_length)
    TTL time + INTERVAL ${retentionDays} DAY
    SETTINGS ttl_only_drop_parts = 1`;
}

export const bgpMigrations: Migration[] = [
  {
    id: 'bgp/0001_rib_rollups',
    description: 'Routes by prefix length, update rates, peer events and state, prefix origins',
    statements: [
      prefixLengthTable(PREFIX_LENGTHS_1M_TABLE, MINUTE_RETENTION_DAYS),
      prefixLengthTable(PREFIX_LENGTHS_1H_TABLE, HOUR_RETENTION_DAYS),
      `CREATE TABLE IF NOT EXISTS ${UPDATE_RATES_TABLE} (
        time DateTime('UTC'),
        router LowCardinality(String),
        peer String,
        distinguisher String,
        rib_type UInt8,
        afi UInt8,
        announcements UInt64,
        withdrawals UInt64
      ) ENGINE = SummingMergeTree((announcements, withdrawals))
      PARTITION BY toYYYYMM(time)
      ORDER BY (time, router, peer, distinguisher, rib_type, afi)
      TTL time + INTERVAL ${MINUTE_RETENTION_DAYS} DAY
      SETTINGS ttl_only_drop_parts = 1`,
      `CREATE TABLE IF NOT EXISTS ${PEER_EVENTS_TABLE} (
        time DateTime64(3, 'UTC'),
        router LowCardinality(String),
        peer String,
        distinguisher String,
        peer_asn UInt32,
        event LowCardinality(String),
        reason UInt8,
        routes_dropped UInt32,
        detail String
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(time)
      ORDER BY (router, peer, distinguisher, time, event)
      TTL toDateTime(time) + INTERVAL ${PEER_EVENT_RETENTION_DAYS} DAY`,
      `CREATE TABLE IF NOT EXISTS ${PEER_STATE_TABLE} (
        time DateTime('UTC'),
        router LowCardinality(String),
        peer String,
        distinguisher String,
        rib_type UInt8,
        peer_asn UInt32,
        state LowCardinality(String),
        routes_ipv4 UInt32,
        routes_ipv6 UInt32,
        last_change DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(time)
      ORDER BY (router, peer, distinguisher, rib_type)`,
      `CREATE TABLE IF NOT EXISTS ${PREFIX_ORIGINS_TABLE} (
        afi UInt8,
        prefix String,
        prefix_length UInt8,
        origin_as UInt32,
        present UInt8,
        updated DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated)
      ORDER BY (afi, prefix, prefix_length)`,
    ],
  },
];
