import { readFileSync } from 'node:fs';
import { flowsMigrations, flowsQueries } from '@kansoku/flows';
import { createGateway, type Gateway } from '@kansoku/gateway';
import { createMetricsRegistry, migrate, silentLogger } from '@kansoku/kit';
import { openTestWarehouse, type TestWarehouse } from '@kansoku/kit/testing/warehouse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOARD_RANGES, boardPath, FLOWS_BOARD_PANELS, pickRange } from '../../src/gateway/flows-board.ts';

const TOKEN = 'board-test-token-01';

describe('the flows board requests', () => {
  let db: TestWarehouse;
  let gateway: Gateway;
  beforeAll(async () => {
    db = await openTestWarehouse({ prefix: 'kansoku-load-board-' });
    await migrate(db.warehouse, flowsMigrations, { log: silentLogger() });
    gateway = createGateway(
      {
        host: '127.0.0.1',
        port: 0,
        tokens: [`viewer:${TOKEN}`],
        anonymousRole: 'none',
        rateLimitPerMinute: 0,
      },
      {
        log: silentLogger(),
        metrics: createMetricsRegistry({ processMetrics: false }),
        warehouse: db.warehouse,
        health: [],
        queries: flowsQueries,
        version: 'test',
      },
    );
    await gateway.start();
  });
  afterAll(async () => {
    await gateway?.stop();
    await db?.close();
  });

  it('cover all 12 flows queries, and every panel and range is a valid request', async () => {
    expect(new Set(FLOWS_BOARD_PANELS.map((p) => p.query))).toEqual(new Set(flowsQueries.map((q) => q.name)));
    for (const range of BOARD_RANGES) {
      for (const panel of FLOWS_BOARD_PANELS) {
        const url = boardPath(panel, range, Date.now());
        const res = await gateway.app().inject({ url, headers: { authorization: `Bearer ${TOKEN}` } });
        expect(res.statusCode, `${url}: ${res.body.slice(0, 200)}`).toBe(200);
      }
    }
  });

  it('draw ranges by weight', () => {
    expect(pickRange(0).label).toBe('1h');
    expect(pickRange(0.999).label).toBe('30d');
  });

  it('match the k6 script panel for panel', () => {
    const script = readFileSync(new URL('../../k6/flows-dashboard.js', import.meta.url), 'utf8');
    const k6Panels = [...script.matchAll(/^\s*\['([a-z0-9-]+)', (\{[^}]*\}), (true|false)\],$/gm)].map(
      (m) => [m[1], m[2], m[3]],
    );
    const ours = FLOWS_BOARD_PANELS.map((p) => [
      p.query,
      Object.keys(p.params).length === 0
        ? '{}'
        : `{ ${Object.entries(p.params)
            .map(([k, v]) => `${k}: ${typeof v === 'string' ? `'${v}'` : v}`)
            .join(', ')} }`,
      String(p.series),
    ]);
    expect(k6Panels).toEqual(ours);
    const k6Ranges = [...script.matchAll(/\{ label: '(\w+)', ms: [^,]+, step: (\d+), weight: (\d+) \}/g)].map(
      (m) => [m[1], Number(m[2]), Number(m[3])],
    );
    expect(k6Ranges).toEqual(BOARD_RANGES.map((r) => [r.label, r.step, r.weight]));
  });
});
