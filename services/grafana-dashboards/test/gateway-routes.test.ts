/**
 * Every request Grafana would send for the generated dashboards, answered by the real gateway app
 * (`inject()`) with the queries of every platform module over a real embedded warehouse (all
 * migrations applied, flows from several exporters and both IP versions, one firing alert).
 *
 * For each dashboard: the query variables are resolved first (their own gateway query), then every
 * panel's URL is expanded as Grafana would — the panel's range (its `timeFrom` or the dashboard's),
 * and the variables at their initial selection, then each option of each variable in turn, "All"
 * included. Each request must get a 200, the columns the panel reads (with their types) must be in
 * the answer, and at the initial selection every panel must have rows to draw.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { ALERTING_HISTORY_TABLE, ALERTING_STATE_TABLE } from '@kansoku/alerting';
import {
  type FlowRecord,
  FlowRecordSchema,
  IpVersion,
} from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { aggregateFlowRecords } from '@kansoku/flows';
import { gatewayApp, gatewaySection } from '@kansoku/gateway';
import { insertSinkOutput, migrate, silentLogger } from '@kansoku/kit';
import { openTestWarehouse, type TestWarehouse } from '@kansoku/kit/testing/warehouse';
import { platformModules } from '@kansoku/platform/modules';
import { Value } from '@sinclair/typebox/value';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PEER_EVENTS_TABLE,
  PEER_STATE_TABLE,
  PREFIX_LENGTHS_1H_TABLE,
  PREFIX_LENGTHS_1M_TABLE,
  PREFIX_ORIGINS_TABLE,
  UPDATE_RATES_TABLE,
} from '../../bgp/src/tables.ts';
import { writeDnsQueries } from '../../dns/src/processor/aggregate.ts';
import { sampleDnsQueries } from '../../dns/src/simulator/sample-traffic.ts';
import { buildDashboard } from '../src/dashboard.ts';
import type { InfinityTargetFields } from '../src/infinity.ts';
import { allDashboards } from '../src/registry.ts';
import {
  dataPanels,
  initialSelection,
  interpolate,
  panelRequests,
  relativeMs,
  targetsOf,
  variablesOf,
} from './grafana.ts';

const TOKEN = 'viewer-token-dashboards-0001';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const EXPORTERS = ['192.0.2.1', '192.0.2.2', '2001:db8::1'];

interface GatewayAnswer {
  columns: { name: string; type: string }[];
  rows: Record<string, string | number | null>[];
}

/** Traffic shaped like an ISP's: several ASes, ports and interfaces, both IP versions. */
function syntheticFlows(now: number): FlowRecord[] {
  const records: FlowRecord[] = [];
  const mixes = [
    { v: 4, proto: 6, sport: 443, app: 'HTTPS', as: 64_500, bytes: 90_000 },
    { v: 4, proto: 17, sport: 443, app: 'QUIC', as: 64_501, bytes: 40_000 },
    { v: 4, proto: 6, sport: 80, app: 'HTTP', as: 64_502, bytes: 30_000 },
    { v: 6, proto: 6, sport: 443, app: 'HTTPS', as: 64_500, bytes: 4_000 },
    { v: 6, proto: 17, sport: 443, app: 'QUIC', as: 64_503, bytes: 2_500 },
    { v: 6, proto: 58, sport: 0, app: '', as: 64_504, bytes: 300 },
  ] as const;
  const push = (at: number, i: number) => {
    const mix = mixes[i % mixes.length]!;
    const v6 = mix.v === 6;
    const exporter = EXPORTERS[i % EXPORTERS.length]!;
    const init: MessageInitShape<typeof FlowRecordSchema> = {
      timeReceivedNs: BigInt(at) * 1_000_000n,
      exporterAddress: parseIpAddress(exporter),
      inInterface: 10 + (i % 3),
      outInterface: 20 + (i % 2),
      ipVersion: v6 ? IpVersion.V6 : IpVersion.V4,
      srcAddress: parseIpAddress(v6 ? `2001:db8:1::${(i % 7) + 1}` : `198.51.100.${(i % 7) + 1}`),
      dstAddress: parseIpAddress(v6 ? `2001:db8:2::${(i % 5) + 1}` : `203.0.113.${(i % 5) + 1}`),
      protocol: mix.proto,
      srcPort: mix.sport,
      dstPort: 50_000 + (i % 100),
      applicationName: mix.app,
      srcAs: mix.as,
      dstAs: 65_000,
      bytes: BigInt(mix.bytes + (i % 11) * 100),
      packets: BigInt(Math.ceil(mix.bytes / 1200)),
      samplingRate: 1,
    };
    records.push(create(FlowRecordSchema, init));
  };
  // The last 26 hours every 5 minutes (raw flows too), and 34 days before that every 2 hours.
  let i = 0;
  for (let at = now - 26 * HOUR; at < now; at += 5 * MINUTE)
    for (let k = 0; k < 6; k++) push(at + k * 1000, i++);
  for (let at = now - 34 * DAY; at < now - 26 * HOUR; at += 2 * HOUR)
    for (let k = 0; k < 6; k++) push(at + k, i++);
  return records;
}

/**
 * A small RIB as bgp-processor writes it: per-minute and hourly prefix-length snapshots of the whole RIB (peer '')
 * and of one peer, update rates, a peer with its up event, and prefix origins — enough for every BGP panel to draw.
 */
async function insertBgpRows(tw: TestWarehouse, now: number): Promise<void> {
  const time = (ms: number) => clickHouseTime(ms).slice(0, 19);
  const lengths = {
    1: [
      [16, 12_000],
      [22, 90_000],
      [24, 520_000],
    ],
    2: [
      [32, 25_000],
      [48, 80_000],
    ],
  } as const;
  const snapshot = (at: number, bucketMs: number) =>
    Object.entries(lengths).flatMap(([afi, rows]) =>
      rows.flatMap(([prefix_length, routes]) =>
        ['', '198.51.100.1'].map((peer) => ({
          time: time(Math.floor(at / bucketMs) * bucketMs),
          router: peer === '' ? '' : '192.0.2.10',
          peer,
          distinguisher: '0',
          peer_asn: peer === '' ? 0 : 64_500,
          rib_type: peer === '' ? 0 : 3,
          afi: Number(afi),
          prefix_length,
          routes,
        })),
      ),
    );
  for (let at = now - 35 * DAY; at <= now; at += HOUR)
    await tw.warehouse.insert(PREFIX_LENGTHS_1H_TABLE, snapshot(at, HOUR));
  for (let at = now - 6 * HOUR; at <= now; at += 10 * MINUTE)
    await tw.warehouse.insert(PREFIX_LENGTHS_1M_TABLE, snapshot(at, MINUTE));
  await tw.warehouse.insert(
    UPDATE_RATES_TABLE,
    Array.from({ length: 360 }, (_, i) => ({
      time: time(Math.floor((now - i * MINUTE) / MINUTE) * MINUTE),
      router: '192.0.2.10',
      peer: '198.51.100.1',
      distinguisher: '0',
      rib_type: 3,
      afi: 1,
      announcements: 100 + i,
      withdrawals: i % 7,
    })),
  );
  const upAt = now - 2 * HOUR;
  await tw.warehouse.insert(PEER_EVENTS_TABLE, [
    {
      time: clickHouseTime(upAt),
      router: '192.0.2.10',
      peer: '198.51.100.1',
      distinguisher: '0',
      peer_asn: 64_500,
      event: 'up',
      reason: 0,
      routes_dropped: 0,
      detail: '',
    },
  ]);
  await tw.warehouse.insert(PEER_STATE_TABLE, [
    {
      time: time(now),
      router: '192.0.2.10',
      peer: '198.51.100.1',
      distinguisher: '0',
      rib_type: 3,
      peer_asn: 64_500,
      state: 'up',
      routes_ipv4: 622_000,
      routes_ipv6: 105_000,
      last_change: clickHouseTime(upAt),
    },
  ]);
  await tw.warehouse.insert(
    PREFIX_ORIGINS_TABLE,
    [1, 2].flatMap((afi) =>
      Array.from({ length: 30 }, (_, i) => ({
        afi,
        prefix: afi === 1 ? `203.0.${i}.0/24` : `2001:db8:${i}::/48`,
        prefix_length: afi === 1 ? 24 : 48,
        origin_as: 64_500 + (i % 5),
        present: 1,
        updated: clickHouseTime(now),
      })),
    ),
  );
}

const clickHouseTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

describe('every Infinity URL of the generated dashboards, through the real gateway', () => {
  let tw: TestWarehouse;
  let app: FastifyInstance;
  const now = Math.floor(Date.now() / MINUTE) * MINUTE;
  const routes = new Set<string>();

  const get = async (url: string): Promise<{ status: number; body: string }> => {
    const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: res.statusCode, body: res.body };
  };

  beforeAll(async () => {
    tw = await openTestWarehouse({ prefix: 'kansoku-dashboards-' });
    const modules = platformModules();
    await migrate(
      tw.warehouse,
      modules.flatMap((m) => m.migrations),
      { log: silentLogger() },
    );
    const records = syntheticFlows(now);
    for (const out of aggregateFlowRecords(records)) {
      const dedupToken = `dashboards-test:${out.table}`;
      await insertSinkOutput(tw.warehouse, out, { dedupToken });
    }
    const firedAt = now - 7 * MINUTE;
    const alert = {
      fingerprint: '0f1e2d3c4b5a6978',
      alertname: 'FlowsExporterSilent',
      source: 'rule',
      rule_group: 'flows',
      severity: 'critical',
      from_state: 'pending',
      state: 'firing',
      labels: { alertname: 'FlowsExporterSilent', severity: 'critical', exporter: '192.0.2.2' },
      annotations: { summary: 'No flows from 192.0.2.2 for 5 minutes' },
      value: 0,
      active_at: clickHouseTime(firedAt - 5 * MINUTE),
      fired_at: clickHouseTime(firedAt),
      resolved_at: clickHouseTime(0),
    };
    await tw.warehouse.insert(ALERTING_STATE_TABLE, [{ updated_at: clickHouseTime(firedAt), ...alert }]);
    await tw.warehouse.insert(ALERTING_HISTORY_TABLE, [{ time: clickHouseTime(firedAt), ...alert }]);
    await insertBgpRows(tw, now);
    const dns = sampleDnsQueries({ fromMs: now - 8 * DAY, toMs: now });
    for (let i = 0; i < dns.length; i += 20_000) {
      await writeDnsQueries(tw.warehouse, dns.slice(i, i + 20_000), {
        rawSampleOneIn: 1,
        dedupToken: `dns-${i}`,
      });
    }

    const queries = modules.flatMap((m) => m.queries);
    for (const q of queries) routes.add(`/api/v1/${q.domain}/${q.name}`);
    const config = {
      ...(Value.Default(gatewaySection.schema, {}) as object),
      host: '127.0.0.1',
      port: 0,
      tokens: [`viewer:${TOKEN}`],
      anonymousRole: 'none',
      // Hundreds of requests from one token in a few seconds: Grafana spreads them over users and time.
      rateLimitPerMinute: 0,
      rateLimitAnonymousPerMinute: 0,
    } as Parameters<typeof gatewayApp>[1]['config'];
    app = Fastify({ logger: { level: 'error' } }); // TEMPLOG
    await app.register(gatewayApp, {
      config,
      metrics: tw.metrics,
      health: [],
      queries,
      warehouse: tw.warehouse,
      version: 'test',
    });
    await app.ready();
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    await tw?.close();
  });

  /** What a dashboard's variables can take: option values, resolved query options, the all-value. */
  async function variableChoices(dashboard: Dashboard, range: { from: number; to: number }) {
    const choices = new Map<string, string[]>();
    for (const variable of variablesOf(dashboard)) {
      const values: string[] = [];
      if (variable.type === 'custom') {
        for (const option of variable.options ?? []) values.push(String(option.value));
      } else if (variable.type === 'query') {
        const query = (variable.query as { infinityQuery: InfinityTargetFields }).infinityQuery;
        const url = interpolate(query.url, { __from: String(range.from), __to: String(range.to) });
        expect(routes.has(url.split('?')[0] ?? ''), `variable ${variable.name}: ${url}`).toBe(true);
        const res = await get(url);
        expect(res.status, `variable ${variable.name}: ${url}: ${res.body}`).toBe(200);
        const answer = JSON.parse(res.body) as GatewayAnswer;
        const column = query.columns[0]?.selector ?? '';
        expect(answer.columns.map((c) => c.name)).toContain(column);
        // Grafana keeps each distinct value once.
        for (const row of answer.rows) values.push(String(row[column]));
        expect(values.length, `variable ${variable.name} has no options`).toBeGreaterThan(0);
      } else {
        throw new Error(`variable type ${variable.type} is not simulated`);
      }
      if (variable.includeAll) values.push(variable.allValue ?? '');
      choices.set(variable.name ?? '', [...new Set(values)]);
    }
    return choices;
  }

  function checkAnswer(where: string, target: InfinityTargetFields, body: string): GatewayAnswer {
    const answer = JSON.parse(body) as GatewayAnswer;
    for (const column of target.columns) {
      const declared = answer.columns.find((c) => c.name === column.selector);
      expect(declared, `${where}: column ${column.selector} missing`).toBeDefined();
      const expected = column.type === 'timestamp_epoch' ? 'time' : column.type;
      expect(declared?.type, `${where}: column ${column.selector}`).toBe(expected);
      for (const row of answer.rows) expect(row, where).toHaveProperty(column.selector);
    }
    return answer;
  }

  const definitions = allDashboards();
  it.each(definitions.map((d) => ({ uid: d.uid, definition: d })))(
    '$uid: every panel × every variable option gets a 200 with the columns it reads',
    async ({ definition }) => {
      const dashboard = buildDashboard(definition);
      const dashboardRange = relativeMs(dashboard.time?.from ?? 'now-6h');
      const choices = await variableChoices(dashboard, { from: now - dashboardRange, to: now });
      const initial = initialSelection(dashboard);
      // The initial selection, then each other option of one variable at a time.
      const selections: Record<string, string>[] = [initial];
      for (const [name, values] of choices) {
        for (const value of values)
          if (value !== initial[name]) selections.push({ ...initial, [name]: value });
      }

      let requests = 0;
      for (const [index, selection] of selections.entries()) {
        for (const { panel, target, url } of panelRequests(dashboard, { now, selection })) {
          const path = url.split('?')[0] ?? '';
          expect(routes.has(path), `panel "${panel.title}": no gateway route ${path}`).toBe(true);
          const where = `panel "${panel.title}" ${url}`;
          const res = await get(url);
          requests++;
          expect(res.status, `${where}: ${res.body}`).toBe(200);
          const answer = checkAnswer(where, target, res.body);
          if (index === 0) expect(answer.rows.length, `${where}: nothing to draw`).toBeGreaterThan(0);
        }
      }
      expect(requests).toBeGreaterThan(dataPanels(dashboard).length);
    },
    300_000,
  );

  it('the gateway answers 400 to what Grafana would send for a broken selection (the check can fail)', async () => {
    const flows = buildDashboard(definitions.find((d) => d.uid === 'kansoku-flows')!);
    const target = targetsOf(dataPanels(flows)[0]!)[0]!;
    const url = interpolate(target.url, {
      exporter: 'not-an-address',
      ip_version: 'ip_version=5',
      step: '60',
      timezone: 'Asia/Tokyo',
      __from: String(now - DAY),
      __to: String(now),
    });
    expect((await get(url)).status).toBe(400);
    // The empty pair "All" leaves behind is what makes the filter empty, not a parse error.
    const all = interpolate(target.url, {
      exporter: '&',
      ip_version: '&',
      step: '60',
      timezone: 'Asia/Tokyo',
      __from: String(now - DAY),
      __to: String(now),
    });
    expect(all).toContain('exporter=&&');
    expect((await get(all)).status).toBe(200);
  });
});
