/**
 * The BGP queries (domain `bgp`): routes by prefix length (the report's Table 1 at a time, and its shares over
 * time for Fig. 1 / counts for Fig. 2), update rates, the peer timeline, peers with their state and route counts,
 * the origin AS of a prefix or an address, and the top origin ASes. Every value from a request is a bound
 * parameter; the only SQL text chosen in code is which of two snapshot tables to read.
 *
 * Peer filter: `peer` is the neighbour address (and `router` the monitored router). Without it, rows of the whole
 * RIB are read (distinct prefixes over every peer, stored as peer ''), which is what Table 1 counts.
 */

import { formatIpAddress, parseIpAddress } from '@kansoku/contracts/ip-address';
import {
  defineQuery,
  MAX_RANGE_MS,
  QueryParameterError,
  type QueryResult,
  TimeRangeParams,
  validateTimeRange,
} from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import {
  PEER_EVENTS_TABLE,
  PEER_STATE_TABLE,
  PREFIX_LENGTHS_1H_TABLE,
  PREFIX_LENGTHS_1M_TABLE,
  PREFIX_ORIGINS_TABLE,
  UPDATE_RATES_TABLE,
} from './tables.ts';

const HOUR_MS = 3_600_000;

const FamilyParam = {
  family: Type.Union([Type.Literal(4), Type.Literal(6)], {
    default: 4,
    description: 'Address family: 4 or 6',
  }),
};

const AddressPattern = '^[0-9A-Fa-f:.]*$';

const PeerParams = {
  router: Type.Optional(
    Type.String({ maxLength: 45, pattern: AddressPattern, description: 'Monitored router address' }),
  ),
  peer: Type.Optional(
    Type.String({
      maxLength: 45,
      pattern: AddressPattern,
      description: 'Neighbour address; the whole RIB when absent',
    }),
  ),
};

function canonical(parameter: string, text: string | undefined): string {
  if (text === undefined || text === '') return '';
  try {
    return formatIpAddress(parseIpAddress(text));
  } catch {
    throw new QueryParameterError(parameter, 'is not an IPv4 or IPv6 address');
  }
}

function validatePeer(p: { router?: string; peer?: string }): void {
  canonical('router', p.router);
  canonical('peer', p.peer);
}

const afiOf = (family: 4 | 6) => (family === 4 ? 1 : 2);

/** Peer filter: a given peer (any router unless given), else the whole-RIB rows. */
function peerFilter(p: { router?: string; peer?: string }): { sql: string; params: Record<string, string> } {
  const peer = canonical('peer', p.peer);
  const router = canonical('router', p.router);
  if (peer === '') return { sql: "peer = '' AND router = ''", params: {} };
  return {
    sql: router === '' ? 'peer = {peer:String}' : 'peer = {peer:String} AND router = {router:String}',
    params: router === '' ? { peer } : { peer, router },
  };
}

export const routesByPrefixLength = defineQuery({
  domain: 'bgp',
  name: 'routes-by-prefix-length',
  summary: 'Routes by prefix length at a time (Table 1)',
  description:
    'Routes per prefix length of the last snapshot at or before `at` (default now), with each length’s share of the table. Without `peer`, distinct prefixes over every peer; with it, that peer’s RIB (summed over its RIB types and routers unless `router` is given).',
  params: Type.Object({
    ...FamilyParam,
    ...PeerParams,
    // Bounded like the gateway bounds from/to: toDateTime() of a time past 2106 would be a ClickHouse error.
    at: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: Date.UTC(2100, 0, 1),
        description: 'ms since the epoch; default: now',
      }),
    ),
  }),
  validate: validatePeer,
  async run(p, { warehouse }): Promise<QueryResult> {
    const filter = peerFilter(p);
    const at = Math.floor((p.at ?? Date.now()) / 1000);
    const rows = await warehouse.query<{ prefix_length: number; routes: string }>(
      `WITH last AS (
         SELECT max(time) AS t FROM ${PREFIX_LENGTHS_1M_TABLE} FINAL
         WHERE afi = {afi:UInt8} AND ${filter.sql} AND time <= toDateTime({at:UInt32}, 'UTC')
       )
       SELECT prefix_length, sum(routes) AS routes
       FROM ${PREFIX_LENGTHS_1M_TABLE} FINAL
       WHERE afi = {afi:UInt8} AND ${filter.sql} AND time = (SELECT t FROM last)
       GROUP BY prefix_length ORDER BY prefix_length`,
      { afi: afiOf(p.family), at, ...filter.params },
    );
    const total = rows.reduce((s, r) => s + Number(r.routes), 0);
    return {
      columns: [
        { name: 'prefix_length', type: 'number' },
        { name: 'routes', type: 'number' },
        { name: 'share', type: 'number', unit: 'percentunit' },
      ],
      rows: rows.map((r) => ({
        prefix_length: r.prefix_length,
        routes: Number(r.routes),
        share: total === 0 ? 0 : Number(r.routes) / total,
      })),
    };
  },
});

export const routesByPrefixLengthOverTime = defineQuery({
  domain: 'bgp',
  name: 'routes-by-prefix-length-over-time',
  summary: 'Routes per prefix length over time (Fig. 1 shares, Fig. 2 totals)',
  description:
    'Per step, the last snapshot in the step: routes per prefix length, its share of the table and the table’s total. Hourly snapshots serve steps of whole hours (and ranges beyond the minute retention).',
  params: Type.Object({ ...TimeRangeParams, ...FamilyParam, ...PeerParams }),
  validate(p) {
    validateTimeRange(p);
    validatePeer(p);
  },
  async run(p, { warehouse }): Promise<QueryResult> {
    const filter = peerFilter(p);
    const table =
      p.step % 3600 === 0 || p.to - p.from > 35 * 24 * HOUR_MS
        ? PREFIX_LENGTHS_1H_TABLE
        : PREFIX_LENGTHS_1M_TABLE;
    const rows = await warehouse.query<{ t: string; prefix_length: number; routes: string; total: string }>(
      `WITH snapshots AS (
         SELECT time, prefix_length, sum(routes) AS routes
         FROM ${table} FINAL
         WHERE afi = {afi:UInt8} AND ${filter.sql}
           AND time >= toDateTime(intDiv({from:UInt64}, 1000), 'UTC') AND time < toDateTime(intDiv({to:UInt64}, 1000), 'UTC')
         GROUP BY time, prefix_length
       ),
       last_per_step AS (
         SELECT toStartOfInterval(time, toIntervalSecond({step:UInt32})) AS bucket, max(time) AS t
         FROM snapshots GROUP BY bucket
       )
       SELECT toUnixTimestamp(l.bucket) * 1000 AS t, s.prefix_length AS prefix_length, s.routes AS routes,
              sum(s.routes) OVER (PARTITION BY l.bucket) AS total
       FROM snapshots AS s INNER JOIN last_per_step AS l ON s.time = l.t
       ORDER BY t, prefix_length`,
      { afi: afiOf(p.family), from: p.from, to: p.to, step: p.step, ...filter.params },
    );
    return {
      columns: [
        { name: 'time', type: 'time' },
        { name: 'prefix_length', type: 'number' },
        { name: 'routes', type: 'number' },
        { name: 'share', type: 'number', unit: 'percentunit' },
        { name: 'total', type: 'number' },
      ],
      rows: rows.map((r) => ({
        time: Number(r.t),
        prefix_length: r.prefix_length,
        routes: Number(r.routes),
        share: Number(r.total) === 0 ? 0 : Number(r.routes) / Number(r.total),
        total: Number(r.total),
      })),
    };
  },
});

export const updateRates = defineQuery({
  domain: 'bgp',
  name: 'update-rates',
  summary: 'Announcements and withdrawals per second',
  description: 'Per step: announcements and withdrawals per second, for one peer or all, one family or both.',
  params: Type.Object({
    ...TimeRangeParams,
    ...PeerParams,
    family: Type.Optional(
      Type.Union([Type.Literal(4), Type.Literal(6)], { description: 'Both when absent' }),
    ),
  }),
  validate(p) {
    validateTimeRange(p);
    validatePeer(p);
  },
  async run(p, { warehouse }): Promise<QueryResult> {
    const peer = canonical('peer', p.peer);
    const router = canonical('router', p.router);
    const rows = await warehouse.query<{ t: string; announcements: string; withdrawals: string }>(
      `SELECT toUnixTimestamp(toStartOfInterval(time, toIntervalSecond({step:UInt32}))) * 1000 AS t,
              sum(announcements) AS announcements, sum(withdrawals) AS withdrawals
       FROM ${UPDATE_RATES_TABLE}
       WHERE time >= toDateTime(intDiv({from:UInt64}, 1000), 'UTC') AND time < toDateTime(intDiv({to:UInt64}, 1000), 'UTC')
         AND ({peer:String} = '' OR peer = {peer:String}) AND ({router:String} = '' OR router = {router:String})
         AND ({afi:UInt8} = 0 OR afi = {afi:UInt8})
       GROUP BY t ORDER BY t`,
      {
        from: p.from,
        to: p.to,
        step: p.step,
        peer,
        router,
        afi: p.family === undefined ? 0 : afiOf(p.family),
      },
    );
    return {
      columns: [
        { name: 'time', type: 'time' },
        { name: 'announcements', type: 'number', unit: 'ops' },
        { name: 'withdrawals', type: 'number', unit: 'ops' },
      ],
      rows: rows.map((r) => ({
        time: Number(r.t),
        announcements: Number(r.announcements) / p.step,
        withdrawals: Number(r.withdrawals) / p.step,
      })),
    };
  },
});

export const peerTimeline = defineQuery({
  domain: 'bgp',
  name: 'peer-timeline',
  summary: 'Peer up, down and statistics events',
  description: 'Events in the range, newest first (at most `limit`).',
  params: Type.Object({
    from: TimeRangeParams.from,
    to: TimeRangeParams.to,
    ...PeerParams,
    limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
  }),
  validate(p) {
    if (p.to <= p.from) throw new QueryParameterError('to', 'must be after from');
    if (p.to - p.from > MAX_RANGE_MS) throw new QueryParameterError('from', 'range is longer than 400 days');
    validatePeer(p);
  },
  async run(p, { warehouse }): Promise<QueryResult> {
    const peer = canonical('peer', p.peer);
    const router = canonical('router', p.router);
    const rows = await warehouse.query<Record<string, string | number>>(
      `SELECT toUnixTimestamp64Milli(time) AS t, router, peer, distinguisher, peer_asn, event, reason, routes_dropped, detail
       FROM ${PEER_EVENTS_TABLE} FINAL
       WHERE time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND time < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
         AND ({peer:String} = '' OR peer = {peer:String}) AND ({router:String} = '' OR router = {router:String})
       ORDER BY time DESC LIMIT {limit:UInt32}`,
      { from: p.from, to: p.to, peer, router, limit: p.limit },
    );
    return {
      columns: [
        { name: 'time', type: 'time' },
        { name: 'router', type: 'string' },
        { name: 'peer', type: 'string' },
        { name: 'peer_asn', type: 'number' },
        { name: 'event', type: 'string' },
        { name: 'reason', type: 'number' },
        { name: 'routes_dropped', type: 'number' },
        { name: 'detail', type: 'string' },
      ],
      rows: rows.map((r) => ({
        time: Number(r.t),
        router: String(r.router),
        peer: String(r.peer),
        peer_asn: Number(r.peer_asn),
        event: String(r.event),
        reason: Number(r.reason),
        routes_dropped: Number(r.routes_dropped),
        detail: String(r.detail),
      })),
    };
  },
});

export const peers = defineQuery({
  domain: 'bgp',
  name: 'peers',
  summary: 'Peers with their state and route counts',
  description: 'Each peer RIB at the last snapshot: session state, routes per family, last change.',
  params: Type.Object({}),
  async run(_p, { warehouse }): Promise<QueryResult> {
    const rows = await warehouse.query<Record<string, string | number>>(
      `SELECT router, peer, distinguisher, rib_type, peer_asn, state, routes_ipv4, routes_ipv6,
              toUnixTimestamp64Milli(last_change) AS last_change, toUnixTimestamp(time) * 1000 AS updated
       FROM ${PEER_STATE_TABLE} FINAL
       ORDER BY router, peer, rib_type`,
    );
    return {
      columns: [
        { name: 'router', type: 'string' },
        { name: 'peer', type: 'string' },
        { name: 'distinguisher', type: 'string' },
        { name: 'rib_type', type: 'number' },
        { name: 'peer_asn', type: 'number' },
        { name: 'state', type: 'string' },
        { name: 'routes_ipv4', type: 'number' },
        { name: 'routes_ipv6', type: 'number' },
        { name: 'last_change', type: 'time' },
        { name: 'updated', type: 'time' },
      ],
      rows: rows.map((r) => ({
        router: String(r.router),
        peer: String(r.peer),
        distinguisher: String(r.distinguisher),
        rib_type: Number(r.rib_type),
        peer_asn: Number(r.peer_asn),
        state: String(r.state),
        routes_ipv4: Number(r.routes_ipv4),
        routes_ipv6: Number(r.routes_ipv6),
        last_change: Number(r.last_change),
        updated: Number(r.updated),
      })),
    };
  },
});

export const prefixOrigin = defineQuery({
  domain: 'bgp',
  name: 'prefix-origin',
  summary: 'Origin AS of a prefix, or of the longest prefix covering an address',
  description: 'Give `prefix` (192.0.2.0/24) for an exact prefix or `ip` for the longest match.',
  params: Type.Object({
    prefix: Type.Optional(Type.String({ maxLength: 49, pattern: '^[0-9A-Fa-f:.]+/[0-9]{1,3}$' })),
    ip: Type.Optional(Type.String({ maxLength: 45, pattern: '^[0-9A-Fa-f:.]+$' })),
  }),
  validate(p) {
    if ((p.prefix === undefined) === (p.ip === undefined))
      throw new QueryParameterError('prefix', 'give exactly one of prefix and ip');
    if (p.ip !== undefined) canonical('ip', p.ip);
    if (p.prefix !== undefined) {
      const [address = '', length = ''] = p.prefix.split('/');
      const bytes = parseIpAddress(canonical('prefix', address));
      if (Number(length) > bytes.length * 8) throw new QueryParameterError('prefix', 'length is too long');
    }
  },
  async run(p, { warehouse }): Promise<QueryResult> {
    let rows: Record<string, string | number>[];
    if (p.prefix !== undefined) {
      const [address = '', length = ''] = p.prefix.split('/');
      const bytes = parseIpAddress(address);
      rows = await warehouse.query(
        `SELECT prefix, prefix_length, origin_as, toUnixTimestamp64Milli(updated) AS updated
         FROM ${PREFIX_ORIGINS_TABLE} FINAL
         WHERE afi = {afi:UInt8} AND prefix = {prefix:String} AND prefix_length = {length:UInt8} AND present = 1`,
        { afi: bytes.length === 4 ? 1 : 2, prefix: formatIpAddress(bytes), length: Number(length) },
      );
    } else {
      const bytes = parseIpAddress(p.ip ?? '');
      rows = await warehouse.query(
        `SELECT prefix, prefix_length, origin_as, toUnixTimestamp64Milli(updated) AS updated
         FROM ${PREFIX_ORIGINS_TABLE} FINAL
         WHERE afi = {afi:UInt8} AND present = 1
           AND isIPAddressInRange({ip:String}, concat(prefix, '/', toString(prefix_length)))
         ORDER BY prefix_length DESC LIMIT 1`,
        { afi: bytes.length === 4 ? 1 : 2, ip: formatIpAddress(bytes) },
      );
    }
    return {
      columns: [
        { name: 'prefix', type: 'string' },
        { name: 'origin_as', type: 'number' },
        { name: 'updated', type: 'time' },
      ],
      rows: rows.map((r) => ({
        prefix: `${String(r.prefix)}/${String(r.prefix_length)}`,
        origin_as: Number(r.origin_as),
        updated: Number(r.updated),
      })),
    };
  },
});

export const topOrigins = defineQuery({
  domain: 'bgp',
  name: 'top-origins',
  summary: 'Origin ASes with the most prefixes',
  description: 'Prefixes in the RIB per origin AS (the origin the IP → AS lookup answers), most first.',
  params: Type.Object({
    ...FamilyParam,
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  }),
  async run(p, { warehouse }): Promise<QueryResult> {
    const rows = await warehouse.query<{ origin_as: number; prefixes: string }>(
      `SELECT origin_as, count() AS prefixes
       FROM ${PREFIX_ORIGINS_TABLE} FINAL
       WHERE afi = {afi:UInt8} AND present = 1 AND origin_as != 0
       GROUP BY origin_as ORDER BY prefixes DESC, origin_as LIMIT {limit:UInt32}`,
      { afi: afiOf(p.family), limit: p.limit },
    );
    return {
      columns: [
        { name: 'origin_as', type: 'number' },
        { name: 'prefixes', type: 'number' },
      ],
      rows: rows.map((r) => ({ origin_as: Number(r.origin_as), prefixes: Number(r.prefixes) })),
    };
  },
});

export const bgpQueries = [
  routesByPrefixLength,
  routesByPrefixLengthOverTime,
  updateRates,
  peerTimeline,
  peers,
  prefixOrigin,
  topOrigins,
];
