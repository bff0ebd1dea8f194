/**
 * The flows queries behind the report's figures (Fig. 6–13) and the NOC's drill-downs. Every value
 * from a request reaches ClickHouse as a bound `{name:Type}` parameter; the only text chosen in
 * code is which rollup table to read, from two constants.
 *
 * Rollup choice: the hourly table is read when hours are fine enough (the step or slot is a whole
 * number of hours and, for local-time buckets, the time zone is a whole number of hours from UTC)
 * and the range is hour-aligned or long (≥ 3 days, where the range's edges are rounded to whole
 * hours), and always when the range starts before the minute rollup's retention. Otherwise the
 * minute table. `rollup=1m|1h` forces one (the tests compare the two).
 */
import { formatIpAddress, parseIpAddress } from '@kansoku/contracts/ip-address';
import {
  defineQuery,
  MAX_RANGE_MS,
  type QueryColumn,
  QueryParameterError,
  type QueryResult,
  TimeRangeParams,
  validateTimeRange,
  type Warehouse,
} from '@kansoku/kit';
import { type Static, Type } from '@sinclair/typebox';
import { FLOWS_1H_TABLE, FLOWS_1M_TABLE, FLOWS_RAW_TABLE, MINUTE_RETENTION_DAYS } from './tables.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** From this range length on, hourly rows serve a range whose edges are not whole hours. */
const LONG_RANGE_MS = 3 * DAY_MS;
const MAX_TOP = 100;

export type RollupChoice = '1m' | '1h';
const ROLLUPS = {
  '1m': { table: FLOWS_1M_TABLE, grain: 60 },
  '1h': { table: FLOWS_1H_TABLE, grain: 3600 },
} as const;

// ---------------------------------------------------------------------------------------------
// Parameters

const RangeParams = { from: TimeRangeParams.from, to: TimeRangeParams.to };

const FilterParams = {
  exporter: Type.Optional(
    Type.String({
      maxLength: 45,
      pattern: '^[0-9A-Fa-f:.]*$',
      description: 'Exporter address; all when absent',
    }),
  ),
  ip_version: Type.Optional(
    Type.Union([Type.Literal(4), Type.Literal(6)], { description: 'IP version (4 or 6); both when absent' }),
  ),
  interface: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 4_294_967_295,
      description: 'SNMP ifIndex, matched as input or output interface; all when absent',
    }),
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

const TimeZoneParam = {
  timezone: Type.String({
    default: 'Asia/Tokyo',
    maxLength: 64,
    pattern: '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$',
    description: 'IANA time zone of the local-time buckets (the report is Japanese: Asia/Tokyo)',
  }),
};

const DaysParam = {
  days: Type.Union([Type.Literal('all'), Type.Literal('weekdays'), Type.Literal('weekends')], {
    default: 'all',
    description: 'Which local days count: all, weekdays (Mon–Fri) or weekends',
  }),
};

type Filters = { exporter?: string; ip_version?: 4 | 6; interface?: number };
type Range = { from: number; to: number };

// ---------------------------------------------------------------------------------------------
// Validation (synchronous, so the gateway answers 400 naming the parameter)

function validateRange(p: Range): void {
  if (p.to <= p.from) throw new QueryParameterError('to', 'must be after from');
  if (p.to - p.from > MAX_RANGE_MS) throw new QueryParameterError('from', 'range is longer than 400 days');
}

function canonicalAddress(parameter: string, text: string | undefined): string {
  if (text === undefined || text === '') return '';
  try {
    return formatIpAddress(parseIpAddress(text));
  } catch {
    throw new QueryParameterError(parameter, 'is not an IPv4 or IPv6 address');
  }
}

function validateFilters(p: Filters): void {
  canonicalAddress('exporter', p.exporter);
}

/** The zone's canonical name, or undefined when it is not a known IANA zone. */
export function canonicalTimeZone(name: string): string | undefined {
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

/** A parameter error found while running (after the gateway's validate step): still a 400. */
class LateParameterError extends QueryParameterError {
  readonly statusCode = 400;
}

const warehouseZones = new WeakMap<Warehouse, Promise<Set<string>>>();

/**
 * The canonical zone, checked against ClickHouse's own list too (its tz database may lag the
 * runtime's ICU by a zone or two; an unknown zone would otherwise fail the query with a 500).
 */
async function timeZoneOf(warehouse: Warehouse, p: { timezone: string }): Promise<string> {
  const zone = canonicalTimeZone(p.timezone);
  if (!zone) throw new LateParameterError('timezone', 'is not a known IANA time zone');
  let zones = warehouseZones.get(warehouse);
  if (!zones) {
    zones = warehouse
      .query<{ time_zone: string }>('SELECT time_zone FROM system.time_zones')
      .then((rows) => new Set(rows.map((r) => r.time_zone)));
    warehouseZones.set(warehouse, zones);
    zones.catch(() => warehouseZones.delete(warehouse));
  }
  if (!(await zones).has(zone)) {
    throw new LateParameterError('timezone', `${zone} is not in the warehouse's time zone database`);
  }
  return zone;
}

/** Offset from UTC in minutes at an instant, e.g. 540 for Asia/Tokyo. */
export function utcOffsetMinutes(zone: string, ms: number): number {
  const name =
    new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
      .formatToParts(ms)
      .find((part) => part.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name);
  if (!match) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
}

// ---------------------------------------------------------------------------------------------
// Rollup choice and shared SQL

export function chooseRollup(options: {
  from: number;
  to: number;
  /** The finest bucket the answer needs, in seconds. */
  bucketSeconds: number;
  /** Local-time buckets: hourly rows fit only a zone a whole number of hours from UTC. */
  timezone?: string;
  requested?: 'auto' | RollupChoice;
  now?: number;
}): RollupChoice {
  const { from, to, bucketSeconds, timezone, requested = 'auto', now = Date.now() } = options;
  if (requested !== 'auto') return requested;
  if (from < now - (MINUTE_RETENTION_DAYS - 1) * DAY_MS) return '1h';
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

/** Rows of a rollup whose bucket starts in [from rounded down to the grain, to). */
const ROLLUP_WHERE = `time >= toDateTime({start:UInt32}, 'UTC') AND time < toDateTime({end:UInt32}, 'UTC')
  AND ({exporter:String} = '' OR exporter = {exporter:String})
  AND ({ip_version:UInt8} = 0 OR ip_version = {ip_version:UInt8})
  AND ({interface:UInt32} = 0 OR in_interface = {interface:UInt32} OR out_interface = {interface:UInt32})`;

const LOCAL_DAYS = `({days:String} = 'all'
  OR ({days:String} = 'weekdays' AND toDayOfWeek(t) <= 5)
  OR ({days:String} = 'weekends' AND toDayOfWeek(t) >= 6))`;

interface Source {
  table: string;
  grain: number;
  /** Bound parameters of ROLLUP_WHERE. */
  params: Record<string, string | number>;
  /** Seconds the selected buckets cover. */
  seconds: number;
}

function rollupSource(choice: RollupChoice, p: Range & Filters): Source {
  const { table, grain } = ROLLUPS[choice];
  const start = Math.floor(p.from / 1000 / grain) * grain;
  const end = Math.ceil(p.to / 1000);
  return {
    table,
    grain,
    seconds: Math.ceil((end - start) / grain) * grain,
    params: {
      start,
      end,
      exporter: canonicalAddress('exporter', p.exporter),
      ip_version: p.ip_version ?? 0,
      interface: p.interface ?? 0,
    },
  };
}

/** A step the rollup can serve: whole hours on the hourly table. */
function effectiveStep(choice: RollupChoice, step: number): number {
  const grain = ROLLUPS[choice].grain;
  return Math.ceil(step / grain) * grain;
}

const num = (v: unknown): number => Number(v ?? 0);

const PROTOCOL_NAMES: Record<number, string> = {
  1: 'ICMP',
  2: 'IGMP',
  6: 'TCP',
  17: 'UDP',
  41: 'IPv6-in-IPv4',
  47: 'GRE',
  50: 'ESP',
  58: 'ICMPv6',
  132: 'SCTP',
};

export function protocolName(protocol: number): string {
  return PROTOCOL_NAMES[protocol] ?? `IP-${protocol}`;
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function clock(minuteOfDay: number): string {
  return `${String(Math.floor(minuteOfDay / 60)).padStart(2, '0')}:${String(minuteOfDay % 60).padStart(2, '0')}`;
}

const share = (part: number, total: number): number => (total > 0 ? part / total : 0);

// ---------------------------------------------------------------------------------------------
// Fig. 6: traffic by IP version, IPv6 share

const SeriesParams = Type.Object({ ...TimeRangeParams, ...FilterParams, ...RollupParam });
type SeriesP = Static<typeof SeriesParams>;

function validateSeries(p: SeriesP): void {
  validateTimeRange(p);
  validateFilters(p);
}

export const trafficByIpVersion = defineQuery({
  domain: 'flows',
  name: 'traffic-by-ip-version',
  summary: 'Traffic by IP version over time (bps, pps) — Fig. 6',
  description:
    'Per step: bits and packets per second and flows for IPv4 and IPv6 (one row per time and version). ' +
    'On the hourly rollup the step is rounded up to whole hours.',
  params: SeriesParams,
  validate: validateSeries,
  async run(p, { warehouse }) {
    const choice = chooseRollup({ ...p, bucketSeconds: p.step, requested: p.rollup });
    const source = rollupSource(choice, p);
    const step = effectiveStep(choice, p.step);
    const rows = await warehouse.query<{
      bucket: string;
      version_label: string;
      bytes: string;
      packets: string;
      flows: string;
    }>(
      // The label must not be called ip_version: ClickHouse substitutes SELECT aliases into WHERE, and the
      // ip_version filter would then compare a string with a number.
      `SELECT toUnixTimestamp(toStartOfInterval(time, toIntervalSecond({step:UInt32}))) * 1000 AS bucket,
              multiIf(ip_version = 6, 'IPv6', ip_version = 4, 'IPv4', 'unknown') AS version_label,
              sum(bytes) AS bytes, sum(packets) AS packets, sum(flows) AS flows
       FROM ${source.table}
       WHERE ${ROLLUP_WHERE}
       GROUP BY bucket, version_label ORDER BY bucket, version_label`,
      { ...source.params, step },
    );
    return {
      columns: [
        { name: 'time', type: 'time' },
        { name: 'ip_version', type: 'string' },
        { name: 'bps', type: 'number', unit: 'bps' },
        { name: 'pps', type: 'number', unit: 'pps' },
        { name: 'flows', type: 'number' },
      ],
      rows: rows.map((r) => ({
        time: num(r.bucket),
        ip_version: r.version_label,
        bps: (num(r.bytes) * 8) / step,
        pps: num(r.packets) / step,
        flows: num(r.flows),
      })),
    };
  },
});

export const ipv6Share = defineQuery({
  domain: 'flows',
  name: 'ipv6-share',
  summary: 'IPv4 and IPv6 bps and the IPv6 share of traffic over time — Fig. 6',
  description:
    'Per step: IPv4 bps, IPv6 bps and the IPv6 share of bytes (0–1), one row per time. ' +
    'Records of unknown IP version count in neither.',
  params: Type.Object({ ...TimeRangeParams, exporter: FilterParams.exporter, ...RollupParam }),
  validate: (p) => {
    validateTimeRange(p);
    validateFilters(p);
  },
  async run(p, { warehouse }) {
    const choice = chooseRollup({ ...p, bucketSeconds: p.step, requested: p.rollup });
    const source = rollupSource(choice, p);
    const step = effectiveStep(choice, p.step);
    const rows = await warehouse.query<{ bucket: string; v4: string; v6: string }>(
      `SELECT toUnixTimestamp(toStartOfInterval(time, toIntervalSecond({step:UInt32}))) * 1000 AS bucket,
              sumIf(bytes, ip_version = 4) AS v4, sumIf(bytes, ip_version = 6) AS v6
       FROM ${source.table}
       WHERE ${ROLLUP_WHERE}
       GROUP BY bucket ORDER BY bucket`,
      { ...source.params, step },
    );
    return {
      columns: [
        { name: 'time', type: 'time' },
        { name: 'ipv4_bps', type: 'number', unit: 'bps' },
        { name: 'ipv6_bps', type: 'number', unit: 'bps' },
        { name: 'ipv6_share', type: 'number', unit: 'percentunit' },
      ],
      rows: rows.map((r) => ({
        time: num(r.bucket),
        ipv4_bps: (num(r.v4) * 8) / step,
        ipv6_bps: (num(r.v6) * 8) / step,
        ipv6_share: share(num(r.v6), num(r.v4) + num(r.v6)),
      })),
    };
  },
});

// ---------------------------------------------------------------------------------------------
// Fig. 7, 8: top source ASes

const RankingParams = Type.Object({ ...RangeParams, ...FilterParams, ...LimitParam, ...RollupParam });
type RankingP = Static<typeof RankingParams>;

function validateRanking(p: RankingP): void {
  validateRange(p);
  validateFilters(p);
}

function rankingSource(p: RankingP): Source {
  return rollupSource(chooseRollup({ ...p, bucketSeconds: 3600, requested: p.rollup }), p);
}

export const topSourceAs = defineQuery({
  domain: 'flows',
  name: 'top-source-as',
  summary: 'Top source ASes by bytes over the range — Fig. 7 (IPv6), Fig. 8 (IPv4)',
  description:
    'The `limit` source ASes with the most bytes (ties by AS number), with their share of all traffic ' +
    'matching the filters and their size relative to the first. Pass ip_version=6 for Fig. 7, 4 for Fig. 8.',
  params: RankingParams,
  validate: validateRanking,
  async run(p, { warehouse }) {
    const source = rankingSource(p);
    // Aliases differ from column names: `sum(bytes) AS bytes` would make the window's sum(bytes) nested.
    const rows = await warehouse.query<{ src_as: number; as_bytes: string; total: string }>(
      `SELECT src_as, sum(bytes) AS as_bytes, sum(sum(bytes)) OVER () AS total
       FROM ${source.table}
       WHERE ${ROLLUP_WHERE}
       GROUP BY src_as ORDER BY as_bytes DESC, src_as ASC LIMIT {limit:UInt16}`,
      { ...source.params, limit: p.limit },
    );
    const first = num(rows[0]?.as_bytes);
    return {
      columns: [
        { name: 'rank', type: 'number' },
        { name: 'src_as', type: 'number' },
        { name: 'source_as', type: 'string' },
        { name: 'bytes', type: 'number', unit: 'bytes' },
        { name: 'bps', type: 'number', unit: 'bps' },
        { name: 'share', type: 'number', unit: 'percentunit' },
        { name: 'relative_to_first', type: 'number' },
      ],
      rows: rows.map((r, i) => ({
        rank: i + 1,
        src_as: num(r.src_as),
        source_as: `AS${r.src_as}`,
        bytes: num(r.as_bytes),
        bps: (num(r.as_bytes) * 8) / source.seconds,
        share: share(num(r.as_bytes), num(r.total)),
        relative_to_first: share(num(r.as_bytes), first),
      })),
    };
  },
});

export const topSourceAsSeries = defineQuery({
  domain: 'flows',
  name: 'top-source-as-series',
  summary: 'Traffic of the top source ASes over time — Fig. 7, 8',
  description:
    'The `limit` source ASes ranked as in top-source-as over the whole range, each as a bps series, ' +
    'and the rest as "other" (one row per time and AS).',
  params: Type.Object({ ...TimeRangeParams, ...FilterParams, ...LimitParam, ...RollupParam }),
  validate: (p) => {
    validateTimeRange(p);
    validateFilters(p);
  },
  async run(p, { warehouse }) {
    const choice = chooseRollup({ ...p, bucketSeconds: p.step, requested: p.rollup });
    const source = rollupSource(choice, p);
    const step = effectiveStep(choice, p.step);
    const rows = await warehouse.query<{ bucket: string; source_as: string; bytes: string }>(
      `SELECT toUnixTimestamp(toStartOfInterval(time, toIntervalSecond({step:UInt32}))) * 1000 AS bucket,
              if(src_as IN (
                   SELECT src_as FROM ${source.table} WHERE ${ROLLUP_WHERE}
                   GROUP BY src_as ORDER BY sum(bytes) DESC, src_as ASC LIMIT {limit:UInt16}
                 ), concat('AS', toString(src_as)), 'other') AS source_as,
              sum(bytes) AS bytes
       FROM ${source.table}
       WHERE ${ROLLUP_WHERE}
       GROUP BY bucket, source_as ORDER BY bucket, source_as`,
      { ...source.params, step, limit: p.limit },
    );
    return {
      columns: [
        { name: 'time', type: 'time' },
        { name: 'source_as', type: 'string' },
        { name: 'bps', type: 'number', unit: 'bps' },
      ],
      rows: rows.map((r) => ({
        time: num(r.bucket),
        source_as: r.source_as,
        bps: (num(r.bytes) * 8) / step,
      })),
    };
  },
});

// ---------------------------------------------------------------------------------------------
// Fig. 9, 10: protocol and source port mix

export const protocolPortMix = defineQuery({
  domain: 'flows',
  name: 'protocol-port-mix',
  summary: 'Share of traffic per protocol and source port, with application names — Fig. 9, 10',
  description:
    'The `limit` (protocol, source port) pairs with the most bytes and their share of all traffic matching ' +
    'the filters, plus an "other" row for the rest. Source port 0 stands for ephemeral ports (folded in ' +
    'the rollups) and portless protocols. The application is the one with most bytes on that pair.',
  params: RankingParams,
  validate: validateRanking,
  async run(p, { warehouse }) {
    const source = rankingSource(p);
    const rows = await warehouse.query<{
      protocol: number;
      src_port: number;
      application: string;
      bytes: string;
      total: string;
    }>(
      `SELECT protocol, src_port, argMax(application, (app_bytes, application)) AS application,
              sum(app_bytes) AS bytes, sum(sum(app_bytes)) OVER () AS total
       FROM (
         SELECT protocol, src_port, application, sum(bytes) AS app_bytes
         FROM ${source.table}
         WHERE ${ROLLUP_WHERE}
         GROUP BY protocol, src_port, application
       )
       GROUP BY protocol, src_port ORDER BY bytes DESC, protocol ASC, src_port ASC LIMIT {limit:UInt16}`,
      { ...source.params, limit: p.limit },
    );
    const total = num(rows[0]?.total);
    const out: QueryResult['rows'] = rows.map((r) => {
      const name = protocolName(num(r.protocol));
      return {
        protocol: num(r.protocol),
        protocol_name: name,
        src_port: num(r.src_port),
        label: num(r.src_port) === 0 ? `other/${name}` : `${r.src_port}/${name}`,
        application: r.application,
        bytes: num(r.bytes),
        share: share(num(r.bytes), total),
      };
    });
    const rest = total - rows.reduce((sum, r) => sum + num(r.bytes), 0);
    if (rest > 0) {
      out.push({
        protocol: null,
        protocol_name: 'other',
        src_port: null,
        label: 'other',
        application: '',
        bytes: rest,
        share: share(rest, total),
      });
    }
    return {
      columns: [
        { name: 'protocol', type: 'number' },
        { name: 'protocol_name', type: 'string' },
        { name: 'src_port', type: 'number' },
        { name: 'label', type: 'string' },
        { name: 'application', type: 'string' },
        { name: 'bytes', type: 'number', unit: 'bytes' },
        { name: 'share', type: 'number', unit: 'percentunit' },
      ],
      rows: out,
    };
  },
});

// ---------------------------------------------------------------------------------------------
// Fig. 11, 12: traffic by local time of day and by weekday

interface LocalSlot {
  weekday: number;
  minute_of_day: number;
  bytes: number;
  packets: number;
  flows: number;
  seconds: number;
}

/**
 * Sums per local (weekday, slot) and the seconds of the range each one covers, so the average bps
 * of a slot is its bytes over the time it was observed (partial days and DST included).
 */
async function localSlots(
  warehouse: Warehouse,
  p: Range & Filters & { timezone: string; days: string; rollup: 'auto' | RollupChoice },
  slotMinutes: number,
  byWeekday: boolean,
): Promise<LocalSlot[]> {
  const zone = await timeZoneOf(warehouse, p);
  const choice = chooseRollup({ ...p, bucketSeconds: slotMinutes * 60, timezone: zone, requested: p.rollup });
  const source = rollupSource(choice, p);
  const weekday = byWeekday ? 'toDayOfWeek(t)' : '0';
  const slot = `intDiv(toHour(t) * 60 + toMinute(t), {slot:UInt16}) * {slot:UInt16}`;
  const params = {
    ...source.params,
    tz: zone,
    slot: slotMinutes,
    days: p.days,
    grain: source.grain,
    buckets: source.seconds / source.grain,
  };
  const [traffic, coverage] = await Promise.all([
    warehouse.query<{
      weekday: number;
      minute_of_day: number;
      bytes: string;
      packets: string;
      flows: string;
    }>(
      `SELECT ${weekday} AS weekday, ${slot} AS minute_of_day,
              sum(bytes) AS bytes, sum(packets) AS packets, sum(flows) AS flows
       FROM (
         SELECT toTimeZone(time, {tz:String}) AS t, bytes, packets, flows
         FROM ${source.table}
         WHERE ${ROLLUP_WHERE}
       )
       WHERE ${LOCAL_DAYS}
       GROUP BY weekday, minute_of_day`,
      params,
    ),
    warehouse.query<{ weekday: number; minute_of_day: number; seconds: string }>(
      `SELECT ${weekday} AS weekday, ${slot} AS minute_of_day, count() * {grain:UInt32} AS seconds
       FROM (
         SELECT toTimeZone(toDateTime({start:UInt32}, 'UTC') + number * {grain:UInt32}, {tz:String}) AS t
         FROM numbers({buckets:UInt32})
       )
       WHERE ${LOCAL_DAYS}
       GROUP BY weekday, minute_of_day`,
      params,
    ),
  ]);
  const key = (w: unknown, m: unknown) => num(w) * 10_000 + num(m);
  const slots = new Map<number, LocalSlot>();
  for (const c of coverage) {
    slots.set(key(c.weekday, c.minute_of_day), {
      weekday: num(c.weekday),
      minute_of_day: num(c.minute_of_day),
      bytes: 0,
      packets: 0,
      flows: 0,
      seconds: num(c.seconds),
    });
  }
  for (const t of traffic) {
    const s = slots.get(key(t.weekday, t.minute_of_day));
    // Every bucket of the data lies in the covered range, so its slot is there.
    if (!s) continue;
    s.bytes = num(t.bytes);
    s.packets = num(t.packets);
    s.flows = num(t.flows);
  }
  return [...slots.values()].sort((a, b) => a.weekday - b.weekday || a.minute_of_day - b.minute_of_day);
}

const LocalParams = { ...RangeParams, ...FilterParams, ...TimeZoneParam, ...DaysParam, ...RollupParam };

const localColumns: QueryColumn[] = [
  { name: 'bps', type: 'number', unit: 'bps' },
  { name: 'pps', type: 'number', unit: 'pps' },
  { name: 'bytes', type: 'number', unit: 'bytes' },
  { name: 'flows', type: 'number' },
  { name: 'observed_seconds', type: 'number', unit: 's' },
];

function localValues(s: LocalSlot) {
  return {
    bps: s.seconds > 0 ? (s.bytes * 8) / s.seconds : 0,
    pps: s.seconds > 0 ? s.packets / s.seconds : 0,
    bytes: s.bytes,
    flows: s.flows,
    observed_seconds: s.seconds,
  };
}

export const trafficByTimeOfDay = defineQuery({
  domain: 'flows',
  name: 'traffic-by-time-of-day',
  summary: 'Average traffic per local time-of-day slot over the range — Fig. 11',
  description:
    'For each slot of the local day (5, 15, 30 or 60 minutes, in `timezone`), the average bps over the ' +
    'time the range spent in that slot. `days` keeps weekdays or weekends only (Fig. 11 is a weekday).',
  params: Type.Object({
    ...LocalParams,
    slot_minutes: Type.Union([Type.Literal(5), Type.Literal(15), Type.Literal(30), Type.Literal(60)], {
      default: 60,
      description: 'Slot length in minutes',
    }),
  }),
  validate: (p) => {
    validateRange(p);
    validateFilters(p);
    validateTimeZone(p);
  },
  async run(p, { warehouse }) {
    const slots = await localSlots(warehouse, p, p.slot_minutes, false);
    return {
      columns: [{ name: 'minute_of_day', type: 'number' }, { name: 'slot', type: 'string' }, ...localColumns],
      rows: slots.map((s) => ({
        minute_of_day: s.minute_of_day,
        slot: clock(s.minute_of_day),
        ...localValues(s),
      })),
    };
  },
});

export const trafficByWeekday = defineQuery({
  domain: 'flows',
  name: 'traffic-by-weekday',
  summary: 'Average traffic per local weekday and time slot over the range — Fig. 12',
  description:
    'For each local weekday (1 = Monday … 7 = Sunday, in `timezone`) and slot of the day, the average bps ' +
    'over the time the range spent there: a week-long profile. slot_minutes=1440 gives one row per weekday.',
  params: Type.Object({
    ...LocalParams,
    slot_minutes: Type.Union(
      [Type.Literal(15), Type.Literal(30), Type.Literal(60), Type.Literal(180), Type.Literal(1440)],
      { default: 60, description: 'Slot length in minutes' },
    ),
  }),
  validate: (p) => {
    validateRange(p);
    validateFilters(p);
    validateTimeZone(p);
  },
  async run(p, { warehouse }) {
    const slots = await localSlots(warehouse, p, p.slot_minutes, true);
    return {
      columns: [
        { name: 'weekday', type: 'number' },
        { name: 'weekday_name', type: 'string' },
        { name: 'minute_of_week', type: 'number' },
        { name: 'slot', type: 'string' },
        ...localColumns,
      ],
      rows: slots.map((s) => {
        const name = WEEKDAYS[s.weekday - 1] ?? '?';
        return {
          weekday: s.weekday,
          weekday_name: name,
          minute_of_week: (s.weekday - 1) * 1440 + s.minute_of_day,
          slot: `${name} ${clock(s.minute_of_day)}`,
          ...localValues(s),
        };
      }),
    };
  },
});

// ---------------------------------------------------------------------------------------------
// Fig. 13: daily transfer volume

export const dailyVolume = defineQuery({
  domain: 'flows',
  name: 'daily-volume',
  summary: 'Bytes transferred per local day — Fig. 13',
  description:
    'One row per local day (in `timezone`) of the range: its start as time, the date, the weekday ' +
    '(1 = Monday) and the bytes, packets and flows. Days at the range edges are partial.',
  params: Type.Object({ ...RangeParams, ...FilterParams, ...TimeZoneParam, ...RollupParam }),
  validate: (p) => {
    validateRange(p);
    validateFilters(p);
    validateTimeZone(p);
  },
  async run(p, { warehouse }) {
    const zone = await timeZoneOf(warehouse, p);
    const choice = chooseRollup({ ...p, bucketSeconds: 86_400, timezone: zone, requested: p.rollup });
    const source = rollupSource(choice, p);
    const rows = await warehouse.query<{
      day_start: string;
      date: string;
      weekday: number;
      bytes: string;
      packets: string;
      flows: string;
    }>(
      `SELECT toUnixTimestamp(toStartOfDay(t)) * 1000 AS day_start, toString(toDate(t)) AS date,
              toDayOfWeek(t) AS weekday, sum(bytes) AS bytes, sum(packets) AS packets, sum(flows) AS flows
       FROM (
         SELECT toTimeZone(time, {tz:String}) AS t, bytes, packets, flows
         FROM ${source.table}
         WHERE ${ROLLUP_WHERE}
       )
       GROUP BY day_start, date, weekday ORDER BY day_start`,
      { ...source.params, tz: zone },
    );
    return {
      columns: [
        { name: 'time', type: 'time' },
        { name: 'date', type: 'string' },
        { name: 'weekday', type: 'number' },
        { name: 'bytes', type: 'number', unit: 'bytes' },
        { name: 'packets', type: 'number' },
        { name: 'flows', type: 'number' },
      ],
      rows: rows.map((r) => ({
        time: num(r.day_start),
        date: r.date,
        weekday: num(r.weekday),
        bytes: num(r.bytes),
        packets: num(r.packets),
        flows: num(r.flows),
      })),
    };
  },
});

// ---------------------------------------------------------------------------------------------
// Top talkers: exporters and interfaces (rollups), addresses (raw flows)

export const topInterfaces = defineQuery({
  domain: 'flows',
  name: 'top-interfaces',
  summary: 'Top exporter interfaces by bytes over the range',
  description:
    'The `limit` (exporter, interface, direction) with the most bytes: each flow counts on its input ' +
    'interface (direction "in") and its output interface ("out"); interface 0 is unknown. The share is of ' +
    'all traffic matching the filters (counted once per flow).',
  params: Type.Object({
    ...RangeParams,
    exporter: FilterParams.exporter,
    ip_version: FilterParams.ip_version,
    direction: Type.Optional(Type.Union([Type.Literal('in'), Type.Literal('out')])),
    ...LimitParam,
    ...RollupParam,
  }),
  validate: (p) => {
    validateRange(p);
    validateFilters(p);
  },
  async run(p, { warehouse }) {
    const source = rollupSource(chooseRollup({ ...p, bucketSeconds: 3600, requested: p.rollup }), p);
    const params = { ...source.params, direction: p.direction ?? '', limit: p.limit };
    const [rows, totals] = await Promise.all([
      warehouse.query<{
        exporter: string;
        interface: number;
        direction: string;
        bytes: string;
        packets: string;
        flows: string;
      }>(
        `SELECT exporter, side.1 AS interface, side.2 AS direction,
                sum(bytes) AS bytes, sum(packets) AS packets, sum(flows) AS flows
         FROM ${source.table}
         ARRAY JOIN [(in_interface, 'in'), (out_interface, 'out')] AS side
         WHERE ${ROLLUP_WHERE} AND ({direction:String} = '' OR side.2 = {direction:String})
         GROUP BY exporter, interface, direction
         ORDER BY bytes DESC, exporter ASC, interface ASC, direction ASC LIMIT {limit:UInt16}`,
        params,
      ),
      warehouse.query<{ bytes: string }>(
        `SELECT sum(bytes) AS bytes FROM ${source.table} WHERE ${ROLLUP_WHERE}`,
        params,
      ),
    ]);
    const total = num(totals[0]?.bytes);
    return {
      columns: [
        { name: 'exporter', type: 'string' },
        { name: 'interface', type: 'number' },
        { name: 'direction', type: 'string' },
        { name: 'bytes', type: 'number', unit: 'bytes' },
        { name: 'bps', type: 'number', unit: 'bps' },
        { name: 'packets', type: 'number' },
        { name: 'flows', type: 'number' },
        { name: 'share', type: 'number', unit: 'percentunit' },
      ],
      rows: rows.map((r) => ({
        exporter: r.exporter,
        interface: num(r.interface),
        direction: r.direction,
        bytes: num(r.bytes),
        bps: (num(r.bytes) * 8) / source.seconds,
        packets: num(r.packets),
        flows: num(r.flows),
        share: share(num(r.bytes), total),
      })),
    };
  },
});

const RAW_WHERE = `time_received >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
  AND time_received < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
  AND ({exporter:String} = '' OR exporter = {exporter:String})
  AND ({ip_version:UInt8} = 0 OR ip_version = {ip_version:UInt8})
  AND ({interface:UInt32} = 0 OR in_interface = {interface:UInt32} OR out_interface = {interface:UInt32})`;

function rawParams(p: Range & Filters) {
  return {
    from: p.from,
    to: p.to,
    exporter: canonicalAddress('exporter', p.exporter),
    ip_version: p.ip_version ?? 0,
    interface: p.interface ?? 0,
  };
}

export const topTalkers = defineQuery({
  domain: 'flows',
  name: 'top-talkers',
  summary: 'Top source or destination addresses by bytes (raw flows, last days)',
  description:
    'The `limit` addresses with the most bytes as source (by=src) or destination (by=dst), optionally on ' +
    'one exporter and interface. Read from raw flows, which are kept a few days only.',
  params: Type.Object({
    ...RangeParams,
    ...FilterParams,
    by: Type.Union([Type.Literal('src'), Type.Literal('dst')], { default: 'src' }),
    ...LimitParam,
  }),
  validate: (p) => {
    validateRange(p);
    validateFilters(p);
  },
  async run(p, { warehouse }) {
    const rows = await warehouse.query<{
      address: string;
      address_bytes: string;
      address_packets: string;
      flows: string;
      total: string;
    }>(
      `SELECT if({by:String} = 'dst', dst_address, src_address) AS address,
              sum(bytes) AS address_bytes, sum(packets) AS address_packets, count() AS flows,
              sum(sum(bytes)) OVER () AS total
       FROM ${FLOWS_RAW_TABLE}
       WHERE ${RAW_WHERE}
       GROUP BY address ORDER BY address_bytes DESC, address ASC LIMIT {limit:UInt16}`,
      { ...rawParams(p), by: p.by, limit: p.limit },
    );
    const seconds = (p.to - p.from) / 1000;
    return {
      columns: [
        { name: 'address', type: 'string' },
        { name: 'bytes', type: 'number', unit: 'bytes' },
        { name: 'bps', type: 'number', unit: 'bps' },
        { name: 'packets', type: 'number' },
        { name: 'flows', type: 'number' },
        { name: 'share', type: 'number', unit: 'percentunit' },
      ],
      rows: rows.map((r) => ({
        address: r.address,
        bytes: num(r.address_bytes),
        bps: (num(r.address_bytes) * 8) / seconds,
        packets: num(r.address_packets),
        flows: num(r.flows),
        share: share(num(r.address_bytes), num(r.total)),
      })),
    };
  },
});

export const rawFlows = defineQuery({
  domain: 'flows',
  name: 'raw-flows',
  summary: 'The latest raw flows matching filters (drill-down, last days)',
  description:
    'Up to `limit` flow records, newest first, optionally for one address (source or destination), port ' +
    '(source or destination) or protocol, on one exporter and interface.',
  params: Type.Object({
    ...RangeParams,
    ...FilterParams,
    address: Type.Optional(Type.String({ maxLength: 45, pattern: '^[0-9A-Fa-f:.]*$' })),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65_535 })),
    protocol: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  }),
  validate: (p) => {
    validateRange(p);
    validateFilters(p);
    canonicalAddress('address', p.address);
  },
  async run(p, { warehouse }) {
    const rows = await warehouse.query<Record<string, string | number>>(
      `SELECT toUnixTimestamp64Milli(time_received) AS received, exporter, in_interface, out_interface,
              ip_version, protocol, src_address, src_port, dst_address, dst_port, application,
              src_as, dst_as, bytes, packets, sampling_rate
       FROM ${FLOWS_RAW_TABLE}
       WHERE ${RAW_WHERE}
         AND ({address:String} = '' OR src_address = {address:String} OR dst_address = {address:String})
         AND ({port:Int32} < 0 OR src_port = {port:Int32} OR dst_port = {port:Int32})
         AND ({protocol:Int16} < 0 OR protocol = {protocol:Int16})
       ORDER BY time_received DESC, exporter, src_address, src_port, dst_address, dst_port
       LIMIT {limit:UInt16}`,
      {
        ...rawParams(p),
        address: canonicalAddress('address', p.address),
        port: p.port ?? -1,
        protocol: p.protocol ?? -1,
        limit: p.limit,
      },
    );
    const text = ['exporter', 'src_address', 'dst_address', 'application'];
    const columns: QueryColumn[] = [
      { name: 'time', type: 'time' },
      ...['exporter', 'in_interface', 'out_interface', 'ip_version', 'protocol', 'src_address', 'src_port']
        .concat(['dst_address', 'dst_port', 'application', 'src_as', 'dst_as', 'bytes', 'packets'])
        .concat(['sampling_rate'])
        .map((name): QueryColumn => ({ name, type: text.includes(name) ? 'string' : 'number' })),
    ];
    return {
      columns,
      rows: rows.map((r) => {
        const row: QueryResult['rows'][number] = { time: num(r.received) };
        for (const c of columns.slice(1))
          row[c.name] = c.type === 'string' ? String(r[c.name]) : num(r[c.name]);
        return row;
      }),
    };
  },
});

// ---------------------------------------------------------------------------------------------
// Totals

/** Totals over a range: what an operator checks first, and what the end-to-end tests count. */
export const trafficTotals = defineQuery({
  domain: 'flows',
  name: 'totals',
  summary: 'Total flows, bytes and packets in a range',
  description: 'Sums of the rollups over the range, optionally for one exporter, IP version or interface.',
  params: Type.Object({ ...RangeParams, ...FilterParams, ...RollupParam }),
  validate: (p) => {
    validateRange(p);
    validateFilters(p);
  },
  async run(p, { warehouse }) {
    const source = rollupSource(chooseRollup({ ...p, bucketSeconds: 3600, requested: p.rollup }), p);
    const [row] = await warehouse.query<{ flows: string; bytes: string; packets: string }>(
      `SELECT sum(flows) AS flows, sum(bytes) AS bytes, sum(packets) AS packets
       FROM ${source.table}
       WHERE ${ROLLUP_WHERE}`,
      source.params,
    );
    return {
      columns: [
        { name: 'flows', type: 'number' },
        { name: 'bytes', type: 'number', unit: 'bytes' },
        { name: 'packets', type: 'number' },
      ],
      rows: [{ flows: num(row?.flows), bytes: num(row?.bytes), packets: num(row?.packets) }],
    };
  },
});

export const flowsQueries = [
  trafficByIpVersion,
  ipv6Share,
  topSourceAs,
  topSourceAsSeries,
  protocolPortMix,
  trafficByTimeOfDay,
  trafficByWeekday,
  dailyVolume,
  topInterfaces,
  topTalkers,
  rawFlows,
  trafficTotals,
];
