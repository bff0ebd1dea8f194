/**
 * The query gateway under a NOC's dashboards: 30 days of 1-minute flow rollups (shaped like the
 * flows simulator's traffic, see gateway/fill-flows.ts) in an embedded ClickHouse, the gateway on
 * it as `kansoku up` runs it, and the flows board's requests (every panel, all 12 flows queries,
 * over the last 1h/6h/24h/7d/30d with `to` = now at each request) at --rate requests/s for
 * --seconds with autocannon from a child process. Run twice: with the result cache (the default
 * configuration) and without it, for comparison.
 *
 * Recorded per run: rps, p50/p90/p99/max latency (ms, corrected for coordinated omission), errors
 * (non-2xx, socket errors, timeouts), the cache hit ratio (hits / query requests, from the
 * gateway's own counters), and the warehouse queries the gateway ran.
 */
import { loadavg } from 'node:os';
import { flowsMigrations, flowsQueries } from '@kansoku/flows';
import { createGateway } from '@kansoku/gateway';
import {
  createMetricsRegistry,
  ingestLedgerMigration,
  migrate,
  type Registry,
  silentLogger,
} from '@kansoku/kit';
import { openTestWarehouse } from '@kansoku/kit/testing/warehouse';
import { type Benchmark, intFlag, listFlag, type ResultTable } from '../benchmark.ts';
import { type BoardLoadReport, runBoardLoad } from '../gateway/board-load.ts';
import { DEFAULT_FILL, fillFlowRollups } from '../gateway/fill-flows.ts';

const TOKEN = 'bench-viewer-token-0001';
const FLOOR_ANSWER = {
  columns: [
    { name: 'time', type: 'time' as const },
    { name: 'bps', type: 'number' as const },
  ],
  rows: Array.from({ length: 120 }, (_, i) => ({ time: i * 60_000, bps: i })),
};

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

/** Sum of a counter's samples whose labels match. */
async function counter(
  metrics: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = metrics.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

interface RunResult extends BoardLoadReport {
  mode: string;
  /** Hits over query requests (fresh answers from the cache). */
  cacheHitRatio: number;
  /** Answers served stale (past their lifetime, or the previous window) while refreshed. */
  cacheStaleRatio: number;
  warmup?: BoardLoadReport;
  warehouseQueries: number;
  refusedTimeout: number;
  refusedBusy: number;
}

export const benchmark: Benchmark = {
  name: 'gateway-load',
  description:
    'Query gateway: the flows dashboard (12 queries, 1h–30d ranges) at 200 req/s over 30 days of rollups, with and without the cache',
  flags: {
    rate: 'requests per second (default 200)',
    seconds: 'seconds per run (default 60)',
    connections: 'autocannon connections (default 50)',
    warmup: 'seconds of the same load before each measured run, not counted (default 60)',
    'max-threads':
      'gateway.queryMaxThreads: threads per warehouse query (default -1: half the cores, embedded warehouse)',
    days: 'days of 1-minute rollups (default 30)',
    modes:
      'comma-separated runs: cache, no-cache, long-ttl (live answers kept 10 min), floor (answers without the warehouse) (default cache,no-cache)',
    seed: 'seed of the panel and range draw (default 1)',
  },
  async run(args) {
    const rate = intFlag(args, 'rate', 200);
    const seconds = intFlag(args, 'seconds', 60);
    const connections = intFlag(args, 'connections', 50);
    const days = intFlag(args, 'days', 30);
    const seed = intFlag(args, 'seed', 1);
    const warmup = args.warmup === '0' ? 0 : intFlag(args, 'warmup', 60);
    const maxThreads = args['max-threads'] === undefined ? -1 : intFlag(args, 'max-threads', 1);
    const modes = listFlag(args, 'modes', ['cache', 'no-cache']);
    const loadBefore = loadavg();

    const db = await openTestWarehouse({ prefix: 'kansoku-bench-gateway-' });
    try {
      await migrate(db.warehouse, [ingestLedgerMigration, ...flowsMigrations], { log: silentLogger() });
      // The floor alone does not read the warehouse: a day of data is enough to start.
      const fillDays = modes.every((m) => m === 'floor') ? 1 : days;
      const fill = await fillFlowRollups(
        db.warehouse,
        { ...DEFAULT_FILL, days: fillDays, endMs: Date.now() },
        log,
      );
      // The hourly rollup got one insert per day: merge it as the background merges would by now.
      await db.warehouse.command('OPTIMIZE TABLE {{db}}.flows_traffic_1h FINAL');

      const runs: RunResult[] = [];
      for (const mode of modes) {
        if (!['cache', 'no-cache', 'long-ttl', 'floor'].includes(mode))
          throw new Error(`unknown mode ${mode}`);
        const metrics = createMetricsRegistry({ processMetrics: false });
        const gateway = createGateway(
          {
            host: '127.0.0.1',
            port: 0,
            tokens: [`viewer:${TOKEN}`],
            anonymousRole: 'none',
            cacheEnabled: mode !== 'no-cache',
            // long-ttl: live answers kept 10 minutes, so the warehouse is all but idle after the warm-up
            // and what is left is the gateway's own cost (and the machine's).
            ...(mode === 'long-ttl' ? { cacheLiveTtlMs: 600_000, cacheLiveMaxTtlMs: 600_000 } : {}),
            // One token sends all the load (12,000/min): above the per-token limit (6000/min by default).
            rateLimitPerMinute: 0,
            queryMaxThreads: maxThreads,
          },
          {
            log: silentLogger(),
            metrics,
            warehouse: db.warehouse,
            health: [],
            // floor: the same routes and parameters answering at once without the warehouse, the least
            // latency this machine and this load generator can show.
            queries:
              mode === 'floor'
                ? flowsQueries.map((q) => ({ ...q, run: async () => FLOOR_ANSWER }))
                : flowsQueries,
            version: 'bench',
          },
        );
        await gateway.start();
        // A gateway serving boards all day is warm: the first look at each panel is not what a NOC waits on.
        const warm = warmup
          ? await runBoardLoad({
              url: gateway.url(),
              token: TOKEN,
              rate,
              seconds: warmup,
              connections,
              seed: seed + 1000,
              timeoutSeconds: 30,
            })
          : undefined;
        if (warm)
          log(`${mode}: warm-up ${warm.rps.toFixed(1)} req/s, p99 ${warm.p99_ms} ms, ${warm.errors} errors`);
        const lookupsBefore = await counter(metrics, 'kansoku_gateway_cache_requests_total');
        const hitsBefore = await counter(metrics, 'kansoku_gateway_cache_requests_total', { outcome: 'hit' });
        const staleBefore = await counter(metrics, 'kansoku_gateway_cache_requests_total', {
          outcome: 'stale',
        });
        const queriesBefore = await counter(db.metrics, 'kansoku_warehouse_requests_total', {
          kind: 'query',
        });
        try {
          log(`${mode}: ${rate} req/s for ${seconds} s over ${connections} connections`);
          const report = await runBoardLoad({
            url: gateway.url(),
            token: TOKEN,
            rate,
            seconds,
            connections,
            seed,
            timeoutSeconds: 30,
          });
          const lookups = (await counter(metrics, 'kansoku_gateway_cache_requests_total')) - lookupsBefore;
          const hits =
            (await counter(metrics, 'kansoku_gateway_cache_requests_total', { outcome: 'hit' })) - hitsBefore;
          const stale =
            (await counter(metrics, 'kansoku_gateway_cache_requests_total', { outcome: 'stale' })) -
            staleBefore;
          const result: RunResult = {
            mode,
            ...report,
            cacheHitRatio: lookups > 0 ? hits / lookups : 0,
            cacheStaleRatio: lookups > 0 ? stale / lookups : 0,
            ...(warm ? { warmup: warm } : {}),
            warehouseQueries:
              (await counter(db.metrics, 'kansoku_warehouse_requests_total', { kind: 'query' })) -
              queriesBefore,
            refusedTimeout: await counter(metrics, 'kansoku_gateway_query_refusals_total', {
              reason: 'timeout',
            }),
            refusedBusy: await counter(metrics, 'kansoku_gateway_query_refusals_total', { reason: 'busy' }),
          };
          runs.push(result);
          log(
            `${mode}: ${result.rps.toFixed(1)} req/s, p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms, ` +
              `${result.errors} errors, hit ratio ${(result.cacheHitRatio * 100).toFixed(1)}%`,
          );
        } finally {
          await gateway.stop();
        }
      }

      const main = runs.find((r) => r.mode === 'cache') ?? runs[0];
      const loadAfter = loadavg();
      const table: ResultTable = {
        title: `flows board at ${rate} req/s for ${seconds} s (${fill.minuteRows.toLocaleString('en-US')} minute rows)`,
        columns: [
          'run',
          'req/s',
          'p50 ms',
          'p90 ms',
          'p99 ms',
          'max ms',
          'errors',
          'hit',
          'stale',
          'warehouse queries',
        ],
        rows: runs.map((r) => [
          r.mode,
          r.rps,
          r.p50_ms,
          r.p90_ms,
          r.p99_ms,
          r.max_ms,
          r.errors,
          r.cacheHitRatio,
          r.cacheStaleRatio,
          r.warehouseQueries,
        ]),
      };
      const notes = [
        `fill: ${fill.minuteRows} 1-minute rows (${fill.cellsPerMinute} cells/minute), ${fill.hourRows} hourly rows, ${fill.rawRows} raw flows in ${fill.seconds.toFixed(0)} s`,
        `load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')} (other work on the machine counts in the latencies)`,
      ];
      for (const r of runs) {
        notes.push(
          `${r.mode}: status codes ${JSON.stringify(r.statusCodes)}, X-Kansoku-Cache ${JSON.stringify(r.cacheOutcomes)}`,
        );
        if (r.p99_ms >= 100) notes.push(`${r.mode}: p99 ${r.p99_ms} ms misses the goal (< 100 ms)`);
        if (r.errors > 0) notes.push(`${r.mode}: ${r.errors} errors miss the goal (0)`);
      }
      return {
        rps: main?.rps,
        p50_ms: main?.p50_ms,
        p99_ms: main?.p99_ms,
        errors: main?.errors,
        cache_hit_ratio: main?.cacheHitRatio,
        cache_stale_ratio: main?.cacheStaleRatio,
        runs,
        fill,
        goal: { p99_ms: 100, errors: 0 },
        tables: [table],
        notes,
      };
    } finally {
      await db.close();
    }
  },
};

export default benchmark;
