import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { DnsQuerySchema, DnsTransport, IpVersion } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { describe, expect, it } from 'vitest';
import {
  aggregateDnsQueries,
  keepInRawSample,
  latencyBucket,
  latencyBucketLowerUs,
  RAW_QUERY_COLUMNS,
} from '../../src/processor/aggregate.ts';
import { registeredDomain, subdomainPart } from '../../src/processor/zone.ts';

/** 2023-11-14 22:14:00 UTC (a minute boundary; its hour starts at 22:00). */
const M0 = 1_700_000_040;
const at = (seconds: number) => BigInt(M0 + seconds) * 1_000_000_000n;

function query(over: MessageInitShape<typeof DnsQuerySchema>) {
  return create(DnsQuerySchema, {
    timeQueryNs: at(0),
    timeReceivedNs: at(1),
    clientAddress: parseIpAddress('192.0.2.10'),
    clientPort: 40_000,
    serverAddress: parseIpAddress('192.0.2.53'),
    serverPort: 53,
    ipVersion: IpVersion.V4,
    transport: DnsTransport.UDP,
    messageId: 7,
    qname: 'www.example.co.jp.',
    qtype: 1,
    qclass: 1,
    querySizeBytes: 40,
    responseSeen: true,
    rcode: 0,
    responseTimeUs: 1000n,
    responseSizeBytes: 56,
    answerCount: 1,
    resolverIdentity: 'r1',
    ...over,
  });
}

/** Rows of one table; the raw table's TabSeparated bytes read back into objects (numbers as numbers). */
function rowsOf(out: ReturnType<typeof aggregateDnsQueries>, table: string): Record<string, unknown>[] {
  const found = out.find((o) => o.table === `{{db}}.${table}`);
  if (!found) return [];
  if ('rows' in found) return found.rows;
  const { columns, data } = found.tabSeparated;
  return data
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) =>
      Object.fromEntries(line.split('\t').map((v, i) => [columns[i], /^\d+$/.test(v) ? Number(v) : v])),
    );
}

describe('registered domain', () => {
  it('follows the public suffix list and keeps the trailing dot', () => {
    expect(registeredDomain('www.example.co.jp.')).toBe('example.co.jp.');
    expect(registeredDomain('a.b.example.com.')).toBe('example.com.');
    expect(registeredDomain('example.jp.')).toBe('example.jp.');
    expect(registeredDomain('jp.')).toBe('jp.');
    expect(registeredDomain('.')).toBe('.');
    expect(registeredDomain('10.2.0.192.in-addr.arpa.')).toBe('0.192.in-addr.arpa.');
    expect(subdomainPart('x7f3k.www.example.jp.', 'example.jp.')).toBe('x7f3k.www');
    expect(subdomainPart('example.jp.', 'example.jp.')).toBe('');
  });
});

describe('latency buckets', () => {
  it('are four per doubling and contain their values', () => {
    for (const us of [0, 1, 5, 999, 1000, 65_432, 3_000_000]) {
      const b = latencyBucket(us);
      expect(latencyBucketLowerUs(b)).toBeLessThanOrEqual(us + 1e-9);
      expect(latencyBucketLowerUs(b + 1)).toBeGreaterThan(us);
    }
    expect(latencyBucket(1023) - latencyBucket(511)).toBe(4);
  });
});

describe('dns rollups', () => {
  it('counts queries per minute and hour by transport, qtype and rcode', () => {
    const out = aggregateDnsQueries(
      [
        query({}),
        query({ qtype: 28 }),
        query({ qtype: 28, timeQueryNs: at(61) }),
        query({ ipVersion: IpVersion.V6, clientAddress: parseIpAddress('2001:db8::1') }),
        query({ rcode: 3, qname: 'nope.example.co.jp.' }),
        query({ responseSeen: false, rcode: 0, responseTimeUs: 0n }),
        query({ transport: DnsTransport.TCP, truncated: false }),
      ],
      { rawSampleOneIn: 1 },
    );
    const minute = rowsOf(out, 'dns_queries_1m').map((r) => [
      r.time,
      r.ip_version,
      r.protocol,
      r.qtype,
      r.answered,
      r.rcode,
      r.queries,
    ]);
    expect(minute).toEqual([
      [M0, 4, 1, 1, 0, 0, 1],
      [M0, 4, 1, 1, 1, 0, 1],
      [M0, 4, 1, 1, 1, 3, 1],
      [M0, 4, 1, 28, 1, 0, 1],
      [M0, 4, 2, 1, 1, 0, 1],
      [M0, 6, 1, 1, 1, 0, 1],
      [M0 + 60, 4, 1, 28, 1, 0, 1],
    ]);
    const hour = rowsOf(out, 'dns_queries_1h');
    expect(hour.reduce((n, r) => n + Number(r.queries), 0)).toBe(7);
    expect(hour.find((r) => r.qtype === 28 && r.ip_version === 4)?.queries).toBe(2);
    const answered = rowsOf(out, 'dns_queries_1m').find((r) => r.qtype === 28 && r.time === M0);
    expect(answered?.latency).toEqual({ [latencyBucket(1000)]: 1 });
    expect(answered?.response_time_us).toBe(1000);
  });

  it('keeps one client row per bucket with A, AAAA, NXDOMAIN and SERVFAIL counts', () => {
    const out = aggregateDnsQueries(
      [
        query({}),
        query({ qtype: 28 }),
        query({ rcode: 3 }),
        query({ rcode: 2, qtype: 15 }),
        query({ clientAddress: parseIpAddress('192.0.2.11') }),
      ],
      { rawSampleOneIn: 0 },
    );
    expect(rowsOf(out, 'dns_clients_1h')).toEqual([
      {
        time: M0 - 14 * 60,
        resolver: 'r1',
        ip_version: 4,
        client: '192.0.2.10',
        queries: 4,
        a_queries: 2,
        aaaa_queries: 1,
        nxdomain: 1,
        servfail: 1,
      },
      {
        time: M0 - 14 * 60,
        resolver: 'r1',
        ip_version: 4,
        client: '192.0.2.11',
        queries: 1,
        a_queries: 1,
        aaaa_queries: 0,
        nxdomain: 0,
        servfail: 0,
      },
    ]);
    expect(rowsOf(out, 'dns_zones_1m')).toEqual([
      { time: M0, resolver: 'r1', zone: 'example.co.jp.', queries: 5, nxdomain: 1, servfail: 1 },
    ]);
    expect(out.some((o) => o.table.endsWith('dns_queries_raw'))).toBe(false);
  });

  it('gives the same rows for the same records in any order (replays must match)', () => {
    const records = [
      query({}),
      query({ qtype: 28, clientAddress: parseIpAddress('192.0.2.99') }),
      query({ timeQueryNs: at(3 * 60), messageId: 9 }),
      query({
        ipVersion: IpVersion.V6,
        clientAddress: parseIpAddress('2001:db8::5'),
        qname: 'a.example.org.',
      }),
    ];
    const a = aggregateDnsQueries(records, { rawSampleOneIn: 1 }).filter((o) => !o.table.endsWith('raw'));
    const b = aggregateDnsQueries([...records].reverse(), { rawSampleOneIn: 1 }).filter(
      (o) => !o.table.endsWith('raw'),
    );
    expect(a).toEqual(b);
  });

  it('samples raw rows deterministically and says what each row stands for', () => {
    const records = Array.from({ length: 4000 }, (_, i) =>
      query({ messageId: i & 0xffff, clientPort: 1024 + (i % 5000), timeQueryNs: at(0) + BigInt(i) * 1000n }),
    );
    const raw = rowsOf(aggregateDnsQueries(records, { rawSampleOneIn: 10 }), 'dns_queries_raw');
    expect(raw.length).toBeGreaterThan(300);
    expect(raw.length).toBeLessThan(500);
    expect(raw.every((r) => r.sample_one_in === 10)).toBe(true);
    expect(Object.keys(raw[0] ?? {})).toEqual([...RAW_QUERY_COLUMNS]);
    expect(records.filter((q) => keepInRawSample(q, 10)).length).toBe(raw.length);
    const all = rowsOf(aggregateDnsQueries(records, { rawSampleOneIn: 1 }), 'dns_queries_raw');
    expect(all).toHaveLength(4000);
    expect(all[0]).toMatchObject({
      time_query: '1700000040.000', // Unix seconds: ClickHouse reads them into DateTime64 (kit's writer)
      client: '192.0.2.10',
      qname: 'www.example.co.jp.',
      zone: 'example.co.jp.',
      answered: 1,
      response_time_us: 1000,
      sample_one_in: 1,
    });
  });

  it('buckets by query time and falls back to the receive time', () => {
    const out = aggregateDnsQueries([query({ timeQueryNs: 0n, timeReceivedNs: at(125) })], {
      rawSampleOneIn: 0,
    });
    expect(rowsOf(out, 'dns_queries_1m')[0]?.time).toBe(M0 + 120);
  });
});
