/**
 * Every data route of every module the platform knows (services/platform/src/modules.ts), against
 * the real embedded ClickHouse with every module's migrations applied, so queries really run:
 * - a missing or a wrong token gets 401, a viewer on a route needing more gets 403;
 * - a parameter fuzz (random strings, SQL fragments, huge and negative numbers, unicode, control
 *   characters, arrays, empty values, unknown parameters) gets only 4xx (or a 200 when the values
 *   happen to be valid), never a 5xx, and never ClickHouse's error text;
 * - an unknown query is a 404.
 * A new module's queries are covered as soon as it is in the module list.
 */
import {
  createMetricsRegistry,
  defineQuery,
  ingestLedgerMigration,
  migrate,
  type QueryDefinition,
  silentLogger,
} from '@kansoku/kit';
import { type Random, seededRandom } from '@kansoku/kit/testing/fuzz';
import { openTestWarehouse, type TestWarehouse } from '@kansoku/kit/testing/warehouse';
import { platformModules } from '@kansoku/platform/modules';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayApp } from '../src/app.ts';
import { gatewayTestConfig } from './gateway-config.ts';

const VIEWER = 'viewer-token-fuzz-0001';
const OPERATOR = 'operator-token-fuzz-0001';
const ADMIN = 'admin-token-fuzz-0001';
// ClickHouse's error text: its exception prefix, error codes and names (case-sensitive: parameter
// names such as unknown_param are not error names).
const CLICKHOUSE_TEXT =
  /DB::Exception|Code: \d+\.|Syntax error|\b(UNKNOWN|CANNOT|ILLEGAL|TYPE_MISMATCH|NO_COMMON_TYPE|TIMEOUT_EXCEEDED)[A-Z_]*\b|ClickHouse|chDB/;
const FUZZ_SEED = 4;

/** An admin-only route next to the modules', so the 403 path is exercised even if no module has one. */
const adminProbe = defineQuery({
  domain: 'gateway-test',
  name: 'admin-probe',
  summary: 'Admin only',
  description: 'Role check',
  role: 'admin',
  params: Type.Object({}),
  async run() {
    return { columns: [], rows: [] };
  },
});

const modules = platformModules();
const moduleQueries = modules.flatMap((m) => m.queries);
const queries: QueryDefinition[] = [...moduleQueries, adminProbe];
const pathOf = (q: QueryDefinition) => `/api/v1/${q.domain}/${q.name}`;

const DAY = 86_400_000;
const NOW = Date.now();

/** Values a hostile or careless client sends. */
const HOSTILE: string[] = [
  '',
  ' ',
  '0',
  '-1',
  '-60',
  '1e400',
  '9999999999999999999999',
  '18446744073709551616',
  '-9223372036854775809',
  'NaN',
  'Infinity',
  '0x10',
  '1.5',
  'true',
  'null',
  "1' OR '1'='1",
  '1; DROP TABLE flows_traffic_1m; --',
  "') UNION SELECT * FROM system.users --",
  '{limit:UInt16}',
  '{{db}}.flows_raw',
  '\\N',
  '%00',
  '\u0000',
  '日本語',
  '🙂🙂🙂',
  'Ω≈ç√∫',
  '\u202e',
  'a'.repeat(5000),
  '1'.repeat(300),
  '::ffff:999.1.1.1',
  '1.2.3.4.5',
  'Europe/../../etc/passwd',
  'Asia/Tokyo\nSELECT 1',
  '[1,2]',
  '{"a":1}',
];

/** Values a board sends, so some requests get past validation and reach the warehouse. */
function plausible(name: string): string[] {
  switch (name) {
    case 'from':
      return [String(NOW - DAY), String(NOW - 30 * DAY), '0', String(NOW - 3_600_000)];
    case 'to':
      return [String(NOW), String(NOW + DAY), String(NOW - 3_600_000 + 1)];
    case 'step':
      return ['60', '300', '3600', '86400'];
    case 'limit':
      return ['1', '10', '100'];
    case 'exporter':
    case 'address':
      return ['192.0.2.1', '2001:db8::1', ''];
    case 'ip_version':
      return ['4', '6'];
    case 'timezone':
      return ['Asia/Tokyo', 'UTC', 'Asia/Kolkata', 'America/St_Johns'];
    default:
      return ['1', '10', 'all', 'src', 'auto', '60'];
  }
}

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

function encode(pairs: [string, string][]): string {
  return pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

/** A valid-looking request for the query, as a board would send it. */
function baseline(query: QueryDefinition): [string, string][] {
  const properties = Object.keys(query.params.properties ?? {});
  const pairs: [string, string][] = [];
  if (properties.includes('from')) pairs.push(['from', String(NOW - DAY)], ['to', String(NOW)]);
  if (properties.includes('step')) pairs.push(['step', '300']);
  return pairs;
}

function expectSafe(res: LightMyRequestResponse, what: string): void {
  const where = `${what.slice(0, 300)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
  expect(res.statusCode, where).toBeLessThan(500);
  expect(res.body, where).not.toMatch(CLICKHOUSE_TEXT);
  if (res.statusCode >= 400) {
    const body = res.json() as { error?: unknown; message?: unknown };
    expect(typeof body.error, where).toBe('string');
    expect(typeof body.message, where).toBe('string');
  } else {
    const body = res.json() as { columns?: unknown; rows?: unknown };
    expect(Array.isArray(body.columns), where).toBe(true);
    expect(Array.isArray(body.rows), where).toBe(true);
  }
}

describe('every data route of every platform module', () => {
  let db: TestWarehouse;
  let app: FastifyInstance;

  beforeAll(async () => {
    db = await openTestWarehouse({ prefix: 'kansoku-gw-modules-' });
    await migrate(db.warehouse, [ingestLedgerMigration, ...modules.flatMap((m) => m.migrations)], {
      log: silentLogger(),
    });
    app = Fastify();
    await app.register(gatewayApp, {
      config: gatewayTestConfig({
        tokens: [`viewer:${VIEWER}`, `operator:${OPERATOR}`, `admin:${ADMIN}`],
        rateLimitPerMinute: 0,
        rateLimitAnonymousPerMinute: 0,
        // Fuzzed ranges reach the warehouse: every answer is computed, not remembered.
        cacheEnabled: false,
      }),
      metrics: createMetricsRegistry({ processMetrics: false }),
      warehouse: db.warehouse,
      version: 'test',
      queries,
      health: [],
    });
    await app.ready();
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('has routes to test: the platform registers queries', () => {
    expect(moduleQueries.length).toBeGreaterThanOrEqual(12);
  });

  it('refuses a missing token and a wrong token with 401 on every route', async () => {
    for (const query of queries) {
      const url = `${pathOf(query)}?${encode(baseline(query))}`;
      const missing = await app.inject({ url });
      expect(missing.statusCode, `${url} without a token`).toBe(401);
      expect(missing.json().error).toBe('unauthorized');
      for (const header of ['Bearer not-a-known-token-xx', 'Bearer ', 'Basic dmlld2VyOnRva2Vu', VIEWER]) {
        const wrong = await app.inject({ url, headers: { authorization: header } });
        expect(wrong.statusCode, `${url} with "${header}"`).toBe(401);
      }
    }
  });

  it('refuses a token whose role is below the route with 403, and lets the role through', async () => {
    const needsMore = queries.filter((q) => (q.role ?? 'viewer') !== 'viewer');
    expect(needsMore.length).toBeGreaterThan(0);
    for (const query of needsMore) {
      const url = `${pathOf(query)}?${encode(baseline(query))}`;
      const viewer = await app.inject({ url, headers: { authorization: `Bearer ${VIEWER}` } });
      expect(viewer.statusCode, url).toBe(403);
      expect(viewer.json().error).toBe('forbidden');
      const token = query.role === 'operator' ? OPERATOR : ADMIN;
      const allowed = await app.inject({ url, headers: { authorization: `Bearer ${token}` } });
      expect(allowed.statusCode, url).toBe(200);
    }
  });

  it('answers a range-only request on every route without a 5xx, and with 200 on every flows route', async () => {
    for (const query of moduleQueries) {
      const url = `${pathOf(query)}?${encode(baseline(query))}`;
      const res = await app.inject({ url, headers: { authorization: `Bearer ${ADMIN}` } });
      expectSafe(res, url);
      // Other domains may need more than a range (bgp/prefix-origin needs a prefix or an address).
      if (query.domain === 'flows') expect(res.statusCode, `${url}: ${res.body.slice(0, 300)}`).toBe(200);
    }
  });

  it('answers an unknown query with 404', async () => {
    for (const url of ['/api/v1/flows/no-such-query', '/api/v1/no-such-domain/totals', '/api/v1/flows/']) {
      const res = await app.inject({ url, headers: { authorization: `Bearer ${VIEWER}` } });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error).toBe('not_found');
    }
  });

  it('answers every hostile value of every parameter with a 4xx, never a 5xx or ClickHouse text', async () => {
    let requests = 0;
    for (const query of moduleQueries) {
      const names = [...Object.keys(query.params.properties ?? {}), 'unknown_param'];
      for (const name of names) {
        for (const value of HOSTILE) {
          const pairs = baseline(query).filter(([k]) => k !== name);
          pairs.push([name, value]);
          const url = `${pathOf(query)}?${encode(pairs)}`;
          const res = await app.inject({ url, headers: { authorization: `Bearer ${ADMIN}` } });
          expectSafe(res, url);
          requests++;
        }
        // The same parameter twice (an array), and present but empty.
        for (const raw of [`${name}=1&${name}=2`, `${name}=`, `${name}`, `${name}[]=1`]) {
          const rest = encode(baseline(query).filter(([k]) => k !== name));
          const url = `${pathOf(query)}?${rest}${rest ? '&' : ''}${raw}`;
          const res = await app.inject({ url, headers: { authorization: `Bearer ${ADMIN}` } });
          expectSafe(res, url);
          requests++;
        }
      }
    }
    expect(requests).toBeGreaterThan(1000);
  }, 600_000);

  it('survives random mixes of plausible and hostile values', async () => {
    const random = seededRandom(FUZZ_SEED);
    const statuses = new Map<number, number>();
    for (const query of moduleQueries) {
      const names = Object.keys(query.params.properties ?? {});
      for (let i = 0; i < 60; i++) {
        // Half the requests as a board would send them, half with hostile values mixed in.
        const hostileRate = i % 2 === 0 ? 0 : 0.3;
        const pairs: [string, string][] = [];
        for (const name of names) {
          if (random() < 0.15) continue;
          pairs.push([name, random() < hostileRate ? pick(random, HOSTILE) : pick(random, plausible(name))]);
        }
        const url = `${pathOf(query)}?${encode(pairs)}`;
        const res = await app.inject({ url, headers: { authorization: `Bearer ${ADMIN}` } });
        expectSafe(res, url);
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      }
    }
    // The mix must reach the warehouse often, or the fuzz proves little about it.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(50);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(50);
  }, 600_000);
});
