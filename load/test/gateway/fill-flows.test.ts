import { flowsMigrations } from '@kansoku/flows';
import { IPV6_BYTE_SHARE } from '@kansoku/flows/simulator/profile';
import { migrate, silentLogger } from '@kansoku/kit';
import { openTestWarehouse, type TestWarehouse } from '@kansoku/kit/testing/warehouse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FILL, fillFlowRollups, rollupCells } from '../../src/gateway/fill-flows.ts';

// Recent: raw flows older than their retention (3 days) are dropped by the table's TTL.
const END = Math.floor(Date.now() / 3_600_000) * 3_600_000;

describe('fillFlowRollups', () => {
  let db: TestWarehouse;
  beforeAll(async () => {
    db = await openTestWarehouse({ prefix: 'kansoku-load-fill-' });
    await migrate(db.warehouse, flowsMigrations, { log: silentLogger() });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('gives the cells the profile byte shares (IPv6 about 4%)', () => {
    const cells = rollupCells(DEFAULT_FILL);
    const total = cells.reduce((sum, c) => sum + c.bytes_per_minute, 0);
    const v6 = cells.filter((c) => c.ip_version === 6).reduce((sum, c) => sum + c.bytes_per_minute, 0);
    expect(total).toBeCloseTo(DEFAULT_FILL.peakBytesPerMinute, -3);
    expect(v6 / total).toBeCloseTo(IPV6_BYTE_SHARE, 6);
  });

  it('writes one row per cell and minute, hourly sums equal to the minutes, and raw flows', async () => {
    const options = {
      ...DEFAULT_FILL,
      days: 2,
      endMs: END,
      exporters: 1,
      interfaces: 1,
      tailAses: 2,
      rawDays: 0.25,
      rawFlowsPerMinute: 10,
    };
    const report = await fillFlowRollups(db.warehouse, options);
    expect(report.minuteRows).toBe(2 * 1440 * report.cellsPerMinute);
    expect(report.rawRows).toBe(6 * 60 * 10);
    const [sums] = await db.warehouse.query<{
      m: string;
      h: string;
      v6: string;
      first: string;
      last: string;
    }>(
      `SELECT (SELECT sum(bytes) FROM {{db}}.flows_traffic_1m) AS m, (SELECT sum(bytes) FROM {{db}}.flows_traffic_1h) AS h,
              (SELECT sumIf(bytes, ip_version = 6) FROM {{db}}.flows_traffic_1m) AS v6,
              (SELECT toUnixTimestamp(min(time)) FROM {{db}}.flows_traffic_1m) AS first,
              (SELECT toUnixTimestamp(max(time)) FROM {{db}}.flows_traffic_1m) AS last`,
    );
    expect(sums?.h).toBe(sums?.m);
    expect(Number(sums?.v6) / Number(sums?.m)).toBeGreaterThan(0.03);
    expect(Number(sums?.v6) / Number(sums?.m)).toBeLessThan(0.05);
    expect(Number(sums?.first) * 1000).toBe(END - 2 * 86_400_000);
    expect(Number(sums?.last) * 1000).toBe(END - 60_000);
    // The Tokyo lunch peak (12:15, 03:15 UTC) carries more than the small hours (04:00, 19:00 UTC).
    const [shape] = await db.warehouse.query<{ lunch: string; night: string }>(
      `SELECT sumIf(bytes, toHour(time) = 3) AS lunch, sumIf(bytes, toHour(time) = 19) AS night
       FROM {{db}}.flows_traffic_1m`,
    );
    expect(Number(shape?.lunch)).toBeGreaterThan(3 * Number(shape?.night));
    const raw = await db.warehouse.query<{ addresses: string; exporters: string }>(
      `SELECT uniqExact(src_address) AS addresses, uniqExact(exporter) AS exporters FROM {{db}}.flows_raw`,
    );
    expect(Number(raw[0]?.addresses)).toBeGreaterThan(100);
    expect(Number(raw[0]?.exporters)).toBe(1);
  });
});
