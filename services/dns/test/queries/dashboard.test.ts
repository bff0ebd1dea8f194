/**
 * The DNS dashboard as Grafana would ask it: every panel's Infinity URL (the builder's own request expansion,
 * variables at their defaults) run through the DNS queries on an embedded ClickHouse holding a simulated week
 * of resolver traffic; each answer must have rows and the columns the panel reads.
 */

import { ingestLedgerMigration, migrate, silentLogger } from '@kansoku/kit';
import { openTestWarehouse, type TestWarehouse } from '@kansoku/kit/testing/warehouse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard } from '../../../grafana-dashboards/src/dashboard.ts';
import { panelRequests } from '../../../grafana-dashboards/src/requests.ts';
import { dnsDashboard } from '../../src/dashboard.ts';
import { writeDnsQueries } from '../../src/processor/aggregate.ts';
import { dnsQueries, runQuery } from '../../src/queries.ts';
import { sampleDnsQueries } from '../../src/simulator/sample-traffic.ts';
import { dnsMigrations } from '../../src/tables.ts';

const NOW = Date.now();
let tw: TestWarehouse;

beforeAll(async () => {
  tw = await openTestWarehouse({ prefix: 'kansoku-dns-dash-' });
  await migrate(tw.warehouse, [ingestLedgerMigration, ...dnsMigrations], { log: silentLogger() });
  // Eight days back: 150 queries every 20 minutes.
  const records = sampleDnsQueries({ fromMs: NOW - 8 * 86_400_000, toMs: NOW });
  for (let i = 0; i < records.length; i += 20_000) {
    await writeDnsQueries(tw.warehouse, records.slice(i, i + 20_000), {
      rawSampleOneIn: 1,
      dedupToken: `dash-${i}`,
    });
  }
}, 120_000);

afterAll(async () => {
  await tw?.close();
});

describe('DNS dashboard', () => {
  it('every panel request answers with rows and the columns it reads', async () => {
    const requests = panelRequests(buildDashboard(dnsDashboard), { now: NOW });
    expect(requests.length).toBeGreaterThan(10);
    for (const r of requests) {
      const url = new URL(r.url, 'http://gateway');
      const name = url.pathname.replace(/^.*\/api\/v1\/dns\//, '');
      const query = dnsQueries.find((q) => q.name === name);
      expect(query, url.pathname).toBeDefined();
      if (!query) continue;
      const params = Object.fromEntries([...url.searchParams.entries()].filter(([, v]) => v !== ''));
      const answer = await runQuery(query, params, tw.warehouse);
      expect(answer.rows.length, `${r.panel.title}: ${r.url}`).toBeGreaterThan(0);
      const names = new Set(answer.columns.map((c) => c.name));
      for (const column of (r.target.columns ?? []) as { selector?: string }[]) {
        if (column.selector)
          expect(names.has(column.selector), `${r.panel.title}: ${column.selector}`).toBe(true);
      }
    }
  }, 120_000);
});
