/**
 * The BGP dashboard: the report's Table 1 (routes by prefix length, IPv4 and IPv6) from the live RIB, the table's
 * size over time (Fig. 2), update and withdrawal rates, the peers and their events, and the origin ASes with the
 * most prefixes — over the queries of queries.ts.
 */
import {
  barChart,
  type DomainDashboard,
  type PanelSpec,
  row,
  stat,
  stepVariable,
  table,
  timeseries,
} from '../../grafana-dashboards/src/builder.ts';
import {
  peers,
  peerTimeline,
  routesByPrefixLength,
  routesByPrefixLengthOverTime,
  topOrigins,
  updateRates,
} from './queries.ts';

const prefixLengths = (family: 4 | 6, width: number): PanelSpec =>
  barChart({
    title: `IPv${family} routes by prefix length (Table 1)`,
    description:
      `Routes per prefix length in the latest RIB snapshot, distinct prefixes over every peer (the report's ` +
      `Table 1${family === 4 ? ': /24 is over half of IPv4' : ': /48 and /32 lead IPv6'}). A jump at one length ` +
      'is de-aggregation or a leak; a fall everywhere is a lost session.',
    xField: 'prefix_length',
    unit: 'short',
    width,
    source: {
      query: routesByPrefixLength,
      params: { family },
      columns: [
        { name: 'prefix_length', type: 'number', displayName: 'prefix length' },
        { name: 'routes', type: 'number' },
      ],
    },
  });

const tableSize = (family: 4 | 6): PanelSpec =>
  timeseries({
    title: `IPv${family} table size (Fig. 2)`,
    description:
      'Routes in the whole RIB (distinct prefixes over every peer) per step, from the per-minute and hourly ' +
      'snapshots: the slow growth of the report’s Fig. 2, and any sudden drop when peers go away.',
    unit: 'short',
    width: 12,
    source: {
      query: routesByPrefixLengthOverTime,
      params: { family },
      // Each row repeats its step's total; the line is the total per step.
      columns: [
        { name: 'time', type: 'time' },
        { name: 'total', type: 'number', displayName: 'routes' },
      ],
    },
  });

const routesNow = (family: 4 | 6): PanelSpec =>
  stat({
    title: `IPv${family} routes`,
    description: `Distinct IPv${family} prefixes in the RIB now, over every peer (Table 1 total).`,
    unit: 'short',
    width: 6,
    reducer: 'sum',
    source: {
      query: routesByPrefixLength,
      params: { family },
      columns: [{ name: 'routes', type: 'number' }],
    },
  });

const updates: PanelSpec = timeseries({
  title: 'Announcements and withdrawals per second',
  description:
    'Updates received from every peer, per second. Withdrawal bursts are route flaps or a session loss; a ' +
    'steady rise of announcements with no table growth is churn.',
  unit: 'ops',
  width: 12,
  source: {
    query: updateRates,
    columns: [
      { name: 'time', type: 'time' },
      { name: 'announcements', type: 'number' },
      { name: 'withdrawals', type: 'number' },
    ],
  },
});

const peerTable: PanelSpec = table({
  title: 'Peers',
  description: 'Every monitored peer: state, AS, routes per family and when its state last changed.',
  width: 24,
  sortBy: 'routes_ipv4',
  source: {
    query: peers,
    columns: [
      { name: 'router', type: 'string' },
      { name: 'peer', type: 'string' },
      { name: 'peer_asn', type: 'number', displayName: 'peer AS' },
      { name: 'state', type: 'string' },
      { name: 'routes_ipv4', type: 'number', displayName: 'IPv4 routes' },
      { name: 'routes_ipv6', type: 'number', displayName: 'IPv6 routes' },
      { name: 'last_change', type: 'time', displayName: 'last change' },
    ],
  },
});

const events: PanelSpec = table({
  title: 'Peer events',
  description: 'Peer up and down events in the range, newest first, with the routes a down dropped.',
  width: 12,
  source: {
    query: peerTimeline,
    params: { limit: 200 },
    columns: [
      { name: 'time', type: 'time' },
      { name: 'router', type: 'string' },
      { name: 'peer', type: 'string' },
      { name: 'event', type: 'string' },
      { name: 'routes_dropped', type: 'number', displayName: 'routes dropped' },
    ],
  },
});

const origins = (family: 4 | 6): PanelSpec =>
  table({
    title: `Top IPv${family} origin ASes`,
    description: `Origin ASes with the most IPv${family} prefixes in the RIB (what IP → AS answers for flows).`,
    width: 6,
    sortBy: 'prefixes',
    source: {
      query: topOrigins,
      params: { family, limit: 20 },
      columns: [
        { name: 'origin_as', type: 'number', displayName: 'origin AS' },
        { name: 'prefixes', type: 'number' },
      ],
    },
  });

export const bgpDashboard: DomainDashboard = {
  uid: 'kansoku-bgp',
  title: 'Kansoku · BGP',
  description:
    'The live RIB: routes by prefix length (Table 1), table size (Fig. 2), update rates and peers.',
  tags: ['bgp'],
  variables: [stepVariable()],
  rows: [
    row('Routing table (Table 1, Fig. 2)', [
      routesNow(4),
      routesNow(6),
      prefixLengths(4, 12),
      prefixLengths(6, 12),
      tableSize(4),
      tableSize(6),
    ]),
    row('Activity', [updates, events]),
    row('Peers and origins', [peerTable, origins(4), origins(6)]),
  ],
  // Half-width panels: the overview lays each domain's panels out in one 24-column row.
  overview: [prefixLengths(4, 12), updates],
};
