import type { Migration } from '@kansoku/kit';

/**
 * The alerting tables.
 *
 * - `alerting_history`: one row per state transition of an alert (inactive → pending → firing →
 *   resolved, and pending → inactive when a condition clears before `for`). What an operator reads
 *   to learn when something paged and what it measured. Kept a year and a bit.
 * - `alerting_state`: the latest transition per fingerprint (ReplacingMergeTree on `updated_at`),
 *   read with FINAL. The engine rebuilds its pending and firing alerts from it after a restart, and
 *   `alerts/firing` answers from it in any process (the gateway may run apart from the engine).
 *   Rows of ended alerts expire after a month; live ones stay however long they live.
 */

export const HISTORY_RETENTION_DAYS = 400;
export const ENDED_STATE_RETENTION_DAYS = 30;

export const ALERTING_HISTORY_TABLE = '{{db}}.alerting_history';
export const ALERTING_STATE_TABLE = '{{db}}.alerting_state';

const COLUMNS = `
        fingerprint String,
        alertname LowCardinality(String),
        source LowCardinality(String),
        rule_group LowCardinality(String),
        severity LowCardinality(String),
        from_state LowCardinality(String),
        state LowCardinality(String),
        labels Map(String, String),
        annotations Map(String, String),
        value Float64,
        active_at DateTime64(3, 'UTC'),
        fired_at DateTime64(3, 'UTC'),
        resolved_at DateTime64(3, 'UTC')`;

export const alertingMigrations: Migration[] = [
  {
    id: 'alerting/0001_history_and_state',
    description: 'Alert state transitions (history) and the latest state per fingerprint',
    statements: [
      `CREATE TABLE IF NOT EXISTS ${ALERTING_HISTORY_TABLE} (
        time DateTime64(3, 'UTC'),${COLUMNS}
      ) ENGINE = MergeTree
      PARTITION BY toYYYYMM(time)
      ORDER BY (time, fingerprint)
      TTL toDateTime(time) + INTERVAL ${HISTORY_RETENTION_DAYS} DAY`,
      `CREATE TABLE IF NOT EXISTS ${ALERTING_STATE_TABLE} (
        updated_at DateTime64(3, 'UTC'),${COLUMNS}
      ) ENGINE = ReplacingMergeTree(updated_at)
      ORDER BY fingerprint
      TTL toDateTime(updated_at) + INTERVAL ${ENDED_STATE_RETENTION_DAYS} DAY DELETE
        WHERE state IN ('resolved', 'inactive')`,
    ],
  },
];
