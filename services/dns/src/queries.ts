/**
 * The DNS queries behind the report's resolver figures (queries per second per source IP, query types by
 * transport, share of sources asking A/AAAA) and the NOC's views (rcodes, latency, top names, zones and
 * clients). Values from a request reach ClickHouse only as bound `{name:Type}` parameters; the table read is
 * chosen in code from constants.
 *
 * "Transport" in the report is the IP version between client and resolver: `ip_version=4|6` filters it.
 * `protocol` (udp, tcp, dot, doh, doq) and `resolver` (dnstap identity or log host) filter the query
 * rollups; the client rollups know IP version and resolver; the zone rollups know the resolver only.
 *
 * Rollup choice: the hourly tables when the step/bucket is whole hours and the range is hour-aligned or
 * long (≥ 3 days), and always when the range starts before the minute table's retention; else the minute
 * tables. `rollup=1m|1h` forces one.
 */
import {
  defineQuery,
  MAX_RANGE_MS,
  type QueryDefinition,
  QueryParameterError,
  type QueryResult,
  TimeRangeParams,
  validateTimeRange,
  type Warehouse,
} from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { latencyBucketLowerUs } from './processor/aggregate.ts';
import {
  CLIENT_MINUTE_RETENTION_DAYS,
  DNS_1H_TABLE,
  DNS_1M_TABLE,
  DNS_CLIENTS_1H_TABLE,
  DNS_CLIENTS_1M_TABLE,
  DNS_RAW_TABLE,
  DNS_ZONES_1H_TABLE,
  DNS_ZONES_1M_TABLE,
  MINUTE_RETENTION_DAYS,
  RAW_RETENTION_DAYS,
} from './tables.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const LONG_RANGE_MS = 3 * DAY_MS;
const MAX_TOP = 1000;

export type RollupChoice = '1m' | '1h';
type Family = 'queries' | 'clients' | 'zones';
const TABLES: Record<Family, Record<RollupChoice, string>> = {
  queries: { '1m': DNS_1M_TABLE, '1h': DNS_1H_TABLE },
  clients: { '1m': DNS_CLIENTS_1M_TABLE, '1h': DNS_CLIENTS_1H_TABLE },
  zones: { '1m': DNS_ZONES_1M_TABLE, '1h': DNS_ZONES_1H_TABLE },
};
const MINUTE_DAYS: Record<Family, number> = {
  queries: MINUTE_RETENTION_DAYS,
  clients: CLIENT_MINUTE_RETENTION_DAYS,
  zones: MINUTE_RETENTION_DAYS,
};
const GRAIN: Record<RollupChoice, number> = { '1m': 60, '1h': 3600 };

export const PROTOCOLS = { udp: 1, tcp: 2, dot: 3, doh: 4, doq: 5 } as const;
const PROTOCOL_NAMES: Record<number, string> = {
  0: 'unknown',
  1: 'udp',
  2: 'tcp',
  3: 'dot',
  4: 'doh',
  5: 'doq',
};

/** Common RR type names (IANA registry); others print as TYPEnnn (RFC 3597). */
const QTYPE_NAMES: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  12: 'PTR',
  13: 'HINFO',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  35: 'NAPTR',
  43: 'DS',
  48: 'DNSKEY',
  52: 'TLSA',
  64: 'SVCB',
  65: 'HTTPS',
  99: 'SPF',
  252: 'AXFR',
  255: 'ANY',
  257: 'CAA',
};
export function qtypeName(qtype: number): string {
  return QTYPE_NAMES[qtype] ?? `TYPE${qtype}`;
}
const QTYPE_NUMBERS: Record<string, number> = Object.fromEntries(
  Object.entries(QTYPE_NAMES).map(([n, name]) => [name, Number(n)]),
);

const RCODE_NAMES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
  16: 'BADVERS',
};
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

// ---------------------------------------------------------------------------------------------
// Parameters

const Filters = {
  ip_version: Type.Optional(
    Type.Union([Type.Literal(4), Type.Literal(6)], {
      description: 'Transport IP version between client and resolver (4 or 6); both when absent',
    }),
  ),
  resolver: Type.Optional(
    Type.String({
      maxLength: 255,
      description: 'Resolver identity (dnstap identity or log host); all when absent',
    }),
  ),
};
const ProtocolFilter = {
  protocol: Type.Optional(
    Type.Union(
      Object.keys(PROTOCOLS).map((p) => Type.Literal(p)),
      { description: 'Transport protocol (udp, tcp, dot, doh, doq); all when absent' },
    ),
  ),
};
const RollupParam = {
  rollup: Type.Union([Type.Literal('auto'), Type.Literal('1m'), Type.Literal('1h')], {
    default: 'auto',
    description: 'Rollup to read: auto picks by range, step and retention',
  }),
};
const LimitParam = {
  limit: Type.Integer({ minimum: 1, maximum: MAX_TOP, default: 10, description: 'Number of top entries' }),
};
const RangeParams = { from: TimeRangeParams.from, to: TimeRangeParams.to };
const TimeZoneParam = {
  timezone: Type.String({
    default: 'Asia/Tokyo',
    maxLength: 64,
    pattern: '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$',
    description: 'IANA time zone of the time-of-day buckets (the report is Japanese: Asia/Tokyo)',
  }),
};

type FilterP = { ip_version?: 4 | 6; resolver?: string; protocol?: string };
type Range = { from: number; to: number };

function validateRange(p: Range): void {
  if (p.to <= p.from) throw new QueryParameterError('to', 'must be after from');
  if (p.to - p.from > MAX_RANGE_MS) throw new QueryParameterError('from', 'range is longer than 400 days');
}

function canonicalTimeZone(name: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

function validateTimeZone(p: { timezone: string }): void {
  if (!canonicalTimeZone(p.timezone))
    throw new QueryParameterError('timezone', 'is not a known IANA time zone');
}

/** Offset from UTC in minutes at an instant, e.g. 540 for Asia/Tokyo. */
function utcOffsetMinutes(zone: string, ms: number): number {
  const name =
    new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
      .formatToParts(ms)
      .find((part) => part.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name);
  if (!match) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
}

export function chooseRollup(options: {
  from: number;
  to: number;
  bucketSeconds: number;
  family: Family;
  timezone?: string;
  requested?: 'auto' | RollupChoice;
  now?: number;
}): RollupChoice {
  const { from, to, bucketSeconds, family, timezone, requested = 'auto', now = Date.now() } = options;
  if (requested !== 'auto') return requested;
  if (from < now - (MINUTE_DAYS[family] - 1) * DAY_MS) return '1h';
  if (bucketSeconds % 3600 !== 0) return '1m';
  if (
    timezone &&
    (utcOffsetMinutes(timezone, from) % 60 !== 0 || utcOffsetMinutes(timezone, to) % 60 !== 0)
  ) {
    return '1m';
  }
  if ((from % HOUR_MS === 0 && to % HOUR_MS === 0) || to - from >= LONG_RANGE_MS) return '1h';
  return '1m';
}

interface Source {
  table: string;
  grain: number;
  params: Record<string, string | number>;
  /** Seconds the selected buckets cover. */
  seconds: number;
}

function source(family: Family, choice: RollupChoice, p: Range & FilterP): Source {
  const grain = GRAIN[choice];
  const start = Math.floor(p.from / 1000 / grain) * grain;
  const end = Math.ceil(p.to / 1000);
  return {
    table: TABLES[family][choice],
    grain,
    seconds: Math.ceil((end - start) / grain) * grain,
    params: {
      start,
      end,
      ip_version: p.ip_version ?? 0,
      resolver: p.resolver ?? '',
      protocol: p.protocol ? PROTOCOLS[p.protocol as keyof typeof PROTOCOLS] : 0,
    },
  };
}

const TIME_WHERE = `time >= toDateTime({start:UInt32}, 'UTC') AND time < toDateTime({end:UInt32}, 'UTC')
  AND ({resolver:String} = '' OR resolver = {resolver:String})`;
const QUERIES_WHERE = `${TIME_WHERE}
  AND ({ip_version:UInt8} = 0 OR ip_version = {ip_version:UInt8})
  AND ({protocol:UInt8} = 0 OR protocol = {protocol:UInt8})`;
const CLIENTS_WHERE = `${TIME_WHERE}
  AND ({ip_version:UInt8} = 0 OR ip_version = {ip_version:UInt8})`;
const ZONES_WHERE = TIME_WHERE;

function effectiveStep(choice: RollupChoice, step: number): number {
  const grain = GRAIN[choice];
  return Math.ceil(step / grain) * grain;
}

const BUCKET = 'toUnixTimestamp(toStartOfInterval(time, toIntervalSecond({step:UInt32}))) * 1000';
const num = (v: unknown): number => Number(v ?? 0);
const share = (part: number, total: number): number => (total > 0 ? part / total : 0);
const transportName = (v: number) => (v === 4 ? 'IPv4' : v === 6 ? 'IPv6' : 'unknown');

const SeriesParams = Type.Object({ ...TimeRangeParams, ...Filters, ...ProtocolFilter, ...RollupParam });
const ClientSeriesParams = Type.Object({ ...TimeRangeParams, ...Filters, ...RollupParam });
const RankingParams = Type.Object({
  ...RangeParams,
  ...Filters,
  ...ProtocolFilter,
  ...LimitParam,
  ...RollupParam,
});

// ---------------------------------------------------------------------------------------------
// Query rate

export const queryRate = defineQuery({
  domain: 'dns',
  name: 'query-rate',
  summary: 'Queries per second by transport (IPv4, IPv6) and protocol (UDP, TCP, DoT, …) over time',
  description:
    'Per step, transport and protocol: queries per second, the share answered, and responses per second. ' +
    'On the hourly rollup the step is rounded up to whole hours.',
  params: SeriesParams,
  validate: (p) => validateTimeRange(p),
  async run(p, { warehouse }) {
    const choice = chooseRollup({ ...p, family: 'queries', bucketSeconds: p.step, requested: p.rollup });
    const src = source('queries', choice, p);
    const step = effectiveStep(choice, p.step);
    const rows = await warehouse.query<{
      bucket: string;
      ip_version: number;
      protocol: number;
      n: string;
      answered_n: string;
    }>(
      `SELECT ${BUCKET} AS bucket, ip_version, protocol, sum(queries) AS n, sumIf(queries, answered = 1) AS answered_n
       FROM ${src.table} WHERE ${QUERIES_WHERE}
       GROUP BY bucket, ip_version, protocol ORDER BY bucket, ip_version, protocol`,
      { ...src.params, step },
    );
    return {
      columns: [
        { name: 'time', type: 'time' },
        { name: 'transport', type: 'string' },
        { name: 'protocol', type: 'string' },
        { name: 'qps', type: 'number', unit: 'reqps' },
        { name: 'answered_share', type: 'number', unit: 'percentunit' },
      ],
      rows: rows.map((r) => ({
        time: num(r.bucket),
        transport: transportName(num(r.ip_version)),
        protocol: PROTOCOL_NAMES[num(r.protocol)] ?? `protocol-${r.protocol}`,
        qps: num(r.n) / step,
        answered_share: share(num(r.answered_n), num(r.n)),
      })),
    };
  },
});

// ---------------------------------------------------------------------------------------------
// Queries per second per source IP

const QUANTILES = '0.5, 0.9, 0.99';

/** Per bucket of `step` seconds: sources, queries and per-source quantiles of the count. */
async function perSourceBuckets(
  warehouse: Warehouse,
  src: Source,
  step: number,
  bucketExpr: string,
): Promise<{ bucket: number; ip_version: number; sources: number; queries: number; q: number[] }[]> {
  const rows = await warehouse.query<{
    bucket: string;
    ip_version: number;
    sources: string;
    queries: string;
    q: number[];
  }>(
    `SELECT bucket, ip_version, count() AS sources, sum(c) AS queries, quantilesExact(${QUANTILES})(c) AS q
     FROM (
       SELECT ${bucketExpr} AS bucket, ip_version, client, sum(queries) AS c
       FROM ${src.table} WHERE ${CLIENTS_WHERE}
       GROUP BY bucket, ip_version, client
     )
     GROUP BY bucket, ip_version ORDER BY bucket, ip_version`,
    { ...src.params, step },
  );
  return rows.map((r) => ({
    bucket: num(r.bucket),
    ip_version: num(r.ip_version),
    sources: num(r.sources),
    queries: num(r.queries),
    q: r.q.map(Number),
  }));
}

export const perSourceRate = defineQuery({
  domain: 'dns',
  name: 'per-source-rate',
  summary: 'Queries per second per source IP: average and distribution over sources, over time',
  description:
    'Per step and transport: active sources (distinct client addresses), the average queries per second per ' +
    'source (queries ÷ sources ÷ step) and the median, 90th and 99th percentile over sources of each ' +
    "source's rate in the step. The report saw about 0.08/s on average (0.04 at 04:00, 0.13 at 21:00).",
  params: ClientSeriesParams,
  validate: (p) => validateTimeRange(p),
  async run(p, { warehouse }) {
    const choice = chooseRollup({ ...p, family: 'clients', bucketSeconds: p.step, requested: p.rollup });
    const src = source('clients', choice, p);
    const step = effectiveStep(choice, p.step);
    const rows = await perSourceBuckets(warehouse, src, step, BUCKET);
    return {
      columns: [
        { name: 'time', type: 'time' },
        { name: 'transport', type: 'string' },
        { name: 'sources', type: 'number' },
        { name: 'avg_qps_per_source', type: 'number', unit: 'reqps' },
        { name: 'p50_qps_per_source', type: 'number', unit: 'reqps' },
        { name: 'p90_qps_per_source', type: 'number', unit: 'reqps' },
        { name: 'p99_qps_per_source', type: 'number', unit: 'reqps' },
      ],
      rows: rows.map((r) => ({
        time: r.bucket,
        transport: transportName(r.ip_version),
        sources: r.sources,
        avg_qps_per_source: share(r.queries, r.sources) / step,
        p50_qps_per_source: (r.q[0] ?? 0) / step,
        p90_qps_per_source: (r.q[1] ?? 0) / step,
        p99_qps_per_source: (r.q[2] ?? 0) / step,
      })),
    };
  },
});

export const perSourceRateByHour = defineQuery({
  domain: 'dns',
  name: 'per-source-rate-by-hour',
  summary: 'Queries per second per source IP by local hour of day (the report’s daily curve)',
  description:
    'For each local hour of day (0–23, in `timezone`) and transport: the average over the days of the range ' +
    'of that hour’s queries ÷ active sources ÷ 3600, and of its median over sources; plus the average over ' +
    'the whole range (queries ÷ source-hours ÷ 3600). Read from the hourly client rollup.',
  params: Type.Object({ ...RangeParams, ...Filters, ...TimeZoneParam }),
  validate: (p) => {
    validateRange(p);
    validateTimeZone(p);
  },
  async run(p, { warehouse }) {
    const src = source('clients', '1h', p);
    const hours = await perSourceBuckets(warehouse, src, 3600, 'toUnixTimestamp(time) * 1000');
    const zone = canonicalTimeZone(p.timezone) ?? 'UTC';
    const byHour = new Map<
      string,
      { hour: number; ip: number; days: number; avg: number; p50: number; q: number; s: number }
    >();
    for (const h of hours) {
      const local = new Date(h.bucket + utcOffsetMinutes(zone, h.bucket) * 60_000).getUTCHours();
      const key = `${local}|${h.ip_version}`;
      const cell = byHour.get(key) ?? { hour: local, ip: h.ip_version, days: 0, avg: 0, p50: 0, q: 0, s: 0 };
      cell.days++;
      cell.avg += share(h.queries, h.sources) / 3600;
      cell.p50 += (h.q[0] ?? 0) / 3600;
      cell.q += h.queries;
      cell.s += h.sources;
      byHour.set(key, cell);
    }
    const cells = [...byHour.values()].sort((a, b) => a.hour - b.hour || a.ip - b.ip);
    return {
      columns: [
        { name: 'hour', type: 'number' },
        { name: 'transport', type: 'string' },
        { name: 'avg_qps_per_source', type: 'number', unit: 'reqps' },
        { name: 'p50_qps_per_source', type: 'number', unit: 'reqps' },
        { name: 'hours', type: 'number' },
        { name: 'range_avg_qps_per_source', type: 'number', unit: 'reqps' },
      ],
      rows: cells.map((c) => {
        const all = cells.filter((x) => x.ip === c.ip);
        const q = all.reduce((n, x) => n + x.q, 0);
        const s = all.reduce((n, x) => n + x.s, 0);
        return {
          hour: c.hour,
          transport: transportName(c.ip),
          avg_qps_per_source: c.avg / c.days,
          p50_qps_per_source: c.p50 / c.days,
          hours: c.days,
          range_avg_qps_per_source: share(q, s) / 3600,
        };
      }),
    };
  },
});

export const perSourceDistribution = defineQuery({
  domain: 'dns',
  name: 'per-source-distribution',
  summary: 'Distribution over sources of queries per second per source (histogram)',
  description:
    'Sources binned by their average rate over the range (queries ÷ range seconds), in power-of-two bins ' +
    'from 2⁻²⁰ q/s, per transport; each row is a bin with its lower edge, sources and share of sources.',
  params: Type.Object({ ...RangeParams, ...Filters, ...RollupParam }),
  validate: (p) => validateRange(p),
  async run(p, { warehouse }) {
    const choice = chooseRollup({ ...p, family: 'clients', bucketSeconds: 3600, requested: p.rollup });
    const src = source('clients', choice, p);
    const rows = await warehouse.query<{ ip_version: number; bin: number; sources: string }>(
      `SELECT ip_version, greatest(-20, toInt32(floor(log2(c / {seconds:UInt32})))) AS bin, count() AS sources
       FROM (
         SELECT ip_version, client, sum(queries) AS c FROM ${src.table} WHERE ${CLIENTS_WHERE}
         GROUP BY ip_version, client
       )
       GROUP BY ip_version, bin ORDER BY ip_version, bin`,
      { ...src.params, seconds: src.seconds },
    );
    const totals = new Map<number, number>();
    for (const r of rows)
      totals.set(num(r.ip_version), (totals.get(num(r.ip_version)) ?? 0) + num(r.sources));
    return {
      columns: [
        { name: 'transport', type: 'string' },
        { name: 'qps_from', type: 'number', unit: 'reqps' },
        { name: 'qps_to', type: 'number', unit: 'reqps' },
        { name: 'sources', type: 'number' },
        { name: 'share', type: 'number', unit: 'percentunit' },
      ],
      rows: rows.map((r) => ({
        transport: transportName(num(r.ip_version)),
        qps_from: num(r.bin) <= -20 ? 0 : 2 ** num(r.bin),
        qps_to: 2 ** (num(r.bin) + 1),
        sources: num(r.sources),
        share: share(num(r.sources), totals.get(num(r.ip_version)) ?? 0),
      })),
    };
  },
});

// ---------------------------------------------------------------------------------------------
// Query types by transport; sources asking A and AAAA

export const queryTypes = defineQuery({
  domain: 'dns',
  name: 'query-types',
  summary: 'Query types by transport (IPv4, IPv6): share of queries per type — Fig. 3, 4',
  description:
    'Per transport, the `limit` most asked query types with queries and share of that transport’s queries, ' +
    'and an "other" row for the rest. The report: IPv4 A 64%, AAAA 33%; IPv6 A 56%, AAAA 43%.',
  params: RankingParams,
  validate: (p) => validateRange(p),
  async run(p, { warehouse }) {
    const choice = chooseRollup({ ...p, family: 'queries', bucketSeconds: 3600, requested: p.rollup });
    const src = source('queries', choice, p);
    const rows = await warehouse.query<{ ip_version: number; qtype: number; n: string }>(
      `SELECT ip_version, qtype, sum(queries) AS n FROM ${src.table} WHERE ${QUERIES_WHERE}
       GROUP BY ip_version, qtype ORDER BY ip_version, n DESC, qtype`,
      src.params,
    );
    const out: QueryResult['rows'] = [];
    for (const v of [...new Set(rows.map((r) => num(r.ip_version)))]) {
      const mine = rows.filter((r) => num(r.ip_version) === v);
      const total = mine.reduce((n, r) => n + num(r.n), 0);
      for (const r of mine.slice(0, p.limit)) {
        out.push({
          transport: transportName(v),
          qtype: num(r.qtype),
          type: qtypeName(num(r.qtype)),
          queries: num(r.n),
          share: share(num(r.n), total),
        });
      }
      const rest = mine.slice(p.limit).reduce((n, r) => n + num(r.n), 0);
      if (rest > 0)
        out.push({
          transport: transportName(v),
          qtype: null,
          type: 'other',
          queries: rest,
          share: share(rest, total),
        });
    }
    return {
      columns: [
        { name: 'transport', type: 'string' },
        { name: 'qtype', type: 'number' },
        { name: 'type', type: 'string' },
        { name: 'queries', type: 'number' },
        { name: 'share', type: 'number', unit: 'percentunit' },
      ],
      rows: out,
    };
  },
});

export const queryTypesSeries = defineQuery({
  domain: 'dns',
  name: 'query-types-series',
  summary: 'Query types by transport over time (A, AAAA, HTTPS, … and other)',
  description:
    'Per step and transport: queries per second and share for A, AAAA and the types listed in `types` ' +
    '(comma-separated names, default A,AAAA,HTTPS,PTR), the rest as "other".',
  params: Type.Object({
    ...TimeRangeParams,
    ...Filters,
    ...ProtocolFilter,
    ...RollupParam,
    types: Type.String({
      default: 'A,AAAA,HTTPS,PTR',
      maxLength: 200,
      pattern: '^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$',
    }),
  }),
  validate: (p) => {
    validateTimeRange(p);
    typeNumbers(p.types);
  },
  async run(p, { warehouse }) {
    const choice = chooseRollup({ ...p, family: 'queries', bucketSeconds: p.step, requested: p.rollup });
    const src = source('queries', choice, p);
    const step = effectiveStep(choice, p.step);
    const wanted = typeNumbers(p.types);
    const rows = await warehouse.query<{ bucket: string; ip_version: number; t: number; n: string }>(
      `SELECT ${BUCKET} AS bucket, ip_version, if(has({types:Array(UInt16)}, qtype), qtype, 0) AS t,
              sum(queries) AS n
       FROM ${src.table} WHERE ${QUERIES_WHERE}
       GROUP BY bucket, ip_version, t ORDER BY bucket, ip_version, t`,
      { ...src.params, step, types: wanted },
    );
    const totals = new Map<string, number>();
    for (const r of rows) {
      const key = `${r.bucket}|${r.ip_version}`;
      totals.set(key, (totals.get(key) ?? 0) + num(r.n));
    }
    return {
      columns: [
        { name: 'time', type: 'time' },
        { name: 'transport', type: 'string' },
        { name: 'type', type: 'string' },
        { name: 'qps', type: 'number', unit: 'reqps' },
        { name: 'share', type: 'number', unit: 'percentunit' },
      ],
      rows: rows.map((r) => ({
        time: num(r.bucket),
        transport: transportName(num(r.ip_version)),
        type: num(r.t) === 0 ? 'other' : qtypeName(num(r.t)),
        qps: num(r.n) / step,
        share: share(num(r.n), totals.get(`${r.bucket}|${r.ip_version}`) ?? 0),
      })),
    };
  },
});

function typeNumbers(list: string): number[] {
  return list.split(',').map((name) => {
    const upper = name.toUpperCase();
    const known = QTYPE_NUMBERS[upper];
    if (known !== undefined) return known;
    const m = /^TYPE(\d{1,5})$/.exec(upper);
    if (m && Number(m[1]) > 0 && Number(m[1]) < 65536) return Number(m[1]);
    throw new QueryParameterError('types', `unknown query type ${name}`);
  });
}

export const sourcesAsking = defineQuery({
  domain: 'dns',
  name: 'sources-asking',
  summary: 'Share of query sources asking for A and AAAA, per transport',
  description:
    'Per transport: sources (distinct client addresses with a query in the range) and the share that asked at ' +
    'least one A, at least one AAAA, both, and neither. The report: A ≈ 96% on both; AAAA ≈ 57% (IPv4), ' +
    '80% (IPv6).',
  params: Type.Object({ ...RangeParams, ...Filters, ...RollupParam }),
  validate: (p) => validateRange(p),
  async run(p, { warehouse }) {
    const choice = chooseRollup({ ...p, family: 'clients', bucketSeconds: 3600, requested: p.rollup });
    const src = source('clients', choice, p);
    const rows = await warehouse.query<{
      ip_version: number;
      sources: string;
      with_a: string;
      with_aaaa: string;
      with_both: string;
    }>(
      `SELECT ip_version, count() AS sources, countIf(a > 0) AS with_a, countIf(aaaa > 0) AS with_aaaa,
              countIf(a > 0 AND aaaa > 0) AS with_both
       FROM (
         SELECT ip_version, client, sum(a_queries) AS a, sum(aaaa_queries) AS aaaa
         FROM ${src.table} WHERE ${CLIENTS_WHERE} GROUP BY ip_version, client
       )
       GROUP BY ip_version ORDER BY ip_version`,
      src.params,
    );
    return {
      columns: [
        { name: 'transport', type: 'string' },
        { name: 'sources', type: 'number' },
        { name: 'a_share', type: 'number', unit: 'percentunit' },
        { name: 'aaaa_share', type: 'number', unit: 'percentunit' },
        { name: 'both_share', type: 'number', unit: 'percentunit' },
        { name: 'neither_share', type: 'number', unit: 'percentunit' },
      ],
      rows: rows.map((r) => {
        const n = num(r.sources);
        return {
          transport: transportName(num(r.ip_version)),
          sources: n,
          a_share: share(num(r.with_a), n),
          aaaa_share: share(num(r.with_aaaa), n),
          both_share: share(num(r.with_both), n),
          neither_share: share(n - num(r.with_a) - num(r.with_aaaa) + num(r.with_both), n),
        };
      }),
    };
  },
});

// ---------------------------------------------------------------------------------------------
// Rcodes and latency

export const rcodes = defineQuery({
  domain: 'dns',
  name: 'rcodes',
  summary: 'Responses per rcode over time (NOERROR, NXDOMAIN, SERVFAIL, …, no response)',
  description:
    'Per step and rcode: queries per second and share of the step’s queries; queries without a seen response ' +
    'are "no response".',
  params: SeriesParams,
  validate: (p) => validateTimeRange(p),
  async run(p, { warehouse }) {
    const choice = chooseRollup({ ...p, family: 'queries', bucketSeconds: p.step, requested: p.rollup });
    const src = source('queries', choice, p);
    const step = effectiveStep(choice, p.step);
    const rows = await warehouse.query<{
      bucket: string;
      answered: number;
      rcode: number;
      n: string;
      total: string;
    }>(
      `SELECT ${BUCKET} AS bucket, answered, rcode, sum(queries) AS n,
              sum(sum(queries)) OVER (PARTITION BY bucket) AS total
       FROM ${src.table} WHERE ${QUERIES_WHERE}
       GROUP BY bucket, answered, rcode ORDER BY bucket, answered DESC, rcode`,
      { ...src.params, step },
    );
    return {
      columns: [
        { name: 'time', type: 'time' },
        { name: 'rcode', type: 'string' },
        { name: 'qps', type: 'number', unit: 'reqps' },
        { name: 'share', type: 'number', unit: 'percentunit' },
      ],
      rows: rows.map((r) => ({
        time: num(r.bucket),
        rcode: num(r.answered) === 1 ? rcodeName(num(r.rcode)) : 'no response',
        qps: num(r.n) / step,
        share: share(num(r.n), num(r.total)),
      })),
    };
  },
});

/** Quantile of a histogram {bucket: count}, interpolated geometrically inside the bucket (µs). */
export function histogramQuantile(histogram: Map<number, number>, q: number): number {
  const buckets = [...histogram.entries()].filter(([, c]) => c > 0).sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((n, [, c]) => n + c, 0);
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (const [bucket, count] of buckets) {
    if (seen + count >= rank) {
      const lo = latencyBucketLowerUs(bucket);
      const hi = latencyBucketLowerUs(bucket + 1);
      const f = count > 0 ? (rank - seen) / count : 0;
      return lo + (hi - lo) * f;
    }
    seen += count;
  }
  return latencyBucketLowerUs((buckets.at(-1)?.[0] ?? 0) + 1);
}

export const latency = defineQuery({
  domain: 'dns',
  name: 'latency',
  summary: 'Resolver response time over time: mean, median, 90th and 99th percentile',
  description:
    'Per step: mean response time and percentiles (from a histogram with four buckets per doubling, so within ' +
    '±9%), in seconds, over answered queries.',
  params: SeriesParams,
  validate: (p) => validateTimeRange(p),
  async run(p, { warehouse }) {
    const choice = chooseRollup({ ...p, family: 'queries', bucketSeconds: p.step, requested: p.rollup });
    const src = source('queries', choice, p);
    const step = effectiveStep(choice, p.step);
    const rows = await warehouse.query<{ bucket: string; n: string; us: string; k: number[]; v: string[] }>(
      `SELECT bucket, n, us, mapKeys(h) AS k, mapValues(h) AS v FROM (
         SELECT ${BUCKET} AS bucket, sum(queries) AS n, sum(response_time_us) AS us, sumMap(latency) AS h
         FROM ${src.table} WHERE ${QUERIES_WHERE} AND answered = 1
         GROUP BY bucket
       ) ORDER BY bucket`,
      { ...src.params, step },
    );
    return {
      columns: [
        { name: 'time', type: 'time' },
        { name: 'answered', type: 'number' },
        { name: 'mean_s', type: 'number', unit: 's' },
        { name: 'p50_s', type: 'number', unit: 's' },
        { name: 'p90_s', type: 'number', unit: 's' },
        { name: 'p99_s', type: 'number', unit: 's' },
      ],
      rows: rows.map((r) => {
        const h = new Map(r.k.map((k, i) => [num(k), num(r.v[i])]));
        return {
          time: num(r.bucket),
          answered: num(r.n),
          mean_s: share(num(r.us), num(r.n)) / 1e6,
          p50_s: histogramQuantile(h, 0.5) / 1e6,
          p90_s: histogramQuantile(h, 0.9) / 1e6,
          p99_s: histogramQuantile(h, 0.99) / 1e6,
        };
      }),
    };
  },
});

// ---------------------------------------------------------------------------------------------
// Top names, zones, clients

export const topNames = defineQuery({
  domain: 'dns',
  name: 'top-names',
  summary: 'Most asked query names (recent: the raw table, kept two days)',
  description:
    'The `limit` query names with the most queries in the range (optionally one rcode or type), with their ' +
    'zone, NXDOMAIN count and share of all matching queries. When raw rows are sampled, counts are scaled by ' +
    'the sampling factor. The range must lie within the raw table’s retention.',
  params: Type.Object({
    ...RangeParams,
    ...Filters,
    ...ProtocolFilter,
    ...LimitParam,
    rcode: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 4095, description: 'Only answers with this rcode' }),
    ),
    qtype: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'Only this query type' })),
    zone: Type.Optional(
      Type.String({ maxLength: 255, description: 'Only names under this zone (e.g. example.jp.)' }),
    ),
  }),
  validate: (p) => {
    validateRange(p);
    if (p.from < Date.now() - RAW_RETENTION_DAYS * DAY_MS - HOUR_MS) {
      throw new QueryParameterError('from', `raw queries are kept ${RAW_RETENTION_DAYS} days; use top-zones`);
    }
  },
  async run(p, { warehouse }) {
    const zone = p.zone ? (p.zone.endsWith('.') ? p.zone : `${p.zone}.`).toLowerCase() : '';
    const rows = await warehouse.query<{ qname: string; z: string; n: string; nx: string; total: string }>(
      `SELECT qname, any(zone) AS z, sum(sample_one_in) AS n,
              sumIf(sample_one_in, answered = 1 AND rcode = 3) AS nx,
              sum(sum(sample_one_in)) OVER () AS total
       FROM ${DNS_RAW_TABLE}
       WHERE time_query >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
         AND time_query < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
         AND ({resolver:String} = '' OR resolver = {resolver:String})
         AND ({ip_version:UInt8} = 0 OR ip_version = {ip_version:UInt8})
         AND ({protocol:UInt8} = 0 OR protocol = {protocol:UInt8})
         AND ({rcode:Int32} < 0 OR (answered = 1 AND rcode = {rcode:Int32}))
         AND ({qtype:UInt16} = 0 OR qtype = {qtype:UInt16})
         AND ({zone:String} = '' OR zone = {zone:String})
       GROUP BY qname ORDER BY n DESC, qname LIMIT {limit:UInt16}`,
      {
        from: p.from,
        to: p.to,
        resolver: p.resolver ?? '',
        ip_version: p.ip_version ?? 0,
        protocol: p.protocol ? PROTOCOLS[p.protocol as keyof typeof PROTOCOLS] : 0,
        rcode: p.rcode ?? -1,
        qtype: p.qtype ?? 0,
        zone,
        limit: p.limit,
      },
    );
    return {
      columns: [
        { name: 'rank', type: 'number' },
        { name: 'qname', type: 'string' },
        { name: 'zone', type: 'string' },
        { name: 'queries', type: 'number' },
        { name: 'nxdomain', type: 'number' },
        { name: 'share', type: 'number', unit: 'percentunit' },
      ],
      rows: rows.map((r, i) => ({
        rank: i + 1,
        qname: r.qname,
        zone: r.z,
        queries: num(r.n),
        nxdomain: num(r.nx),
        share: share(num(r.n), num(r.total)),
      })),
    };
  },
});

export const topZones = defineQuery({
  domain: 'dns',
  name: 'top-zones',
  summary: 'Most asked zones (registered domains), with NXDOMAIN and SERVFAIL counts',
  description:
    'The `limit` registered domains (public-suffix aware, e.g. example.co.jp.) with the most queries, sorted ' +
    'by `by` (queries, nxdomain or servfail), with their share of all queries in the range.',
  params: Type.Object({
    ...RangeParams,
    resolver: Filters.resolver,
    ...LimitParam,
    ...RollupParam,
    by: Type.Union([Type.Literal('queries'), Type.Literal('nxdomain'), Type.Literal('servfail')], {
      default: 'queries',
    }),
  }),
  validate: (p) => validateRange(p),
  async run(p, { warehouse }) {
    const choice = chooseRollup({ ...p, family: 'zones', bucketSeconds: 3600, requested: p.rollup });
    const src = source('zones', choice, p);
    const rows = await warehouse.query<{ zone: string; q: string; nx: string; sf: string; total: string }>(
      `SELECT zone, sum(queries) AS q, sum(nxdomain) AS nx, sum(servfail) AS sf,
              sum(sum(queries)) OVER () AS total
       FROM ${src.table} WHERE ${ZONES_WHERE}
       GROUP BY zone
       ORDER BY multiIf({by:String} = 'nxdomain', nx, {by:String} = 'servfail', sf, q) DESC, zone
       LIMIT {limit:UInt16}`,
      { ...src.params, by: p.by, limit: p.limit },
    );
    return {
      columns: [
        { name: 'rank', type: 'number' },
        { name: 'zone', type: 'string' },
        { name: 'queries', type: 'number' },
        { name: 'qps', type: 'number', unit: 'reqps' },
        { name: 'nxdomain', type: 'number' },
        { name: 'servfail', type: 'number' },
        { name: 'share', type: 'number', unit: 'percentunit' },
      ],
      rows: rows.map((r, i) => ({
        rank: i + 1,
        zone: r.zone,
        queries: num(r.q),
        qps: num(r.q) / src.seconds,
        nxdomain: num(r.nx),
        servfail: num(r.sf),
        share: share(num(r.q), num(r.total)),
      })),
    };
  },
});

export const topClients = defineQuery({
  domain: 'dns',
  name: 'top-clients',
  summary: 'Clients (source IPs) with the most queries, with their NXDOMAIN and SERVFAIL counts',
  description:
    'The `limit` client addresses with the most queries in the range, with queries per second, A and AAAA ' +
    'counts, NXDOMAIN and SERVFAIL answers and their share of all queries.',
  params: Type.Object({ ...RangeParams, ...Filters, ...LimitParam, ...RollupParam }),
  validate: (p) => validateRange(p),
  async run(p, { warehouse }) {
    const choice = chooseRollup({ ...p, family: 'clients', bucketSeconds: 3600, requested: p.rollup });
    const src = source('clients', choice, p);
    const rows = await warehouse.query<{
      client: string;
      v: number;
      q: string;
      a: string;
      aaaa: string;
      nx: string;
      sf: string;
      total: string;
    }>(
      `SELECT client, any(ip_version) AS v, sum(queries) AS q, sum(a_queries) AS a,
              sum(aaaa_queries) AS aaaa, sum(nxdomain) AS nx, sum(servfail) AS sf,
              sum(sum(queries)) OVER () AS total
       FROM ${src.table} WHERE ${CLIENTS_WHERE}
       GROUP BY client ORDER BY q DESC, client LIMIT {limit:UInt16}`,
      { ...src.params, limit: p.limit },
    );
    return {
      columns: [
        { name: 'rank', type: 'number' },
        { name: 'client', type: 'string' },
        { name: 'transport', type: 'string' },
        { name: 'queries', type: 'number' },
        { name: 'qps', type: 'number', unit: 'reqps' },
        { name: 'a', type: 'number' },
        { name: 'aaaa', type: 'number' },
        { name: 'nxdomain', type: 'number' },
        { name: 'servfail', type: 'number' },
        { name: 'share', type: 'number', unit: 'percentunit' },
      ],
      rows: rows.map((r, i) => ({
        rank: i + 1,
        client: r.client,
        transport: transportName(num(r.v)),
        queries: num(r.q),
        qps: num(r.q) / src.seconds,
        a: num(r.a),
        aaaa: num(r.aaaa),
        nxdomain: num(r.nx),
        servfail: num(r.sf),
        share: share(num(r.q), num(r.total)),
      })),
    };
  },
});

/**
 * Runs a query in-process as the gateway does over HTTP: parameters converted and completed with their
 * defaults, checked against the schema and `validate`, then run (tests, benchmarks, scripts).
 */
export async function runQuery(
  query: QueryDefinition,
  params: Record<string, unknown>,
  warehouse: Warehouse,
): Promise<QueryResult> {
  const p = Value.Default(query.params, Value.Convert(query.params, structuredClone(params)));
  if (!Value.Check(query.params, p)) {
    const first = [...Value.Errors(query.params, p)][0];
    throw new QueryParameterError(first?.path.replace(/^\//, '') || 'params', first?.message ?? 'invalid');
  }
  query.validate?.(p as never);
  return query.run(p as never, { warehouse });
}

export const dnsQueries = [
  queryRate,
  perSourceRate,
  perSourceRateByHour,
  perSourceDistribution,
  queryTypes,
  queryTypesSeries,
  sourcesAsking,
  rcodes,
  latency,
  topNames,
  topZones,
  topClients,
];
