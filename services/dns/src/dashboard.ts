/**
 * The DNS dashboard: the report's resolver figures (queries per second per source by time of day, query types
 * by transport, sources asking A and AAAA) and the NOC's resolver views (query rate, rcodes, latency, top
 * names, zones and clients), over the queries of queries.ts.
 */
import {
  barChart,
  type DomainDashboard,
  ipVersionVariable,
  type PanelSpec,
  pie,
  row,
  stat,
  stepVariable,
  table,
  timeseries,
  timeZoneVariable,
} from '../../grafana-dashboards/src/builder.ts';
import {
  latency,
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
} from './queries.ts';

const ratePanel = (width: number): PanelSpec =>
  timeseries({
    title: 'Queries per second by transport',
    description:
      'Queries per second reaching the resolvers over IPv4 and IPv6 (and UDP/TCP/DoT/DoH), stacked. A sudden ' +
      'rise with no change in sources is one client or an attack; a fall is a resolver or a feed gone quiet.',
    unit: 'reqps',
    stack: 'normal',
    width,
    source: {
      query: queryRate,
      unbound: ['ip_version'],
      columns: [
        { name: 'time', type: 'time' },
        { name: 'transport', type: 'string' },
        { name: 'qps', type: 'number' },
      ],
    },
  });

const sourcesNow: PanelSpec = stat({
  title: 'Sources asking A / AAAA',
  description:
    'Share of query sources (client addresses) that asked at least one A and at least one AAAA over the ' +
    'range, per transport. The report: A ≈ 96% on both; AAAA ≈ 57% (IPv4), 80% (IPv6).',
  width: 8,
  unit: 'percentunit',
  decimals: 1,
  source: {
    query: sourcesAsking,
    unbound: ['ip_version'],
    columns: [
      { name: 'a_share', type: 'number', displayName: 'asking A' },
      { name: 'aaaa_share', type: 'number', displayName: 'asking AAAA' },
    ],
  },
});

const perSource: PanelSpec = timeseries({
  title: 'Queries per second per source',
  description:
    'Average queries per second per active source (queries ÷ sources ÷ step) and the median and 99th ' +
    'percentile over sources. The report: ≈ 0.08/s on average, 0.04 at 04:00, 0.13 at 21:00.',
  unit: 'reqps',
  decimals: 3,
  source: {
    query: perSourceRate,
    columns: [
      { name: 'time', type: 'time' },
      { name: 'transport', type: 'string' },
      { name: 'avg_qps_per_source', type: 'number', displayName: 'average' },
      { name: 'p50_qps_per_source', type: 'number', displayName: 'median' },
    ],
  },
});

const byHour: PanelSpec = barChart({
  title: 'Queries per second per source by hour of day',
  description:
    'For each local hour, the average over the range’s days of queries per source per second (the report’s ' +
    'daily curve). Use a range of a week or more; IPv6 usually varies a little more through the day.',
  unit: 'reqps',
  xField: 'hour',
  timeFrom: '7d',
  source: {
    query: perSourceRateByHour,
    params: { ip_version: 4 },
    unbound: ['ip_version'],
    columns: [
      { name: 'hour', type: 'number' },
      { name: 'avg_qps_per_source', type: 'number', displayName: 'IPv4 q/s per source' },
    ],
  },
});

function typesPie(version: 4 | 6, figure: string): PanelSpec {
  return pie({
    title: `Query types over IPv${version} (${figure})`,
    description: `Share of queries per type over IPv${version}. The report: ${
      version === 4 ? 'A 64%, AAAA 33%, other 3%' : 'A 56%, AAAA 43%, other 1%'
    }. HTTPS (type 65) grows as browsers ask for it.`,
    width: 6,
    unit: 'percentunit',
    labelField: 'type',
    valueField: 'share',
    donut: true,
    source: {
      query: queryTypes,
      params: { ip_version: version, limit: 5 },
      unbound: ['ip_version'],
      columns: [
        { name: 'type', type: 'string' },
        { name: 'share', type: 'number' },
      ],
    },
  });
}

const typesSeries: PanelSpec = timeseries({
  title: 'Query types over time',
  description:
    'Queries per second for A, AAAA, HTTPS, PTR and the rest, stacked, for the selected transport.',
  unit: 'reqps',
  stack: 'normal',
  width: 12,
  source: {
    query: queryTypesSeries,
    columns: [
      { name: 'time', type: 'time' },
      { name: 'type', type: 'string' },
      { name: 'qps', type: 'number' },
    ],
  },
});

const rcodePanel: PanelSpec = timeseries({
  title: 'Responses by rcode',
  description:
    'Queries per second by response code. NXDOMAIN rising under one zone is a random-subdomain attack or a ' +
    'broken client; SERVFAIL rising is an unreachable or DNSSEC-broken authority.',
  unit: 'reqps',
  stack: 'normal',
  source: {
    query: rcodes,
    columns: [
      { name: 'time', type: 'time' },
      { name: 'rcode', type: 'string' },
      { name: 'qps', type: 'number' },
    ],
  },
});

const latencyPanel: PanelSpec = timeseries({
  title: 'Response time',
  description: 'Median, 90th and 99th percentile of the time from query to response at the resolver.',
  unit: 's',
  source: {
    query: latency,
    columns: [
      { name: 'time', type: 'time' },
      { name: 'p50_s', type: 'number', displayName: 'median' },
      { name: 'p90_s', type: 'number', displayName: 'p90' },
      { name: 'p99_s', type: 'number', displayName: 'p99' },
    ],
  },
});

const zones: PanelSpec = table({
  title: 'Top zones',
  description: 'Registered domains with the most queries, with their NXDOMAIN and SERVFAIL answers.',
  width: 8,
  sortBy: 'queries',
  source: {
    query: topZones,
    params: { limit: 20 },
    columns: [
      { name: 'zone', type: 'string' },
      { name: 'queries', type: 'number', unit: 'short' },
      { name: 'nxdomain', type: 'number', unit: 'short' },
      { name: 'servfail', type: 'number', unit: 'short' },
      { name: 'share', type: 'number', unit: 'percentunit' },
    ],
  },
});

const nxZones: PanelSpec = table({
  title: 'Zones by NXDOMAIN',
  description:
    'Registered domains with the most NXDOMAIN answers: a random-subdomain flood shows here as one zone ' +
    'with NXDOMAIN close to its query count.',
  width: 8,
  sortBy: 'nxdomain',
  source: {
    query: topZones,
    params: { limit: 20, by: 'nxdomain' },
    columns: [
      { name: 'zone', type: 'string' },
      { name: 'nxdomain', type: 'number', unit: 'short' },
      { name: 'queries', type: 'number', unit: 'short' },
    ],
  },
});

const clients: PanelSpec = table({
  title: 'Top clients',
  description: 'Client addresses with the most queries, with their rate and NXDOMAIN/SERVFAIL answers.',
  width: 8,
  sortBy: 'queries',
  source: {
    query: topClients,
    params: { limit: 20 },
    columns: [
      { name: 'client', type: 'string' },
      { name: 'queries', type: 'number', unit: 'short' },
      { name: 'qps', type: 'number', unit: 'reqps' },
      { name: 'nxdomain', type: 'number', unit: 'short' },
    ],
  },
});

const names: PanelSpec = table({
  title: 'Top query names (recent)',
  description: 'The most asked names over the range (from raw queries, kept two days).',
  width: 12,
  sortBy: 'queries',
  timeFrom: '1h',
  source: {
    query: topNames,
    params: { limit: 20 },
    columns: [
      { name: 'qname', type: 'string' },
      { name: 'zone', type: 'string' },
      { name: 'queries', type: 'number', unit: 'short' },
      { name: 'nxdomain', type: 'number', unit: 'short' },
    ],
  },
});

const nxNames: PanelSpec = table({
  title: 'Top NXDOMAIN names (recent)',
  description: 'The names answered NXDOMAIN most often in the last hour.',
  width: 12,
  sortBy: 'queries',
  timeFrom: '1h',
  source: {
    query: topNames,
    params: { limit: 20, rcode: 3 },
    columns: [
      { name: 'qname', type: 'string' },
      { name: 'queries', type: 'number', unit: 'short' },
    ],
  },
});

export const dnsDashboard: DomainDashboard = {
  uid: 'kansoku-dns',
  title: 'Kansoku · DNS',
  description: 'Resolver traffic: the report’s per-source rates and query types, rcodes, latency and tops.',
  tags: ['dns'],
  variables: [stepVariable(), ipVersionVariable(), timeZoneVariable()],
  rows: [
    row('Traffic', [ratePanel(16), sourcesNow, perSource, byHour]),
    row('Query types (Fig. 3, 4)', [typesPie(4, 'Fig. 3'), typesPie(6, 'Fig. 4'), typesSeries]),
    row('Answers', [rcodePanel, latencyPanel]),
    row('Tops', [zones, nxZones, clients, names, nxNames]),
  ],
  // Two half-width panels: the overview lays each domain's panels out in one 24-column row.
  overview: [ratePanel(12), rcodePanel],
};
