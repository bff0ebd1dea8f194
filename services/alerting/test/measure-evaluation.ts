/**
 * Measures one evaluation of every rule of the flows rule file over a month of 1-minute flow rollups
 * in the embedded ClickHouse (the shape `kansoku up` runs), generated inside ClickHouse with numbers().
 *
 *   cd services/alerting && npx tsx test/measure-evaluation.ts [days=35] [series_per_minute=200]
 *
 * Prints per rule: milliseconds of a cold and a warm evaluation, and how many series it judged.
 */
import { fileURLToPath } from 'node:url';
import { migrate, silentLogger } from '@kansoku/kit';
import { openTestWarehouse } from '@kansoku/kit/testing/warehouse';
import { flowsQueries } from '../../flows/src/queries.ts';
import { flowsMigrations } from '../../flows/src/tables.ts';
import { evaluateRule } from '../src/evaluate.ts';
import { loadRuleFiles } from '../src/rules.ts';

const days = Number(process.argv[2] ?? 35);
const seriesPerMinute = Number(process.argv[3] ?? 200);
const rulesPath = fileURLToPath(new URL('../../flows/rules/flows.rules.yaml', import.meta.url));

const wh = await openTestWarehouse();
try {
  await migrate(wh.warehouse, flowsMigrations, { log: silentLogger() });
  const now = Date.now();
  const minutes = days * 1440;
  const start = Math.floor((now - days * 86_400_000) / 60_000) * 60;
  const t0 = performance.now();
  // 20 exporters × 5 interfaces × 2 IP versions per minute (for the default 200), with a daily cycle.
  await wh.warehouse.command(
    `INSERT INTO {{db}}.flows_traffic_1m
     SELECT toDateTime({start:UInt32} + intDiv(number, {series:UInt32}) * 60, 'UTC') AS time,
            concat('192.0.2.', toString(number % {series:UInt32} % 20 + 1)) AS exporter,
            intDiv(number % {series:UInt32}, 20) % 5 + 1 AS in_interface, 100 AS out_interface,
            if(number % 2 = 0, 4, 6) AS ip_version, 6 AS protocol, 443 AS src_port, 'https' AS application,
            64500 + number % 7 AS src_as, 64501 AS dst_as,
            toUInt64(1e8 * (1.5 + sin(intDiv(number, {series:UInt32}) * 2 * pi() / 1440))) AS bytes,
            toUInt64(1e5) AS packets, toUInt64(100) AS flows
     FROM numbers({rows:UInt64})`,
    { start, series: seriesPerMinute, rows: minutes * seriesPerMinute },
  );
  const loadMs = performance.now() - t0;
  console.log(
    `loaded ${minutes * seriesPerMinute} rows (${days} days × ${seriesPerMinute}/min) in ${loadMs.toFixed(0)} ms`,
  );
  for (const group of loadRuleFiles([rulesPath], flowsQueries)) {
    for (const rule of group.rules) {
      const query = flowsQueries.find((q) => `${q.domain}/${q.name}` === rule.query);
      if (!query) throw new Error(rule.query);
      const times: number[] = [];
      let series = 0;
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        series = (await evaluateRule(rule, query, { warehouse: wh.warehouse, now })).length;
        times.push(performance.now() - t);
      }
      console.log(
        `${group.name}/${rule.alert}: cold ${times[0]?.toFixed(0)} ms, warm ${Math.min(...times.slice(1)).toFixed(0)} ms, ${series} series judged`,
      );
    }
  }
} finally {
  await wh.close();
}
