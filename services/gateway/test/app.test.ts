import { defineQuery, TimeRangeParams, validateTimeRange, type Warehouse } from '@kansoku/kit';
import { openTestWarehouse, type TestWarehouse } from '@kansoku/kit/testing/warehouse';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayApp } from '../src/app.ts';
import { gatewayTestConfig } from './gateway-config.ts';

const VIEWER = 'viewer-token-0001';
const ADMIN = 'admin-token-0001';

const numbersQuery = defineQuery({
  domain: 'test',
  name: 'numbers',
  summary: 'Counts numbers below a bound per step',
  description: 'Exercises bound parameters against the real embedded ClickHouse',
  params: Type.Object({ ...TimeRangeParams, limit: Type.Integer({ minimum: 1, maximum: 100 }) }),
  validate: validateTimeRange,
  async run(p, { warehouse }) {
    const rows = await warehouse.query<{ n: number }>('SELECT count() AS n FROM numbers({limit:UInt32})', {
      limit: p.limit,
    });
    return { columns: [{ name: 'n', type: 'number' }], rows: rows.map((r) => ({ n: Number(r.n) })) };
  },
});
const adminQuery = defineQuery({
  domain: 'test',
  name: 'admin-only',
  summary: 'Needs the admin role',
  description: 'Role check',
  role: 'admin',
  params: Type.Object({}),
  async run() {
    return { columns: [], rows: [] };
  },
});

describe('gateway app', () => {
  let db: TestWarehouse;
  let warehouse: Warehouse;
  let app: FastifyInstance;

  beforeAll(async () => {
    db = await openTestWarehouse({ prefix: 'kansoku-gw-', processMetrics: true });
    const { metrics } = db;
    warehouse = db.warehouse;
    app = Fastify();
    await app.register(gatewayApp, {
      config: gatewayTestConfig({ tokens: [`viewer:${VIEWER}`, `admin:${ADMIN}`] }),
      metrics,
      warehouse,
      version: 'test',
      queries: [numbersQuery, adminQuery],
      health: [
        { name: 'clickhouse', check: async () => `chDB ${await warehouse.version()}` },
        {
          name: 'kafka',
          check: async () => {
            throw new Error('connection refused 127.0.0.1:1');
          },
        },
      ],
    });
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
    await db.close();
  });

  const range = 'from=1700000000000&to=1700003600000&step=60';
  const get = (url: string, token?: string) =>
    app.inject({ method: 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('reports each dependency by name and 503 when one is down', async () => {
    const res = await get('/health');
    expect(res.statusCode).toBe(503);
    const body = res.json();
    expect(body.status).toBe('degraded');
    expect(body.dependencies.clickhouse.ok).toBe(true);
    expect(body.dependencies.clickhouse.detail).toMatch(/^chDB \d+\./);
    expect(body.dependencies.kafka).toMatchObject({ ok: false, detail: 'connection refused 127.0.0.1:1' });
    expect((await get('/ready')).statusCode).toBe(503);
  });

  it('runs a query with bound parameters for a valid token', async () => {
    const res = await get(`/api/v1/test/numbers?${range}&limit=42`, VIEWER);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ columns: [{ name: 'n', type: 'number' }], rows: [{ n: 42 }] });
  });

  it('refuses missing, malformed and unknown tokens with 401, and a weak role with 403', async () => {
    expect((await get(`/api/v1/test/numbers?${range}&limit=1`)).statusCode).toBe(401);
    const malformed = await app.inject({ url: '/api/v1/queries', headers: { authorization: 'Basic abc' } });
    expect(malformed.statusCode).toBe(401);
    expect((await get('/api/v1/queries', 'not-a-known-token')).statusCode).toBe(401);
    const forbidden = await get('/api/v1/test/admin-only', VIEWER);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().message).toContain('admin');
    expect((await get('/api/v1/test/admin-only', ADMIN)).statusCode).toBe(200);
  });

  it('answers a bad parameter with a 400 naming it', async () => {
    const notNumber = await get(`/api/v1/test/numbers?${range}&limit=abc`, VIEWER);
    expect(notNumber.statusCode).toBe(400);
    expect(notNumber.json().parameter).toBe('limit');
    const missing = await get('/api/v1/test/numbers?limit=3', VIEWER);
    expect(missing.statusCode).toBe(400);
    expect(missing.json().parameter).toBe('from');
    const reversed = await get('/api/v1/test/numbers?from=2000000&to=1000000&step=60&limit=3', VIEWER);
    expect(reversed.statusCode).toBe(400);
    expect(reversed.json()).toMatchObject({ parameter: 'to' });
    const injection = await get(`/api/v1/test/numbers?${range}&limit=1;DROP%20TABLE%20x`, VIEWER);
    expect(injection.statusCode).toBe(400);
  });

  it('answers an unknown route with 404 and lists the catalog', async () => {
    expect((await get('/api/v1/test/nope', VIEWER)).statusCode).toBe(404);
    const catalog = await get('/api/v1/queries', VIEWER);
    expect(catalog.json()).toContainEqual({
      domain: 'test',
      name: 'numbers',
      path: '/api/v1/test/numbers',
      summary: 'Counts numbers below a bound per step',
    });
  });

  it('serves OpenAPI with every query route and Prometheus metrics', async () => {
    const spec = (await get('/docs/json')).json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/health', '/ready', '/api/v1/test/numbers', '/api/v1/test/admin-only']),
    );
    const metrics = await get('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('kansoku_warehouse_requests_total');
    expect(metrics.body).toMatch(
      /kansoku_gateway_requests_total\{route="\/api\/v1\/test\/numbers",status="400"\} \d+/,
    );
  });
});
