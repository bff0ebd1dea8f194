/**
 * The flows dashboard: one panel per flows figure of the report (Fig. 6–13) and the NOC's
 * drill-downs (top interfaces, top talkers), over the flows queries of services/flows.
 */
import {
  dailyVolume,
  ipv6Share,
  protocolPortMix,
  topInterfaces,
  topSourceAs,
  topSourceAsSeries,
  topTalkers,
  trafficByIpVersion,
  trafficByTimeOfDay,
  trafficByWeekday,
  trafficTotals,
} from '@kansoku/flows';
import type { DomainDashboard } from '../dashboard.ts';
import { barChart, type PanelSpec, pie, row, stat, table, timeseries } from '../panels.ts';
import { exporterVariable, ipVersionVariable, stepVariable, timeZoneVariable } from '../variables.ts';

const FLOWS_UID = 'kansoku-flows';

const trafficBps: PanelSpec = timeseries({
  title: 'Traffic by IP version',
  description:
    'Bits per second of IPv4 and IPv6, stacked: the total is the traffic the selected exporters see. ' +
    'A step change in one version only points at a routing or peering change for that version (Fig. 6).',
  unit: 'bps',
  stack: 'normal',
  source: {
    query: trafficByIpVersion,
    // Compares the versions: the IP version filter does not apply.
    unbound: ['ip_version'],
    columns: [
      { name: 'time', type: 'time' },
      { name: 'ip_version', type: 'string' },
      { name: 'bps', type: 'number' },
    ],
  },
});

const ipv6SharePanel: PanelSpec = timeseries({
  title: 'IPv6 share of traffic',
  description:
    'IPv6 bytes as a share of IPv4 + IPv6 bytes per step (the report saw about 4 % at the core POPs). ' +
    'A sudden drop usually means IPv6 broke somewhere and users fell back to IPv4 (Fig. 6).',
  unit: 'percentunit',
  decimals: 1,
  source: {
    query: ipv6Share,
    columns: [
      { name: 'time', type: 'time' },
      { name: 'ipv6_share', type: 'number', displayName: 'IPv6 share' },
    ],
  },
});

const totalsPanel: PanelSpec = stat({
  title: 'Totals over the range',
  description:
    'Bytes, packets and flow records over the whole range, for the selected exporter and IP version: ' +
    'the figure to compare with interface counters (SNMP) when sampling looks off.',
  width: 6,
  source: {
    query: trafficTotals,
    columns: [
      { name: 'bytes', type: 'number', unit: 'decbytes' },
      { name: 'packets', type: 'number', unit: 'short' },
      { name: 'flows', type: 'number', unit: 'short' },
    ],
  },
});

const packetRate: PanelSpec = timeseries({
  title: 'Packet rate by IP version',
  description:
    'Packets per second of IPv4 and IPv6. Packets rising without bits rising means small packets: ' +
    'a SYN or UDP flood, or a scan, rather than users downloading more.',
  unit: 'pps',
  width: 18,
  stack: 'normal',
  source: {
    query: trafficByIpVersion,
    // Compares the versions: the IP version filter does not apply.
    unbound: ['ip_version'],
    columns: [
      { name: 'time', type: 'time' },
      { name: 'ip_version', type: 'string' },
      { name: 'pps', type: 'number' },
    ],
  },
});

function topAsBars(version: 4 | 6, figure: string): PanelSpec {
  return barChart({
    title: `Top IPv${version} source ASes (${figure})`,
    description:
      `Average bps of the ten source ASes that sent the most IPv${version} bytes over the range. ` +
      (version === 6
        ? 'The report sees one dominant AS with the second at about 1/16 of it: a new AS near the top is a ' +
          'new content source or a traffic shift worth checking against peering capacity.'
        : 'The report sees the second AS at about half of the first (cloud and CDNs next): a change in the ' +
          'order is a peering or CDN shift worth checking against peering capacity.'),
    unit: 'bps',
    horizontal: true,
    xField: 'source_as',
    source: {
      query: topSourceAs,
      params: { ip_version: version, limit: 10 },
      columns: [
        { name: 'source_as', type: 'string', displayName: 'Source AS' },
        { name: 'bps', type: 'number' },
      ],
    },
  });
}

const topAsSeries: PanelSpec = timeseries({
  title: 'Top source ASes over time',
  description:
    'Bits per second of the ten largest source ASes of the range, the rest as "other", stacked. Shows ' +
    'when in the day each content source peaks and whether a shift is sudden (a routing change) or gradual.',
  unit: 'bps',
  stack: 'normal',
  width: 16,
  source: {
    query: topSourceAsSeries,
    params: { limit: 10 },
    columns: [
      { name: 'time', type: 'time' },
      { name: 'source_as', type: 'string' },
      { name: 'bps', type: 'number' },
    ],
  },
});

const topAsTable: PanelSpec = table({
  title: 'Source AS ranking',
  description:
    'The twenty largest source ASes with their bytes, average bps, share of all traffic and size relative ' +
    'to the first (the ratios the report quotes for Fig. 7 and 8).',
  width: 8,
  sortBy: 'bytes',
  source: {
    query: topSourceAs,
    params: { limit: 20 },
    columns: [
      { name: 'source_as', type: 'string', displayName: 'Source AS' },
      { name: 'bytes', type: 'number', unit: 'decbytes' },
      { name: 'bps', type: 'number', unit: 'bps' },
      { name: 'share', type: 'number', unit: 'percentunit', displayName: 'Share' },
      { name: 'relative_to_first', type: 'number', unit: 'percentunit', displayName: 'vs. first' },
    ],
  },
});

function protocolPie(version: 4 | 6, figure: string): PanelSpec {
  return pie({
    title: `IPv${version} protocol and source port mix (${figure})`,
    description:
      `Share of IPv${version} bytes per protocol and source port (other/… = ephemeral ports). ` +
      (version === 6
        ? 'The report sees 443/TCP at about 40 % and 443/UDP (QUIC) second: QUIC falling sharply means UDP ' +
          '443 is being dropped somewhere on the path.'
        : 'For IPv4, 80/TCP weighs much more than for IPv6. A new large port is a new service or an attack.'),
    labelField: 'label',
    valueField: 'bytes',
    donut: true,
    width: 8,
    source: {
      query: protocolPortMix,
      params: { ip_version: version, limit: 10 },
      columns: [
        { name: 'label', type: 'string' },
        { name: 'bytes', type: 'number', unit: 'decbytes' },
      ],
    },
  });
}

const protocolTable: PanelSpec = table({
  title: 'Protocol and port ranking',
  description:
    'The top protocol / source port pairs for the selected IP version, with the application seen most on ' +
    'each and its share of all bytes.',
  width: 8,
  sortBy: 'bytes',
  source: {
    query: protocolPortMix,
    params: { limit: 15 },
    columns: [
      { name: 'label', type: 'string', displayName: 'Port/protocol' },
      { name: 'application', type: 'string', displayName: 'Application' },
      { name: 'bytes', type: 'number', unit: 'decbytes' },
      { name: 'share', type: 'number', unit: 'percentunit', displayName: 'Share' },
    ],
  },
});

const timeOfDay: PanelSpec = barChart({
  title: 'Weekday traffic by local time of day (Fig. 11)',
  description:
    'Average bps in each 30-minute slot of the local day over the working days of the last 7 days. ' +
    'Expect the morning-commute, lunch (highest) and evening peaks and a sharp drop after 23:30; ' +
    'capacity is planned against the lunch peak.',
  unit: 'bps',
  width: 12,
  xField: 'slot',
  timeFrom: '7d',
  source: {
    query: trafficByTimeOfDay,
    params: { days: 'weekdays', slot_minutes: 30 },
    columns: [
      { name: 'slot', type: 'string', displayName: 'Local time' },
      { name: 'bps', type: 'number' },
    ],
  },
});

const weekendTimeOfDay: PanelSpec = barChart({
  title: 'Weekend traffic by local time of day',
  description:
    'The same profile for Saturdays and Sundays of the last 7 days: a smaller lunchtime peak and no ' +
    'daytime decline. Compare with the weekday profile beside it.',
  unit: 'bps',
  width: 12,
  xField: 'slot',
  timeFrom: '7d',
  source: {
    query: trafficByTimeOfDay,
    params: { days: 'weekends', slot_minutes: 30 },
    columns: [
      { name: 'slot', type: 'string', displayName: 'Local time' },
      { name: 'bps', type: 'number' },
    ],
  },
});

const weekProfile: PanelSpec = barChart({
  title: 'Traffic by weekday and hour (Fig. 12)',
  description:
    'Average bps per local weekday and hour over the last 14 days: a week-long profile. Mon–Fri repeat; ' +
    'the deepest dip is Sunday night to Monday morning. A weekday out of line is an incident or a holiday.',
  unit: 'bps',
  width: 24,
  xField: 'slot',
  timeFrom: '14d',
  source: {
    query: trafficByWeekday,
    params: { slot_minutes: 60 },
    columns: [
      { name: 'slot', type: 'string', displayName: 'Weekday and hour' },
      { name: 'bps', type: 'number' },
    ],
  },
});

const dailyVolumePanel: PanelSpec = timeseries({
  title: 'Daily transfer volume (Fig. 13)',
  description:
    'Bytes per local day over the last 35 days. Low early in the week, rising toward Friday, lower on ' +
    'weekends and toward the end of the month (mobile users out of allowance), recovering on the 1st.',
  unit: 'decbytes',
  bars: true,
  width: 24,
  timeFrom: '35d',
  source: {
    query: dailyVolume,
    columns: [
      { name: 'time', type: 'time' },
      { name: 'bytes', type: 'number', displayName: 'Bytes per day' },
    ],
  },
});

const interfacesTable: PanelSpec = table({
  title: 'Top interfaces by exporter',
  description:
    'The busiest (exporter, interface, direction) over the range: each flow counts on its input and its ' +
    'output interface. An interface near its capacity here is the first place to look for congestion.',
  width: 24,
  sortBy: 'bytes',
  source: {
    query: topInterfaces,
    params: { limit: 20 },
    columns: [
      {
        name: 'exporter',
        type: 'string',
        displayName: 'Exporter',
        drillDown: { dashboardUid: FLOWS_UID, variable: 'exporter' },
      },
      { name: 'interface', type: 'number', unit: 'none', displayName: 'ifIndex' },
      { name: 'direction', type: 'string', displayName: 'Direction' },
      { name: 'bps', type: 'number', unit: 'bps' },
      { name: 'bytes', type: 'number', unit: 'decbytes' },
      { name: 'packets', type: 'number', unit: 'short' },
      { name: 'share', type: 'number', unit: 'percentunit', displayName: 'Share' },
    ],
  },
});

function talkersTable(by: 'src' | 'dst'): PanelSpec {
  const side = by === 'src' ? 'source' : 'destination';
  return table({
    title: `Top ${side} addresses`,
    description:
      `The addresses sending (${by === 'src' ? 'as source' : 'receiving, as destination'}) the most bytes ` +
      'over the range, from raw flows (kept a few days only). A single address far above the rest is a ' +
      `heavy user, a misbehaving server or the ${by === 'src' ? 'source' : 'target'} of an attack.`,
    width: 12,
    sortBy: 'bytes',
    source: {
      query: topTalkers,
      params: { by, limit: 15 },
      columns: [
        { name: 'address', type: 'string', displayName: 'Address' },
        { name: 'bps', type: 'number', unit: 'bps' },
        { name: 'bytes', type: 'number', unit: 'decbytes' },
        { name: 'flows', type: 'number', unit: 'short' },
        { name: 'share', type: 'number', unit: 'percentunit', displayName: 'Share' },
      ],
    },
  });
}

export const flowsDashboard: DomainDashboard = {
  uid: FLOWS_UID,
  title: 'Kansoku · Flows',
  description:
    'NetFlow/IPFIX/sFlow traffic: IP versions, source ASes, protocols and ports, daily and weekly ' +
    'profiles (report Fig. 6–13), and the busiest interfaces and addresses.',
  tags: ['kansoku', 'flows'],
  variables: [exporterVariable(topInterfaces), ipVersionVariable(), stepVariable(), timeZoneVariable()],
  rows: [
    row('Traffic and IP versions (Fig. 6)', [trafficBps, ipv6SharePanel, totalsPanel, packetRate]),
    row('Source ASes (Fig. 7, 8)', [topAsBars(6, 'Fig. 7'), topAsBars(4, 'Fig. 8'), topAsSeries, topAsTable]),
    row('Protocols and source ports (Fig. 9, 10)', [
      protocolPie(6, 'Fig. 9'),
      protocolPie(4, 'Fig. 10'),
      protocolTable,
    ]),
    row('Daily and weekly profiles (Fig. 11, 12, 13)', [
      timeOfDay,
      weekendTimeOfDay,
      weekProfile,
      dailyVolumePanel,
    ]),
    row('Top talkers', [interfacesTable, talkersTable('src'), talkersTable('dst')]),
  ],
  overview: [
    { ...trafficBps, width: 12 },
    { ...ipv6SharePanel, width: 6 },
    { ...totalsPanel, width: 6 },
    { ...interfacesTable, width: 24, source: { ...interfacesTable.source, params: { limit: 10 } } },
  ],
};
