/**
 * The DNS dashboard as Grafana would ask it: every panel's Infinity URL (the builder's own request expansion,
 * variables at their defaults) run through the DNS queries on an embedded ClickHouse holding a simulated week
 * of resolver traffic; each answer must have rows and the columns the panel reads.
 */

import { create } from '@bufbuild/protobuf';
import { DnsQuerySchema, IpVersion } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { ingestLedgerMigration, migrate, silentLogger } from '@kansoku/kit';
import { openTestWarehouse, type TestWarehouse } from '@kansoku/kit/testing/warehouse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard } from '../../../grafana-dashboards/src/dashboard.ts';
import { panelRequests } from '../../../grafana-dashboards/src/requests.ts';
import { dnsDashboard } from '../../src/dashboard.ts';
import { writeDnsQueries } from '../../src/processor/aggregate.ts';
import { dnsQueries, runQuery } from '../../src/queries.ts';
import { createQueryGenerator } from '../../src/simulator/query-generator.ts';
import { dnsMigrations } from '../../src/tables.ts';

const NOW = Date.now();
let tw: TestWarehouse;

beforeAll(async () => {
  tw = await openTestWarehouse({ prefix: 'kansoku-dns-dash-' });
  await migrate(tw.warehouse, [ingestLedgerMigration, ...dnsMigrations], { log: silentLogger() });
  const g = createQueryGenerator({
    seed: 5,
    sources: 2000,
    ipv6Share: 0.3,
    nxdomainShare: 0.05,
    servfailShare: 0.01,
    unansweredShare: 0.01,
    activitySigma: 1,
    zones: 200,
  });
  // Eight days back: 150 queries every 20 minutes.
  const records = [];
  for (let t = NOW - 8 * 86_400_000; t < NOW; t += 20 * 60_000) {
    for (let i = 0; i < 150; i++) {
      const q = g.next(t + i * 1000);
      records.push(
        create(DnsQuerySchema, {
          timeQueryNs: BigInt(Math.floor(q.timeMs)) * 1_000_000n,
          clientAddress: q.client,
          ipVersion: q.client.length === 16 ? IpVersion.V6 : IpVersion.V4,
          transport: q.protocol,
          qname: q.qname,
          qtype: q.qtype,
          responseSeen: q.responseUs !== undefined,
          rcode: q.rcode,
          responseTimeUs: BigInt(q.responseUs ?? 0),
          resolverIdentity: 'r1',
        }),
      );
    }
  }
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
