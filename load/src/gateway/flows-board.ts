/**
 * The requests the flows dashboard sends to the gateway: one per panel (the panels of
 * services/grafana-dashboards' flows board, Fig. 6–13 plus drill-downs: two panels of the same
 * query with the same parameters send the same request, as Grafana does), over the time ranges a NOC
 * picks (last 1h, 6h, 24h, 7d, 30d), with `to` = now when the request is made, as a board refreshes.
 * load/k6/flows-dashboard.js holds the same list for k6 (keep them alike).
 */

export interface BoardRange {
  label: string;
  ms: number;
  /** Step in seconds, as Grafana's interval for a panel about 1000 px wide, at least a minute. */
  step: number;
  /** Relative share of requests: short ranges are what a wall screen shows all day. */
  weight: number;
}

export const BOARD_RANGES: readonly BoardRange[] = [
  { label: '1h', ms: 3_600_000, step: 60, weight: 30 },
  { label: '6h', ms: 6 * 3_600_000, step: 60, weight: 25 },
  { label: '24h', ms: 86_400_000, step: 300, weight: 25 },
  // Whole hours from 7 days on: the hourly rollup serves them (a 30-minute step would read the minute rollup).
  { label: '7d', ms: 7 * 86_400_000, step: 3600, weight: 12 },
  { label: '30d', ms: 30 * 86_400_000, step: 3600, weight: 8 },
];

export interface BoardPanel {
  /** Panel title on the board. */
  title: string;
  query: string;
  params: Readonly<Record<string, string | number>>;
  /** Whether the query takes a step (time series); the others get from/to only. */
  series: boolean;
}

export const FLOWS_BOARD_PANELS: readonly BoardPanel[] = [
  { title: 'Traffic by IP version (bps)', query: 'traffic-by-ip-version', params: {}, series: true },
  { title: 'Traffic by IP version (pps)', query: 'traffic-by-ip-version', params: {}, series: true },
  { title: 'IPv6 share', query: 'ipv6-share', params: {}, series: true },
  { title: 'Totals', query: 'totals', params: {}, series: false },
  {
    title: 'Top source AS (IPv6)',
    query: 'top-source-as',
    params: { ip_version: 6, limit: 10 },
    series: false,
  },
  {
    title: 'Top source AS (IPv4)',
    query: 'top-source-as',
    params: { ip_version: 4, limit: 10 },
    series: false,
  },
  { title: 'Top source AS table', query: 'top-source-as', params: { limit: 20 }, series: false },
  { title: 'Top source AS over time', query: 'top-source-as-series', params: { limit: 10 }, series: true },
  {
    title: 'Protocol/port mix (IPv6)',
    query: 'protocol-port-mix',
    params: { ip_version: 6, limit: 10 },
    series: false,
  },
  {
    title: 'Protocol/port mix (IPv4)',
    query: 'protocol-port-mix',
    params: { ip_version: 4, limit: 10 },
    series: false,
  },
  { title: 'Protocol/port table', query: 'protocol-port-mix', params: { limit: 15 }, series: false },
  {
    title: 'Weekday time of day',
    query: 'traffic-by-time-of-day',
    params: { days: 'weekdays', slot_minutes: 30 },
    series: false,
  },
  {
    title: 'Weekend time of day',
    query: 'traffic-by-time-of-day',
    params: { days: 'weekends', slot_minutes: 30 },
    series: false,
  },
  { title: 'Week profile', query: 'traffic-by-weekday', params: { slot_minutes: 60 }, series: false },
  { title: 'Daily volume', query: 'daily-volume', params: {}, series: false },
  { title: 'Top interfaces', query: 'top-interfaces', params: { limit: 20 }, series: false },
  { title: 'Top talkers (source)', query: 'top-talkers', params: { by: 'src', limit: 15 }, series: false },
  {
    title: 'Top talkers (destination)',
    query: 'top-talkers',
    params: { by: 'dst', limit: 15 },
    series: false,
  },
  { title: 'Latest flows', query: 'raw-flows', params: { limit: 100 }, series: false },
];

/** The URL path and query string of a panel's request over the range ending at `nowMs`. */
export function boardPath(panel: BoardPanel, range: BoardRange, nowMs: number): string {
  const search = new URLSearchParams();
  search.set('from', String(nowMs - range.ms));
  search.set('to', String(nowMs));
  if (panel.series) search.set('step', String(range.step));
  for (const [key, value] of Object.entries(panel.params)) search.set(key, String(value));
  return `/api/v1/flows/${panel.query}?${search.toString()}`;
}

/** A range drawn by weight with a uniform `u` in [0, 1). */
export function pickRange(u: number): BoardRange {
  const total = BOARD_RANGES.reduce((sum, r) => sum + r.weight, 0);
  let x = u * total;
  for (const range of BOARD_RANGES) {
    x -= range.weight;
    if (x < 0) return range;
  }
  return BOARD_RANGES[BOARD_RANGES.length - 1]!;
}
