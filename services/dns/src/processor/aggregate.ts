/**
 * From one batch of DnsQuery messages to the rows of every DNS table (see tables.ts). Deterministic: the same
 * records give the same rows in the same order, so a replayed batch is recognised by ClickHouse (dedup token).
 * Query time is the bucket time (the resolver's clock, as dnstap/logs/captures give it), falling back to the
 * receive time when a source has none: replays land in the hours they happened.
 */
import { type DnsQuery, IpVersion } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { type SinkRows, type SinkTabSeparated, TabSeparatedWriter, type Warehouse } from '@kansoku/kit';
import {
  DNS_1H_TABLE,
  DNS_1M_TABLE,
  DNS_CLIENTS_1H_TABLE,
  DNS_CLIENTS_1M_TABLE,
  DNS_RAW_TABLE,
  DNS_ZONES_1H_TABLE,
  DNS_ZONES_1M_TABLE,
  LATENCY_BUCKETS_PER_OCTAVE,
} from '../tables.ts';
import { registeredDomain } from './zone.ts';

export const QTYPE_A = 1;
export const QTYPE_AAAA = 28;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;

export function ipVersionNumber(version: IpVersion): 4 | 6 | 0 {
  if (version === IpVersion.V4) return 4;
  if (version === IpVersion.V6) return 6;
  return 0;
}

/** Latency histogram bucket of a response time in µs (see LATENCY_BUCKETS_PER_OCTAVE). */
export function latencyBucket(us: number): number {
  return Math.min(255, Math.floor(LATENCY_BUCKETS_PER_OCTAVE * Math.log2(us + 1)));
}

/** Lower edge (µs) of a latency bucket; the upper edge is the next bucket's. */
export function latencyBucketLowerUs(bucket: number): number {
  return 2 ** (bucket / LATENCY_BUCKETS_PER_OCTAVE) - 1;
}

/** Milliseconds of the query (query time, else receive time). */
export function queryTimeMs(q: DnsQuery): number {
  const ns = q.timeQueryNs > 0n ? q.timeQueryNs : q.timeReceivedNs;
  return Number(ns / 1_000_000n);
}

function addressOf(bytes: Uint8Array): string {
  return bytes.length === 4 || bytes.length === 16 ? formatIpAddress(bytes) : '';
}

/** FNV-1a over the fields that identify a query: a sample decision that a replay repeats. */
function sampleHash(q: DnsQuery): number {
  let h = 0x811c9dc5;
  const mix = (byte: number) => {
    h ^= byte & 0xff;
    h = Math.imul(h, 0x01000193);
  };
  for (const b of q.clientAddress) mix(b);
  mix(q.clientPort);
  mix(q.clientPort >>> 8);
  mix(q.messageId);
  mix(q.messageId >>> 8);
  const t = q.timeQueryNs;
  for (let i = 0n; i < 64n; i += 8n) mix(Number((t >> i) & 0xffn));
  return h >>> 0;
}

export function keepInRawSample(q: DnsQuery, oneIn: number): boolean {
  return oneIn <= 1 || sampleHash(q) % oneIn === 0;
}

export interface QueryCell {
  time: number;
  resolver: string;
  ip_version: number;
  protocol: number;
  qtype: number;
  answered: number;
  rcode: number;
  queries: number;
  truncated: number;
  query_bytes: number;
  response_bytes: number;
  response_time_us: number;
  latency: Map<number, number>;
}

export interface ClientCell {
  time: number;
  resolver: string;
  ip_version: number;
  client: string;
  queries: number;
  a_queries: number;
  aaaa_queries: number;
  nxdomain: number;
  servfail: number;
}

export interface ZoneCell {
  time: number;
  resolver: string;
  zone: string;
  queries: number;
  nxdomain: number;
  servfail: number;
}

const cmpStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function queryRows(cells: Iterable<QueryCell>): Record<string, unknown>[] {
  return [...cells]
    .sort(
      (a, b) =>
        a.time - b.time ||
        cmpStr(a.resolver, b.resolver) ||
        a.ip_version - b.ip_version ||
        a.protocol - b.protocol ||
        a.qtype - b.qtype ||
        a.answered - b.answered ||
        a.rcode - b.rcode,
    )
    .map((c) => ({
      ...c,
      latency: Object.fromEntries([...c.latency.entries()].sort((x, y) => x[0] - y[0])),
    }));
}

const CLIENT_COLUMNS = [
  'time',
  'resolver',
  'ip_version',
  'client',
  'queries',
  'a_queries',
  'aaaa_queries',
  'nxdomain',
  'servfail',
] as const;
const ZONE_COLUMNS = ['time', 'resolver', 'zone', 'queries', 'nxdomain', 'servfail'] as const;

/**
 * Client rows as TabSeparated bytes (time as Unix seconds, which ClickHouse reads into DateTime): one row per
 * client and bucket, about as many as the batch's queries when clients are many, so JSON was as costly here as
 * for the raw table.
 */
function clientRows(table: string, cells: Iterable<ClientCell>): SinkTabSeparated {
  const sorted = [...cells].sort(
    (a, b) =>
      a.time - b.time ||
      cmpStr(a.resolver, b.resolver) ||
      a.ip_version - b.ip_version ||
      cmpStr(a.client, b.client),
  );
  const w = new TabSeparatedWriter(sorted.length * 64 + 1024);
  for (const c of sorted) {
    w.uint(c.time)
      .string(c.resolver)
      .uint(c.ip_version)
      .ascii(c.client)
      .uint(c.queries)
      .uint(c.a_queries)
      .uint(c.aaaa_queries)
      .uint(c.nxdomain)
      .uint(c.servfail)
      .endRow();
  }
  return { table, tabSeparated: { columns: CLIENT_COLUMNS, data: Buffer.from(w.bytes()), rows: w.rows } };
}

function zoneRows(table: string, cells: Iterable<ZoneCell>): SinkTabSeparated {
  const sorted = [...cells].sort(
    (a, b) => a.time - b.time || cmpStr(a.resolver, b.resolver) || cmpStr(a.zone, b.zone),
  );
  const w = new TabSeparatedWriter(sorted.length * 48 + 1024);
  for (const z of sorted) {
    w.uint(z.time)
      .string(z.resolver)
      .string(z.zone)
      .uint(z.queries)
      .uint(z.nxdomain)
      .uint(z.servfail)
      .endRow();
  }
  return { table, tabSeparated: { columns: ZONE_COLUMNS, data: Buffer.from(w.bytes()), rows: w.rows } };
}

export interface AggregateOptions {
  /** Raw rows: 1 keeps every query, N keeps 1 in N (deterministic per query), 0 writes none. */
  rawSampleOneIn: number;
}

/** Sums minute cells into hour cells (hour rows are always the sum of the minute rows). */
function hourCells<C extends { time: number }>(
  minute: Iterable<C>,
  keyOf: (c: C) => string,
  merge: (into: C, from: C) => void,
  copy: (c: C, time: number) => C,
): Map<string, C> {
  const out = new Map<string, C>();
  for (const c of minute) {
    const time = Math.floor(c.time / 3600) * 3600;
    const key = `${time}|${keyOf(c)}`;
    const cell = out.get(key);
    if (cell) merge(cell, c);
    else out.set(key, copy(c, time));
  }
  return out;
}

/**
 * The six rollup outputs (queries, clients, zones; per minute and per hour) from the minute cells of a batch,
 * each sorted by its table's key: the same cells give the same rows whichever path built them.
 */
export function rollupOutputs(
  minute: readonly QueryCell[],
  clientsMinute: readonly ClientCell[],
  zonesMinute: readonly ZoneCell[],
): (SinkRows | SinkTabSeparated)[] {
  const hour = hourCells(
    minute,
    (c) => `${c.resolver}|${c.ip_version}|${c.protocol}|${c.qtype}|${c.answered}|${c.rcode}`,
    (into, from) => {
      into.queries += from.queries;
      into.truncated += from.truncated;
      into.query_bytes += from.query_bytes;
      into.response_bytes += from.response_bytes;
      into.response_time_us += from.response_time_us;
      for (const [b, n] of from.latency) into.latency.set(b, (into.latency.get(b) ?? 0) + n);
    },
    (c, time) => ({ ...c, time, latency: new Map(c.latency) }),
  );
  const clientsHour = hourCells(
    clientsMinute,
    (c) => `${c.resolver}|${c.ip_version}|${c.client}`,
    (into, from) => {
      into.queries += from.queries;
      into.a_queries += from.a_queries;
      into.aaaa_queries += from.aaaa_queries;
      into.nxdomain += from.nxdomain;
      into.servfail += from.servfail;
    },
    (c, time) => ({ ...c, time }),
  );
  const zonesHour = hourCells(
    zonesMinute,
    (c) => `${c.resolver}|${c.zone}`,
    (into, from) => {
      into.queries += from.queries;
      into.nxdomain += from.nxdomain;
      into.servfail += from.servfail;
    },
    (c, time) => ({ ...c, time }),
  );

  const out: (SinkRows | SinkTabSeparated)[] = [
    { table: DNS_1M_TABLE, rows: queryRows(minute) },
    { table: DNS_1H_TABLE, rows: queryRows(hour.values()) },
    clientRows(DNS_CLIENTS_1M_TABLE, clientsMinute),
    clientRows(DNS_CLIENTS_1H_TABLE, clientsHour.values()),
    zoneRows(DNS_ZONES_1M_TABLE, zonesMinute),
    zoneRows(DNS_ZONES_1H_TABLE, zonesHour.values()),
  ];
  return out;
}

export function aggregateDnsQueries(
  records: readonly DnsQuery[],
  options: AggregateOptions,
): (SinkRows | SinkTabSeparated)[] {
  const minute = new Map<string, QueryCell>();
  const clientsMinute = new Map<string, ClientCell>();
  const zonesMinute = new Map<string, ZoneCell>();
  const raw: { ms: number; q: DnsQuery; client: string; zone: string }[] = [];
  const keepRaw = options.rawSampleOneIn > 0;

  // One pass over the records into the minute cells; the hour cells are summed from them afterwards. Keys
  // are single strings (no per-record arrays): this loop is the processor's hot path.
  for (const q of records) {
    const ms = queryTimeMs(q);
    const tMinute = Math.floor(ms / 60_000) * 60;
    const resolver = q.resolverIdentity;
    const ipVersion = ipVersionNumber(q.ipVersion);
    const answered = q.responseSeen ? 1 : 0;
    const rcode = answered ? q.rcode : 0;
    const client = addressOf(q.clientAddress);
    const zone = registeredDomain(q.qname);
    const nx = answered && rcode === RCODE_NXDOMAIN ? 1 : 0;
    const sf = answered && rcode === RCODE_SERVFAIL ? 1 : 0;

    const key = `${tMinute}|${resolver}|${ipVersion}|${q.transport}|${q.qtype}|${answered}|${rcode}`;
    let cell = minute.get(key);
    if (!cell) {
      cell = {
        time: tMinute,
        resolver,
        ip_version: ipVersion,
        protocol: q.transport,
        qtype: q.qtype,
        answered,
        rcode,
        queries: 0,
        truncated: 0,
        query_bytes: 0,
        response_bytes: 0,
        response_time_us: 0,
        latency: new Map(),
      };
      minute.set(key, cell);
    }
    cell.queries++;
    cell.query_bytes += q.querySizeBytes;
    if (answered) {
      const latencyUs = Number(q.responseTimeUs);
      if (q.truncated) cell.truncated++;
      cell.response_bytes += q.responseSizeBytes;
      cell.response_time_us += latencyUs;
      const b = latencyBucket(latencyUs);
      cell.latency.set(b, (cell.latency.get(b) ?? 0) + 1);
    }

    const clientKey = `${tMinute}|${resolver}|${ipVersion}|${client}`;
    let c = clientsMinute.get(clientKey);
    if (!c) {
      c = {
        time: tMinute,
        resolver,
        ip_version: ipVersion,
        client,
        queries: 0,
        a_queries: 0,
        aaaa_queries: 0,
        nxdomain: 0,
        servfail: 0,
      };
      clientsMinute.set(clientKey, c);
    }
    c.queries++;
    if (q.qtype === QTYPE_A) c.a_queries++;
    else if (q.qtype === QTYPE_AAAA) c.aaaa_queries++;
    c.nxdomain += nx;
    c.servfail += sf;

    const zoneKey = `${tMinute}|${resolver}|${zone}`;
    let z = zonesMinute.get(zoneKey);
    if (!z) {
      z = { time: tMinute, resolver, zone, queries: 0, nxdomain: 0, servfail: 0 };
      zonesMinute.set(zoneKey, z);
    }
    z.queries++;
    z.nxdomain += nx;
    z.servfail += sf;

    if (keepRaw && keepInRawSample(q, options.rawSampleOneIn)) raw.push({ ms, q, client, zone });
  }

  const out = rollupOutputs([...minute.values()], [...clientsMinute.values()], [...zonesMinute.values()]);
  if (keepRaw) out.push(rawQueryRows(raw, options.rawSampleOneIn));
  return out;
}

/** Columns of the raw table in the order rawQueryRows writes them. */
export const RAW_QUERY_COLUMNS = [
  'time_query',
  'resolver',
  'client',
  'client_port',
  'server',
  'ip_version',
  'protocol',
  'message_id',
  'qname',
  'zone',
  'qtype',
  'recursion_desired',
  'dnssec_ok',
  'answered',
  'rcode',
  'response_time_us',
  'query_bytes',
  'response_bytes',
  'answer_count',
  'truncated',
  'source',
  'sample_one_in',
] as const;

/**
 * The raw rows, sorted by query time (stable: records of equal time keep their offset order, so a replay is
 * identical), written as TabSeparated bytes: this table takes every query, and an object plus its JSON per
 * query cost more than all the rollups together.
 */
function rawQueryRows(
  raw: readonly { ms: number; q: DnsQuery; client: string; zone: string }[],
  sampleOneIn: number,
): SinkTabSeparated {
  const sorted = [...raw].sort((a, b) => a.ms - b.ms);
  const w = new TabSeparatedWriter(sorted.length * 140 + 1024);
  const weight = Math.max(1, sampleOneIn);
  for (const { ms, q, client, zone } of sorted) {
    const answered = q.responseSeen;
    w.dateTime64Ms(ms)
      .string(q.resolverIdentity)
      .ascii(client)
      .uint(q.clientPort)
      .ascii(addressOf(q.serverAddress))
      .uint(ipVersionNumber(q.ipVersion))
      .uint(q.transport)
      .uint(q.messageId & 0xffff)
      .string(q.qname)
      .string(zone)
      .uint(q.qtype)
      .uint(q.recursionDesired ? 1 : 0)
      .uint(q.dnssecOk ? 1 : 0)
      .uint(answered ? 1 : 0)
      .uint(answered ? q.rcode : 0)
      .uint64(answered ? q.responseTimeUs : 0n)
      .uint(q.querySizeBytes)
      .uint(answered ? q.responseSizeBytes : 0)
      .uint(answered ? Math.min(q.answerCount, 65535) : 0)
      .uint(answered && q.truncated ? 1 : 0)
      .uint(q.source)
      .uint(weight)
      .endRow();
  }
  // A copy: the writer's buffer is reused by nothing else, but the view must outlive this function.
  return {
    table: DNS_RAW_TABLE,
    tabSeparated: { columns: RAW_QUERY_COLUMNS, data: Buffer.from(w.bytes()), rows: w.rows },
  };
}

/** Writes a batch of queries as the processor does (tests, benchmarks and fixtures fill tables with it). */
export async function writeDnsQueries(
  warehouse: Warehouse,
  records: readonly DnsQuery[],
  options: AggregateOptions & { dedupToken?: string },
): Promise<void> {
  const insert = options.dedupToken === undefined ? {} : { dedupToken: options.dedupToken };
  for (const out of aggregateDnsQueries(records, options)) {
    if ('tabSeparated' in out) await warehouse.insertTabSeparated(out.table, out.tabSeparated, insert);
    else await warehouse.insert(out.table, out.rows, insert);
  }
}
