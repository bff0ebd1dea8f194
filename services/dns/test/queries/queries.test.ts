/**
 * The DNS tables and queries on the real embedded ClickHouse: known queries go through the processor's
 * aggregation into the tables (inserted as the sink does, with a dedup token), then each query is run the way
 * the gateway runs it (schema defaults, validate, run) and its numbers are checked exactly against the data
 * set, which is built to the report's shares (A asked by 96–100% of sources, AAAA by 57% on IPv4, 80% on IPv6).
 *
 * The data sit 30 hours back, hour-aligned: inside every table's retention (raw two days, client minutes three).
 */
import { create } from '@bufbuild/protobuf';
import {
  type DnsQuery,
  DnsQuerySchema,
  DnsTransport,
  IpVersion,
} from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import {
  ingestLedgerMigration,
  migrate,
  type QueryDefinition,
  QueryParameterError,
  silentLogger,
  type Warehouse,
} from '@kansoku/kit';
import { openTestWarehouse, type TestWarehouse } from '@kansoku/kit/testing/warehouse';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDnsQueries } from '../../src/processor/aggregate.ts';
import {
  histogramQuantile,
  latency,
  perSourceDistribution,
  perSourceRate,
  perSourceRateByHour,
  queryRate,
  queryTypes,
  queryTypesSeries,
  rcodes,
  sourcesAsking,
  topClients,
  topNames,
  topZones,
} from '../../src/queries.ts';
import { dnsMigrations } from '../../src/tables.ts';

const HOUR = 3_600_000;
const H = Math.floor(Date.now() / HOUR) * HOUR - 30 * HOUR;

interface Q {
  at: number;
  client: string;
  qtype: number;
  rcode?: number;
  answered?: boolean;
  qname?: string;
  us?: number;
}

function dns(q: Q): DnsQuery {
  const v6 = q.client.includes(':');
  const answered = q.answered ?? true;
  return create(DnsQuerySchema, {
    timeQueryNs: BigInt(q.at) * 1_000_000n,
    timeReceivedNs: BigInt(q.at) * 1_000_000n,
    clientAddress: parseIpAddress(q.client),
    clientPort: 5353,
    ipVersion: v6 ? IpVersion.V6 : IpVersion.V4,
    transport: DnsTransport.UDP,
    qname: q.qname ?? 'www.example.jp.',
    qtype: q.qtype,
    qclass: 1,
    responseSeen: answered,
    rcode: q.rcode ?? 0,
    responseTimeUs: BigInt(answered ? (q.us ?? 1000) : 0),
    resolverIdentity: 'unbound-1',
  });
}

/** The per-client plan of hour H (A count, asks AAAA, extra MX with NXDOMAIN). */
const v4Clients = Array.from({ length: 100 }, (_, i) => ({
  client: `10.0.0.${i}`,
  a: (i % 4) + 1,
  aaaa: i < 57 ? 1 : 0,
  https: 0,
  mx: i === 0 ? 2 : 0,
}));
const v6Clients = Array.from({ length: 50 }, (_, i) => ({
  client: `2001:db8::${(i + 1).toString(16)}`,
  a: i < 48 ? 1 : 0,
  aaaa: i < 40 ? 2 : 0,
  https: i >= 48 ? 1 : 0,
  mx: 0,
}));

function dataSet(): DnsQuery[] {
  const out: DnsQuery[] = [];
  for (const [n, c] of [...v4Clients, ...v6Clients].entries()) {
    const at = H + (n % 60) * 60_000 + 1000;
    for (let k = 0; k < c.a; k++) out.push(dns({ at: at + k, client: c.client, qtype: 1 }));
    for (let k = 0; k < c.aaaa; k++)
      out.push(dns({ at: at + 10 + k, client: c.client, qtype: 28, us: 100_000 }));
    for (let k = 0; k < c.https; k++) out.push(dns({ at: at + 15 + k, client: c.client, qtype: 65 }));
    for (let k = 0; k < c.mx; k++)
      out.push(
        dns({ at: at + 20 + k, client: c.client, qtype: 15, rcode: 3, qname: `x${k}q9z.victim.co.jp.` }),
      );
  }
  // Hour H+1: ten IPv4 clients ask one A each, one query goes unanswered, one SERVFAILs.
  for (let i = 0; i < 10; i++) out.push(dns({ at: H + HOUR + i * 1000, client: `10.0.0.${i}`, qtype: 1 }));
  out.push(dns({ at: H + HOUR + 30_000, client: '10.0.0.1', qtype: 16, answered: false }));
  out.push(
    dns({ at: H + HOUR + 31_000, client: '10.0.0.2', qtype: 1, rcode: 2, qname: 'broken.example.com.' }),
  );
  return out;
}

async function ask(query: QueryDefinition, params: Record<string, unknown>) {
  const p = Value.Default(query.params, Value.Convert(query.params, structuredClone(params))) as Record<
    string,
    unknown
  >;
  if (!Value.Check(query.params, p)) throw new Error(`bad params for ${query.name}: ${JSON.stringify(p)}`);
  query.validate?.(p as never);
  return query.run(p as never, { warehouse });
}

let tw: TestWarehouse;
let warehouse: Warehouse;

beforeAll(async () => {
  tw = await openTestWarehouse({ prefix: 'kansoku-dns-q-' });
  warehouse = tw.warehouse;
  await migrate(warehouse, [ingestLedgerMigration, ...dnsMigrations], { log: silentLogger() });
  const records = dataSet();
  // Two batches as the sink would write them, the first one twice (a replay after a crash).
  const batches = [records.slice(0, 200), records.slice(200)];
  for (const [i, batch] of [batches[0], batches[1], batches[0]].entries()) {
    const token = `test-token-${i === 2 ? 0 : i}`;
    await writeDnsQueries(warehouse, batch ?? [], { rawSampleOneIn: 1, dedupToken: token });
  }
}, 60_000);

afterAll(async () => {
  await tw?.close();
});

const HOUR0 = { from: H, to: H + HOUR };
const BOTH = { from: H, to: H + 2 * HOUR };
const v4Counts = v4Clients.map((c) => c.a + c.aaaa + c.mx);
const sum = (xs: number[]) => xs.reduce((n, x) => n + x, 0);

describe('dns queries on the embedded ClickHouse', () => {
  it('shares of sources asking A and AAAA per transport (a replayed batch counts once)', async () => {
    for (const rollup of ['1m', '1h']) {
      const { rows } = await ask(sourcesAsking, { ...HOUR0, rollup });
      expect(rows).toEqual([
        { transport: 'IPv4', sources: 100, a_share: 1, aaaa_share: 0.57, both_share: 0.57, neither_share: 0 },
        {
          transport: 'IPv6',
          sources: 50,
          a_share: 0.96,
          aaaa_share: 0.8,
          both_share: 0.8,
          neither_share: 0.04,
        },
      ]);
    }
  });

  it('query types by transport, with other', async () => {
    const { rows } = await ask(queryTypes, { ...HOUR0, limit: 2 });
    const a4 = sum(v4Clients.map((c) => c.a));
    const total4 = sum(v4Counts);
    const a6 = sum(v6Clients.map((c) => c.a));
    const aaaa6 = sum(v6Clients.map((c) => c.aaaa));
    expect(rows).toEqual([
      { transport: 'IPv4', qtype: 1, type: 'A', queries: a4, share: a4 / total4 },
      { transport: 'IPv4', qtype: 28, type: 'AAAA', queries: 57, share: 57 / total4 },
      { transport: 'IPv4', qtype: null, type: 'other', queries: 2, share: 2 / total4 },
      { transport: 'IPv6', qtype: 28, type: 'AAAA', queries: aaaa6, share: aaaa6 / (a6 + aaaa6 + 2) },
      { transport: 'IPv6', qtype: 1, type: 'A', queries: a6, share: a6 / (a6 + aaaa6 + 2) },
      { transport: 'IPv6', qtype: null, type: 'other', queries: 2, share: 2 / (a6 + aaaa6 + 2) },
    ]);
    const v6only = await ask(queryTypes, { ...HOUR0, ip_version: 6 });
    expect(v6only.rows.map((r) => r.type)).toEqual(['AAAA', 'A', 'HTTPS']);
  });

  it('query types over time name the asked types and fold the rest into other', async () => {
    const { rows } = await ask(queryTypesSeries, { ...BOTH, step: 3600, types: 'A,AAAA', ip_version: 4 });
    expect(rows.map((r) => [r.time, r.type, Math.round(Number(r.qps) * 3600)])).toEqual([
      [H, 'other', 2],
      [H, 'A', sum(v4Clients.map((c) => c.a))],
      [H, 'AAAA', 57],
      [H + HOUR, 'other', 1],
      [H + HOUR, 'A', 11],
    ]);
    await expect(ask(queryTypesSeries, { ...BOTH, types: 'A,BOGUS' })).rejects.toThrow(QueryParameterError);
  });

  it('queries per second per source: average and quantiles over sources, minute and hour rollups agree', async () => {
    const sorted = [...v4Counts].sort((a, b) => a - b);
    for (const rollup of ['1m', '1h']) {
      const { rows } = await ask(perSourceRate, { ...BOTH, step: 3600, rollup, ip_version: 4 });
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatchObject({ time: H, transport: 'IPv4', sources: 100 });
      expect(rows[0]?.avg_qps_per_source).toBeCloseTo(sum(v4Counts) / 100 / 3600, 12);
      expect(rows[0]?.p50_qps_per_source).toBeCloseTo((sorted[50] ?? 0) / 3600, 12);
      expect(rows[0]?.p99_qps_per_source).toBeCloseTo((sorted[99] ?? 0) / 3600, 12);
      // Hour H+1: ten clients with one A each, client 1 one TXT more, client 2 one A more.
      expect(rows[1]).toMatchObject({ time: H + HOUR, sources: 10 });
      expect(rows[1]?.avg_qps_per_source).toBeCloseTo(12 / 10 / 3600, 12);
    }
    const minutes = await ask(perSourceRate, { ...HOUR0, step: 60, ip_version: 6 });
    expect(sum(minutes.rows.map((r) => Number(r.sources)))).toBe(50);
  });

  it('per-source rate by local hour of day (Asia/Tokyo)', async () => {
    const { rows } = await ask(perSourceRateByHour, { ...BOTH, ip_version: 4 });
    const tokyoHour = new Date(H + 9 * HOUR).getUTCHours();
    expect(rows.map((r) => r.hour)).toEqual([tokyoHour, (tokyoHour + 1) % 24].sort((a, b) => a - b));
    const first = rows.find((r) => r.hour === tokyoHour);
    expect(first?.avg_qps_per_source).toBeCloseTo(sum(v4Counts) / 100 / 3600, 12);
    expect(first?.range_avg_qps_per_source).toBeCloseTo((sum(v4Counts) + 12) / 110 / 3600, 12);
    await expect(ask(perSourceRateByHour, { ...BOTH, timezone: 'Mars/Olympus' })).rejects.toThrow(
      QueryParameterError,
    );
  });

  it('distribution of per-source rates in power-of-two bins', async () => {
    const { rows } = await ask(perSourceDistribution, { ...HOUR0, ip_version: 6 });
    // IPv6 clients: 40 with 1 A + 2 AAAA (3 queries), 8 with 1 A, 2 with 1 HTTPS.
    expect(sum(rows.map((r) => Number(r.sources)))).toBe(50);
    const bin1 = rows.find((r) => Number(r.qps_from) <= 1 / 3600 && Number(r.qps_to) > 1 / 3600);
    expect(bin1?.sources).toBe(10);
    const bin3 = rows.find((r) => Number(r.qps_from) <= 3 / 3600 && Number(r.qps_to) > 3 / 3600);
    expect(bin3?.sources).toBe(40);
  });

  it('query rate, rcodes and latency', async () => {
    const rate = await ask(queryRate, { ...BOTH, step: 3600 });
    const total = sum(rate.rows.map((r) => Number(r.qps) * 3600));
    expect(Math.round(total)).toBe(dataSet().length);
    const codes = await ask(rcodes, { ...BOTH, step: 3600 });
    const at1 = codes.rows
      .filter((r) => r.time === H + HOUR)
      .map((r) => [r.rcode, Math.round(Number(r.qps) * 3600)]);
    expect(at1).toEqual([
      ['NOERROR', 10],
      ['SERVFAIL', 1],
      ['no response', 1],
    ]);
    expect(codes.rows.find((r) => r.time === H && r.rcode === 'NXDOMAIN')?.qps).toBeCloseTo(2 / 3600, 12);
    const lat = await ask(latency, { ...HOUR0, step: 3600, ip_version: 4 });
    // IPv4 hour 0: 252 A+MX answers at 1 ms, 57 AAAA at 100 ms.
    expect(lat.rows[0]?.answered).toBe(sum(v4Counts));
    expect(lat.rows[0]?.mean_s).toBeCloseTo((252 * 0.001 + 57 * 0.1) / 309, 9);
    expect(Number(lat.rows[0]?.p50_s)).toBeGreaterThan(0.001 / 1.19);
    expect(Number(lat.rows[0]?.p50_s)).toBeLessThan(0.001 * 1.19);
    expect(Number(lat.rows[0]?.p99_s)).toBeGreaterThan(0.1 / 1.19);
    expect(Number(lat.rows[0]?.p99_s)).toBeLessThan(0.1 * 1.19);
  });

  it('histogram quantiles interpolate inside a bucket', () => {
    expect(histogramQuantile(new Map(), 0.5)).toBe(0);
    expect(histogramQuantile(new Map([[40, 10]]), 0)).toBeCloseTo(2 ** 10 - 1, 6);
  });

  it('top clients, zones and names', async () => {
    const clients = await ask(topClients, { ...HOUR0, limit: 3, ip_version: 4 });
    expect(clients.rows.map((r) => [r.client, r.queries])).toEqual([
      ['10.0.0.11', 5],
      ['10.0.0.15', 5],
      ['10.0.0.19', 5],
    ]);
    const zones = await ask(topZones, { ...BOTH, by: 'nxdomain', limit: 1 });
    expect(zones.rows[0]).toMatchObject({ zone: 'victim.co.jp.', queries: 2, nxdomain: 2 });
    const names = await ask(topNames, { ...BOTH, limit: 2 });
    expect(names.rows[0]).toMatchObject({
      qname: 'www.example.jp.',
      zone: 'example.jp.',
      queries: dataSet().length - 3,
    });
    const nx = await ask(topNames, { ...BOTH, rcode: 3 });
    expect(nx.rows.map((r) => r.qname)).toEqual(['x0q9z.victim.co.jp.', 'x1q9z.victim.co.jp.']);
  });

  it('rejects bad ranges', async () => {
    await expect(ask(sourcesAsking, { from: H, to: H })).rejects.toThrow(QueryParameterError);
    await expect(ask(perSourceRate, { from: 0, to: 400 * 86_400_000 * 2, step: 60 })).rejects.toThrow(
      QueryParameterError,
    );
    await expect(ask(topNames, { from: H - 5 * 24 * HOUR, to: H })).rejects.toThrow(QueryParameterError);
  });
});
