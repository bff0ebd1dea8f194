/**
 * Query routes against the real embedded ClickHouse: cache hits for a sliding `now`, single flight,
 * lifetimes by range, the time budget (a slow query is stopped by the engine and answered 504),
 * result and range limits, rate limits, and the audit of definitions at registration.
 */
import {
  createMetricsRegistry,
  defineQuery,
  type QueryDefinition,
  TimeRangeParams,
  validateTimeRange,
} from '@kansoku/kit';
import { openTestWarehouse, type TestWarehouse } from '@kansoku/kit/testing/warehouse';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayApp } from '../src/app.ts';
import type { GatewayConfig } from '../src/config.ts';
import { answerLifetime } from '../src/query-routes.ts';
import { gatewayTestConfig } from './gateway-config.ts';

const VIEWER = 'viewer-token-0001';
const OTHER = 'viewer-token-0002';
const CLICKHOUSE_TEXT = /DB::Exception|Code: ?\d|Syntax error|TIMEOUT_EXCEEDED|ClickHouse/i;

let runs = 0;
const echoRange = defineQuery({
  domain: 'test',
  name: 'echo-range',
  summary: 'Echoes the range the query ran with, through ClickHouse',
  description: 'Counts its runs so the tests see when the warehouse was asked',
  params: Type.Object({ ...TimeRangeParams, tag: Type.Optional(Type.String({ maxLength: 10 })) }),
  validate: validateTimeRange,
  async run(p, { warehouse }) {
    runs++;
    const rows = await warehouse.query<{ from: string; to: string }>(
      'SELECT {from:Int64} AS from, {to:Int64} AS to',
      { from: p.from, to: p.to },
    );
    return {
      columns: [
        { name: 'from', type: 'time' },
        { name: 'to', type: 'time' },
      ],
      rows: rows.map((r) => ({ from: Number(r.from), to: Number(r.to) })),
    };
  },
});

const echoWindow = defineQuery({
  domain: 'test',
  name: 'echo-window',
  summary: 'Echoes a range without a step',
  description: 'Alignment of step-less queries',
  params: Type.Object({ from: TimeRangeParams.from, to: TimeRangeParams.to }),
  async run(p) {
    return {
      columns: [
        { name: 'from', type: 'time' },
        { name: 'to', type: 'time' },
      ],
      rows: [{ from: p.from, to: p.to }],
    };
  },
});

const slow = defineQuery({
  domain: 'test',
  name: 'slow',
  summary: 'A query far longer than its budget',
  description: 'Hashes billions of numbers',
  params: Type.Object({}),
  timeoutMs: 400,
  async run(_p, { warehouse }) {
    const rows = await warehouse.query<{ n: string }>(
      'SELECT count() AS n FROM numbers({n:UInt64}) WHERE sipHash64(number) % 7 = 1',
      { n: 100_000_000_000 },
    );
    return { columns: [{ name: 'n', type: 'number' }], rows: rows.map((r) => ({ n: Number(r.n) })) };
  },
});

const many = defineQuery({
  domain: 'test',
  name: 'many-rows',
  summary: 'Returns `count` rows',
  description: 'Result size limit',
  params: Type.Object({ count: Type.Integer({ minimum: 1, maximum: 1000 }) }),
  async run(p, { warehouse }) {
    const rows = await warehouse.query<{ n: string }>('SELECT number AS n FROM numbers({count:UInt32})', {
      count: p.count,
    });
    return { columns: [{ name: 'n', type: 'number' }], rows: rows.map((r) => ({ n: Number(r.n) })) };
  },
});

const fresh = defineQuery({
  domain: 'test',
  name: 'fresh',
  summary: 'Opts out of the cache',
  description: 'Never kept',
  cache: false,
  params: Type.Object({}),
  async run() {
    runs++;
    return { columns: [], rows: [] };
  },
});

async function buildApp(
  db: TestWarehouse,
  config: Partial<GatewayConfig>,
  queries: QueryDefinition[],
  now?: () => number,
): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(gatewayApp, {
    config: gatewayTestConfig({ tokens: [`viewer:${VIEWER}`, `viewer:${OTHER}`], ...config }),
    // A registry per app: several apps share the one warehouse of this file.
    metrics: createMetricsRegistry({ processMetrics: false }),
    warehouse: db.warehouse,
    version: 'test',
    queries,
    health: [],
    ...(now ? { now } : {}),
  });
  await app.ready();
  return app;
}

// One embedded ClickHouse per process (chDB binds one data folder): every block shares it.
let db: TestWarehouse;
beforeAll(async () => {
  db = await openTestWarehouse({ prefix: 'kansoku-gw-routes-' });
});
afterAll(async () => {
  await db?.close();
});

describe('query routes', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildApp(db, { rateLimitPerMinute: 0, maxResultRows: 100 }, [
      echoRange,
      echoWindow,
      slow,
      many,
      fresh,
    ]);
  });

  afterAll(async () => {
    await app?.close();
  });

  const get = (url: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${VIEWER}`, ...headers } });

  it('aligns a sliding range to the step, so the next refresh of a board is a hit', async () => {
    const minute = 60_000;
    const base = Math.floor(Date.now() / minute) * minute - 10 * minute;
    const first = await get(
      `/api/v1/test/echo-range?from=${base - 3_600_000 + 5_000}&to=${base + 5_000}&step=60`,
    );
    expect(first.statusCode).toBe(200);
    expect(first.headers['x-kansoku-cache']).toBe('miss');
    expect(first.headers['content-type']).toMatch(/^application\/json/);
    // Rounded out to whole minutes.
    expect(first.json().rows).toEqual([{ from: base - 3_600_000, to: base + minute }]);
    const before = runs;
    const second = await get(
      `/api/v1/test/echo-range?from=${base - 3_600_000 + 35_000}&to=${base + 35_000}&step=60`,
    );
    expect(second.headers['x-kansoku-cache']).toBe('hit');
    expect(second.body).toBe(first.body);
    expect(runs).toBe(before);
    // Another step is another question.
    const other = await get(`/api/v1/test/echo-range?from=${base - 3_600_000}&to=${base}&step=300`);
    expect(other.headers['x-kansoku-cache']).toBe('miss');
    expect(runs).toBe(before + 1);
  });

  it('ends a live range at the last boundary, and answers a window that just slid with the previous one', async () => {
    const minute = 60_000;
    let clock = Math.floor(Date.now() / minute) * minute + 55_000;
    const timed = await buildApp(db, { rateLimitPerMinute: 0 }, [echoRange], () => clock);
    try {
      const ask = () =>
        timed.inject({
          url: `/api/v1/test/echo-range?from=${clock - 3_600_000}&to=${clock}&step=60`,
          headers: { authorization: `Bearer ${VIEWER}` },
        });
      const boundary = clock - 55_000;
      const w1 = await ask();
      expect(w1.headers['x-kansoku-cache']).toBe('miss');
      // The still-filling minute is left out.
      expect(w1.json().rows).toEqual([{ from: boundary - 3_600_000, to: boundary }]);
      // 10 s later the window has slid past a boundary; the previous answer is within its stale window.
      clock += 10_000;
      const w2 = await ask();
      expect(w2.headers['x-kansoku-cache']).toBe('stale');
      expect(w2.headers['cache-control']).toBe('private, max-age=0');
      expect(w2.body).toBe(w1.body);
      // The new window was computed once in the background.
      await new Promise((r) => setTimeout(r, 300));
      const again = await ask();
      expect(again.headers['x-kansoku-cache']).toBe('hit');
      expect(again.json().rows).toEqual([{ from: boundary + minute - 3_600_000, to: boundary + minute }]);
    } finally {
      await timed.close();
    }
  });

  it('aligns a range without a step to a unit that fits its length', async () => {
    const hour = 3_600_000;
    const end = Math.floor(Date.now() / hour) * hour - 2 * hour;
    // 30 days: hours. The same question until the next hour.
    const a = await get(`/api/v1/test/echo-window?from=${end - 30 * 86_400_000 + 1_000}&to=${end + 1_000}`);
    const b = await get(
      `/api/v1/test/echo-window?from=${end - 30 * 86_400_000 + 1_800_000}&to=${end + 1_800_000}`,
    );
    expect(a.json().rows).toEqual([{ from: end - 30 * 86_400_000, to: end + hour }]);
    expect(b.headers['x-kansoku-cache']).toBe('hit');
    // A range shorter than its unit keeps one unit.
    const short = await get(`/api/v1/test/echo-window?from=${end + 10_000}&to=${end + 20_000}`);
    expect(short.json().rows).toEqual([{ from: end, to: end + 60_000 }]);
  });

  it('keeps a range that touches now briefly and a closed past range long', async () => {
    const now = Date.now();
    const live = await get(`/api/v1/test/echo-range?from=${now - 3_600_000}&to=${now}&step=60&tag=live`);
    const liveAge = Number(/max-age=(\d+)/.exec(String(live.headers['cache-control']))?.[1]);
    expect(live.headers['cache-control']).toMatch(/^private, max-age=\d+$/);
    expect(liveAge).toBeGreaterThan(0);
    expect(liveAge).toBeLessThanOrEqual(10);
    const past = await get(`/api/v1/test/echo-range?from=${now - 86_400_000}&to=${now - 43_200_000}&step=60`);
    const pastAge = Number(/max-age=(\d+)/.exec(String(past.headers['cache-control']))?.[1]);
    expect(pastAge).toBeGreaterThan(500);
    expect(pastAge).toBeLessThanOrEqual(600);
  });

  it('runs identical concurrent requests once', async () => {
    const before = runs;
    const url = `/api/v1/test/echo-range?from=1700000000000&to=1700003600000&step=60&tag=flight`;
    const answers = await Promise.all(Array.from({ length: 6 }, () => get(url)));
    expect(runs).toBe(before + 1);
    const outcomes = answers.map((a) => a.headers['x-kansoku-cache']).sort();
    expect(outcomes).toEqual(['miss', 'shared', 'shared', 'shared', 'shared', 'shared']);
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
  });

  it('asks the warehouse again on Cache-Control: no-cache, and never keeps an opted-out query', async () => {
    const url = '/api/v1/test/echo-range?from=1700000000000&to=1700003600000&step=60&tag=fresh';
    await get(url);
    const before = runs;
    const refreshed = await get(url, { 'cache-control': 'no-cache' });
    expect(refreshed.headers['x-kansoku-cache']).toBe('refresh');
    expect(runs).toBe(before + 1);
    expect((await get(url)).headers['x-kansoku-cache']).toBe('hit');
    const a = await get('/api/v1/test/fresh');
    const b = await get('/api/v1/test/fresh');
    expect([a.headers['x-kansoku-cache'], b.headers['x-kansoku-cache']]).toEqual(['off', 'off']);
    expect(b.headers['cache-control']).toBe('private, no-store');
  });

  it('stops a query that outlives its budget: 504 with a plain message, and the warehouse is free again', async () => {
    const started = Date.now();
    const res = await get('/api/v1/test/slow');
    const elapsed = Date.now() - started;
    expect(res.statusCode).toBe(504);
    expect(res.json()).toMatchObject({ error: 'query_timeout', limit: 'gateway.queryTimeoutMs' });
    expect(res.json().message).toMatch(/did not finish within 400 ms/);
    expect(res.body).not.toMatch(CLICKHOUSE_TEXT);
    expect(elapsed).toBeLessThan(3000);
    // The engine itself stopped the query (max_execution_time): the next one runs at once.
    const next = Date.now();
    const after = await get('/api/v1/test/many-rows?count=3');
    expect(after.statusCode).toBe(200);
    expect(Date.now() - next).toBeLessThan(2000);
    const metrics = await app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/kansoku_gateway_query_refusals_total\{reason="timeout"\} [1-9]/);
  });

  it('refuses a result above maxResultRows with 422 naming the limit', async () => {
    const res = await get('/api/v1/test/many-rows?count=500');
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ error: 'result_too_large', limit: 'gateway.maxResultRows' });
  });

  it('bounds every range: dates a DateTime cannot hold, ranges over 400 days, too many points', async () => {
    const cases: [string, string][] = [
      ['from=0&to=9000000000000000&step=86400', 'to'],
      ['from=8000000000000000&to=9000000000000000&step=60', 'from'],
      ['from=1000000000000&to=1040000000000&step=604800', 'from'],
      ['from=1700000000000&to=1710000000000&step=60', 'step'],
      ['from=1700000000000&to=1700000000000&step=60', 'to'],
      ['from=1700000000000&to=1700003600000&step=-60', 'step'],
      // 1e400 passes the schema as an integer (Infinity); it must not reach the warehouse.
      ['from=1700000000000&to=1700003600000&step=1e400', 'step'],
      ['from=1e400&to=1700003600000&step=60', 'from'],
      ['from=9999999999999999999999&to=1700003600000&step=60', 'from'],
    ];
    for (const [query, parameter] of cases) {
      const res = await get(`/api/v1/test/echo-range?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().parameter, query).toBe(parameter);
    }
  });

  it('counts hits and misses in /metrics', async () => {
    const metrics = await app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/kansoku_gateway_cache_requests_total\{outcome="hit"\} [1-9]/);
    expect(metrics.body).toMatch(/kansoku_gateway_cache_requests_total\{outcome="miss"\} [1-9]/);
    expect(metrics.body).toMatch(/kansoku_gateway_cache_entries [1-9]/);
  });
});

describe('answer lifetimes', () => {
  const config = gatewayTestConfig();
  const now = Date.UTC(2026, 0, 1, 12, 0);
  it('keeps a live answer a sixth of its resolution within bounds, a settled one long', () => {
    expect(answerLifetime(config, now, 60_000, now)).toBe(10_000);
    expect(answerLifetime(config, now, 300_000, now)).toBe(50_000);
    expect(answerLifetime(config, now, 3_600_000, now)).toBe(60_000);
    expect(answerLifetime(config, undefined, 60_000, now)).toBe(10_000);
    // Every bucket older than cacheSettleMs: the answer cannot change any more.
    expect(answerLifetime(config, now - 300_000, 3_600_000, now)).toBe(600_000);
    expect(answerLifetime(config, now - 299_000, 3_600_000, now)).toBe(60_000);
  });
});

describe('rate limits', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildApp(db, { rateLimitPerMinute: 3, rateLimitAnonymousPerMinute: 2 }, [many]);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers 429 with Retry-After and the limit after the budget of a token, and not for another token', async () => {
    const url = '/api/v1/test/many-rows?count=1';
    const auth = { authorization: `Bearer ${VIEWER}` };
    for (let i = 0; i < 3; i++) expect((await app.inject({ url, headers: auth })).statusCode).toBe(200);
    const refused = await app.inject({ url, headers: auth });
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.json()).toMatchObject({ error: 'rate_limited', limit: 'gateway.rateLimitPerMinute' });
    expect(refused.json().message).toMatch(/3 requests per minute for this token/);
    const other = await app.inject({ url, headers: { authorization: `Bearer ${OTHER}` } });
    expect(other.statusCode).toBe(200);
    // Health and metrics are never limited.
    for (let i = 0; i < 5; i++) expect((await app.inject({ url: '/metrics' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/metrics' })).body).toMatch(
      /kansoku_gateway_rate_limited_total\{client="token"\} 1/,
    );
  });

  it('limits requests without a known token per address, so guessing tokens is limited too', async () => {
    const url = '/api/v1/test/many-rows?count=1';
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const res = await app.inject({ url, headers: { authorization: `Bearer guess-${i}-xxxxxxxx` } });
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([401, 401, 429, 429]);
    const refused = await app.inject({ url });
    expect(refused.json()).toMatchObject({ limit: 'gateway.rateLimitAnonymousPerMinute' });
  });
});

describe('query definitions', () => {
  const definition = (params: ReturnType<typeof Type.Object>) =>
    defineQuery({
      domain: 'test',
      name: 'definition',
      summary: 'x',
      description: 'x',
      params,
      async run() {
        return { columns: [], rows: [] };
      },
    });

  it('refuse to start with a top-N limit or a step the gateway cannot bound', async () => {
    await expect(
      buildApp(db, {}, [definition(Type.Object({ top: Type.Integer({ minimum: 1 }) }))]),
    ).rejects.toThrow('query test/definition: parameter top has no maximum');
    await expect(
      buildApp(db, {}, [
        definition(Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1_000_000 }) })),
      ]),
    ).rejects.toThrow(/parameter limit allows more than 10000/);
    await expect(
      buildApp(db, {}, [definition(Type.Object({ from: TimeRangeParams.from, step: TimeRangeParams.step }))]),
    ).rejects.toThrow(/parameter to is missing/);
  });

  it('bound a string the schema leaves open at request time', async () => {
    const app = await buildApp(db, {}, [
      definition(
        Type.Object({ name: Type.Optional(Type.String()), ids: Type.Optional(Type.Array(Type.String())) }),
      ),
    ]);
    try {
      const get = (query: string) =>
        app.inject({
          url: `/api/v1/test/definition?${query}`,
          headers: { authorization: `Bearer ${VIEWER}` },
        });
      expect((await get(`name=${'a'.repeat(1024)}`)).statusCode).toBe(200);
      const long = await get(`name=${'a'.repeat(1025)}`);
      expect(long.statusCode).toBe(400);
      expect(long.json()).toMatchObject({ parameter: 'name' });
      const many = await get(Array.from({ length: 101 }, (_, i) => `ids=${i}`).join('&'));
      expect(many.statusCode).toBe(400);
      expect(many.json()).toMatchObject({ parameter: 'ids' });
    } finally {
      await app.close();
    }
  });
});
