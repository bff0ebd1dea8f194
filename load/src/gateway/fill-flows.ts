/**
 * Fills a warehouse with weeks of flow rollups shaped like the flows simulator's traffic, fast enough
 * for a benchmark's setup (a month of 1-minute rows in a minute or two): the shape comes from the
 * simulator's profile (time-of-day and day-of-month level, IPv6 share, source-AS weights,
 * protocol/port mix), the rows are made inside ClickHouse.
 *
 * How: the level of every minute is computed here (the profile is TypeScript) and inserted as a small
 * table; the rollup cells (exporter × interface × IP version × source AS × protocol/port) with their
 * byte share go in another; the 1-minute rollup is then `INSERT … SELECT` of their cross join, a
 * day at a time, with a ±10% deterministic jitter per cell and minute. The 1-hour rollup is summed from
 * the minute rows as the processor's sink would write it, and raw flows for the last days (drill-down
 * queries) are drawn the same way at a fixed rate per minute.
 */
import { FLOWS_1H_TABLE, FLOWS_1M_TABLE, FLOWS_RAW_TABLE } from '@kansoku/flows';
import {
  IPV6_BYTE_SHARE,
  LOCAL_AS,
  PORT_MIX,
  SOURCE_ASES,
  trafficLevel,
} from '@kansoku/flows/simulator/profile';
import type { Warehouse } from '@kansoku/kit';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const LEVELS_TABLE = '{{db}}.bench_minute_levels';
const CELLS_TABLE = '{{db}}.bench_rollup_cells';

export interface FillOptions {
  /** Days of 1-minute rollups, ending at `endMs`. */
  days: number;
  /** End of the data (exclusive), rounded down to the minute. */
  endMs: number;
  /** Exporters (routers), each with `interfaces` uplinks. */
  exporters: number;
  interfaces: number;
  /** Source ASes beyond the profile's named ones, with a long tail of small weights. */
  tailAses: number;
  /** Bytes per minute of all traffic at level 1 (the lunch peak of a weekday). */
  peakBytesPerMinute: number;
  /** Days of raw flows (drill-down) before `endMs`, and how many per minute. */
  rawDays: number;
  rawFlowsPerMinute: number;
}

export const DEFAULT_FILL: Omit<FillOptions, 'endMs'> = {
  days: 30,
  exporters: 2,
  interfaces: 2,
  tailAses: 12,
  // 40 Gbit/s at the peak.
  peakBytesPerMinute: (40e9 / 8) * 60,
  rawDays: 3,
  rawFlowsPerMinute: 500,
};

export interface FillReport {
  minuteRows: number;
  hourRows: number;
  rawRows: number;
  cellsPerMinute: number;
  seconds: number;
}

interface Cell {
  id: number;
  exporter: string;
  in_interface: number;
  out_interface: number;
  ip_version: number;
  protocol: number;
  src_port: number;
  application: string;
  src_as: number;
  dst_as: number;
  /** Bytes per minute at level 1. */
  bytes_per_minute: number;
  bytes_per_packet: number;
  packets_per_flow: number;
}

/** The rollup cells of one minute, with byte shares that add up to the profile's. */
export function rollupCells(
  options: Omit<FillOptions, 'endMs' | 'days' | 'rawDays' | 'rawFlowsPerMinute'>,
): Cell[] {
  const cells: Cell[] = [];
  const exporterWeights = Array.from({ length: options.exporters }, (_, i) => 1 / (i + 1));
  const exporterTotal = exporterWeights.reduce((a, b) => a + b, 0);
  for (const ipVersion of [4, 6] as const) {
    const versionShare = ipVersion === 6 ? IPV6_BYTE_SHARE : 1 - IPV6_BYTE_SHARE;
    // The named ASes of the report, then a tail: weights falling as 1/rank below the last named one.
    const named = SOURCE_ASES[ipVersion];
    const lastWeight = named[named.length - 1]?.weight ?? 0.05;
    const ases = [
      ...named.map((a) => ({ asn: a.asn, weight: a.weight })),
      ...Array.from({ length: options.tailAses }, (_, i) => ({
        // 32-bit private-use AS numbers (RFC 6996).
        asn: 4_200_000_000 + i + (ipVersion === 6 ? 1000 : 0),
        weight: (lastWeight * 0.8) / (i + 1),
      })),
    ];
    const asTotal = ases.reduce((sum, a) => sum + a.weight, 0);
    const mix = PORT_MIX[ipVersion];
    const mixTotal = mix.reduce((sum, m) => sum + m.share, 0);
    for (let e = 0; e < options.exporters; e++) {
      const exporter = `192.0.2.${e + 1}`;
      for (let i = 0; i < options.interfaces; i++) {
        for (const as of ases) {
          for (const m of mix) {
            const share =
              versionShare *
              ((exporterWeights[e] ?? 0) / exporterTotal) *
              (1 / options.interfaces) *
              (as.weight / asTotal) *
              (m.share / mixTotal);
            cells.push({
              id: cells.length,
              exporter,
              in_interface: 1 + i,
              out_interface: 100 + (i % 2),
              ip_version: ipVersion,
              protocol: m.protocol,
              src_port: m.srcPort,
              application: m.application,
              src_as: as.asn,
              dst_as: LOCAL_AS,
              bytes_per_minute: options.peakBytesPerMinute * share,
              bytes_per_packet: m.protocol === 17 ? 1100 : 1350,
              packets_per_flow: m.protocol === 17 ? 12 : 40,
            });
          }
        }
      }
    }
  }
  return cells;
}

async function count(warehouse: Warehouse, table: string): Promise<number> {
  const [row] = await warehouse.query<{ n: string }>(`SELECT count() AS n FROM ${table}`);
  return Number(row?.n ?? 0);
}

/** Fills the flows tables (which must exist: run the flows migrations first). */
export async function fillFlowRollups(
  warehouse: Warehouse,
  options: FillOptions,
  log: (line: string) => void = () => {},
): Promise<FillReport> {
  const started = Date.now();
  const end = Math.floor(options.endMs / MINUTE_MS) * MINUTE_MS;
  const start = end - options.days * DAY_MS;

  await warehouse.command(`DROP TABLE IF EXISTS ${LEVELS_TABLE}`);
  await warehouse.command(`DROP TABLE IF EXISTS ${CELLS_TABLE}`);
  await warehouse.command(
    `CREATE TABLE ${LEVELS_TABLE} (time DateTime('UTC'), level Float64) ENGINE = MergeTree ORDER BY time`,
  );
  await warehouse.command(
    `CREATE TABLE ${CELLS_TABLE} (
       id UInt32, exporter String, in_interface UInt32, out_interface UInt32, ip_version UInt8,
       protocol UInt8, src_port UInt16, application String, src_as UInt32, dst_as UInt32,
       bytes_per_minute Float64, bytes_per_packet Float64, packets_per_flow Float64
     ) ENGINE = MergeTree ORDER BY id`,
  );
  const levels: { time: number; level: number }[] = [];
  for (let t = start; t < end; t += MINUTE_MS) levels.push({ time: t / 1000, level: trafficLevel(t) });
  for (let i = 0; i < levels.length; i += 50_000)
    await warehouse.insert(LEVELS_TABLE, levels.slice(i, i + 50_000));
  const cells = rollupCells(options);
  await warehouse.insert(CELLS_TABLE, cells as unknown as Record<string, unknown>[]);
  log(`fill: ${levels.length} minutes × ${cells.length} cells`);

  for (let day = 0; day < options.days; day++) {
    const from = (start + day * DAY_MS) / 1000;
    const to = from + DAY_MS / 1000;
    await warehouse.command(
      `INSERT INTO ${FLOWS_1M_TABLE}
         (time, exporter, in_interface, out_interface, ip_version, protocol, src_port, application,
          src_as, dst_as, bytes, packets, flows)
       SELECT time, exporter, in_interface, out_interface, ip_version, protocol, src_port, application,
              src_as, dst_as, cell_bytes, cell_packets, greatest(1, toUInt64(cell_packets / packets_per_flow))
       FROM (
         SELECT l.time AS time, c.exporter AS exporter, c.in_interface AS in_interface,
                c.out_interface AS out_interface, c.ip_version AS ip_version, c.protocol AS protocol,
                c.src_port AS src_port, c.application AS application, c.src_as AS src_as, c.dst_as AS dst_as,
                toUInt64(l.level * c.bytes_per_minute
                         * (0.9 + 0.2 * (cityHash64(l.time, c.id) % 1000) / 1000)) AS cell_bytes,
                greatest(1, toUInt64(cell_bytes / c.bytes_per_packet)) AS cell_packets,
                c.packets_per_flow AS packets_per_flow
         FROM ${LEVELS_TABLE} AS l CROSS JOIN ${CELLS_TABLE} AS c
         WHERE l.time >= toDateTime({from:UInt32}, 'UTC') AND l.time < toDateTime({to:UInt32}, 'UTC')
       )`,
      { from, to },
    );
    await warehouse.command(
      `INSERT INTO ${FLOWS_1H_TABLE}
         (time, exporter, in_interface, out_interface, ip_version, protocol, src_port, application,
          src_as, dst_as, bytes, packets, flows)
       SELECT toStartOfHour(time) AS hour, exporter, in_interface, out_interface, ip_version, protocol,
              src_port, application, src_as, dst_as, sum(bytes), sum(packets), sum(flows)
       FROM ${FLOWS_1M_TABLE}
       WHERE time >= toDateTime({from:UInt32}, 'UTC') AND time < toDateTime({to:UInt32}, 'UTC')
       GROUP BY hour, exporter, in_interface, out_interface, ip_version, protocol, src_port, application,
                src_as, dst_as`,
      { from, to },
    );
    if ((day + 1) % 5 === 0 || day + 1 === options.days)
      log(`fill: ${day + 1}/${options.days} days of rollups`);
  }

  const rawMinutes = Math.round((options.rawDays * DAY_MS) / MINUTE_MS);
  const rawCount = rawMinutes * options.rawFlowsPerMinute;
  if (rawCount > 0) {
    // Raw flows drawn from the same cells: a cell is picked by the hash of the row number against
    // the cells' byte shares (a weighted pick), the time spread evenly over the minute.
    await warehouse.command(
      `INSERT INTO ${FLOWS_RAW_TABLE}
         (time_received, time_flow_start, time_flow_end, exporter, flow_protocol, in_interface, out_interface,
          direction, ip_version, src_address, dst_address, src_port, dst_port, protocol, bytes, packets,
          sampling_rate, raw_bytes, raw_packets, src_as, dst_as, application)
       SELECT received, received - toIntervalSecond(5), received, c.exporter, 10, c.in_interface, c.out_interface,
              0, c.ip_version,
              if(c.ip_version = 6, concat('2001:db8:', lower(hex(c.src_as % 65536)), '::', toString(n % 200 + 1)),
                 concat('198.18.', toString(c.src_as % 200), '.', toString(n % 250 + 1))),
              if(c.ip_version = 6, concat('2001:db8:ff00::', lower(hex(cityHash64(n, 7) % 65536))),
                 concat('100.64.', toString(cityHash64(n, 7) % 250), '.', toString(cityHash64(n, 8) % 250 + 1))),
              if(c.src_port = 0, 1024 + cityHash64(n, 3) % 60000, c.src_port),
              if(c.src_port = 0, c.src_port, 1024 + cityHash64(n, 4) % 60000),
              c.protocol, 1500 * (1 + cityHash64(n, 5) % 800), 1 + cityHash64(n, 5) % 800, 1,
              1500 * (1 + cityHash64(n, 5) % 800), 1 + cityHash64(n, 5) % 800, c.src_as, c.dst_as, c.application
       FROM (
         WITH (SELECT groupArray(bytes_per_minute) FROM (SELECT bytes_per_minute FROM ${CELLS_TABLE} ORDER BY id))
                AS weights,
              arrayCumSum(weights) AS cumulative,
              arraySum(weights) AS total
         SELECT number AS n,
                fromUnixTimestamp64Milli(toInt64({start:Int64} + intDiv(number, {per_minute:UInt32}) * 60000
                  + (number % {per_minute:UInt32}) * intDiv(60000, {per_minute:UInt32})), 'UTC') AS received,
                arrayFirstIndex(x -> x > (cityHash64(number, 1) % 1000000) / 1000000 * total, cumulative) - 1 AS cell
         FROM numbers({count:UInt64})
       ) AS r
       INNER JOIN ${CELLS_TABLE} AS c ON c.id = r.cell`,
      {
        start: end - options.rawDays * DAY_MS,
        per_minute: options.rawFlowsPerMinute,
        count: rawCount,
      },
    );
  }
  await warehouse.command(`DROP TABLE IF EXISTS ${LEVELS_TABLE}`);
  await warehouse.command(`DROP TABLE IF EXISTS ${CELLS_TABLE}`);
  const report = {
    minuteRows: await count(warehouse, FLOWS_1M_TABLE),
    hourRows: await count(warehouse, FLOWS_1H_TABLE),
    rawRows: await count(warehouse, FLOWS_RAW_TABLE),
    cellsPerMinute: cells.length,
    seconds: (Date.now() - started) / 1000,
  };
  log(
    `fill: ${report.minuteRows} minute rows, ${report.hourRows} hour rows, ${report.rawRows} raw flows in ${report.seconds.toFixed(1)} s`,
  );
  return report;
}
