/**
 * The overview's panels. Each names the one gateway query it reads (`domain/name`), the
 * parameters it sends for the page's range, and how it draws the answer. A panel whose query is
 * not in the gateway's catalog is left out, so the page shows what this deployment serves.
 *
 * A domain adds its own panels by appending to PANELS (same shape); nothing else changes.
 */
import { drawBars, drawColumns, drawTimeSeries, html, PALETTE } from './charts.js';
import { formatPercent, formatStep, formatValue } from './format.js';

/**
 * @typedef {import('./api.js').QueryResult} QueryResult
 * @typedef {{ from: number, to: number, step: number, timeZone: string }} Range
 * @typedef {{ id: string, title: string, query: string, wide?: boolean,
 *   subtitle(range: Range): string,
 *   params(range: Range): Record<string, string | number>,
 *   render(body: HTMLElement, result: QueryResult, range: Range): void }} Panel
 */

const DAY_MS = 86_400_000;

/** Thrown by a render when the answer has no rows: shown as "no data", not as a failure. */
export class NoData extends Error {}

/**
 * One series per value of `keyColumn`, each over the buckets from the first to the last bucket of
 * the answer: a bucket the answer lacks had no traffic (rollups hold no zero rows), so it is 0.
 * @param {QueryResult} result
 * @param {string} keyColumn
 * @param {string} valueColumn
 * @param {number} stepMs
 * @returns {Map<string, Array<[number, number]>>}
 */
export function seriesFromRows(result, keyColumn, valueColumn, stepMs) {
  const times = result.rows.map((r) => Number(r.time));
  const first = Math.min(...times);
  const last = Math.max(...times);
  /** @type {Map<string, Map<number, number>>} */
  const byKey = new Map();
  for (const row of result.rows) {
    const key = String(row[keyColumn]);
    let values = byKey.get(key);
    if (!values) {
      values = new Map();
      byKey.set(key, values);
    }
    values.set(Number(row.time), Number(row[valueColumn] ?? 0));
  }
  /** @type {Map<string, Array<[number, number]>>} */
  const series = new Map();
  for (const [key, values] of [...byKey].sort(([a], [b]) => a.localeCompare(b))) {
    /** @type {Array<[number, number]>} */
    const points = [];
    for (let t = first; t <= last; t += stepMs) points.push([t, values.get(t) ?? 0]);
    series.set(key, points);
  }
  return series;
}

/**
 * The step of an answer's buckets: the requested one, or whole hours when the gateway read the
 * hourly rollup (its time column then moves in hours).
 * @param {QueryResult} result
 * @param {number} requestedMs
 */
function bucketStepMs(result, requestedMs) {
  const times = [...new Set(result.rows.map((r) => Number(r.time)))].sort((a, b) => a - b);
  let step = requestedMs;
  for (let i = 1; i < times.length; i++) step = Math.min(step, (times[i] ?? 0) - (times[i - 1] ?? 0));
  return Math.max(requestedMs, step);
}

/** @param {QueryResult} result */
function requireRows(result) {
  if (result.rows.length === 0) throw new NoData('no flows in this range');
}

/** @param {Range} range */
const seriesParams = (range) => ({ from: range.from, to: range.to, step: range.step });
/** @param {Range} range */
const rankingParams = (range) => ({ from: range.from, to: range.to, limit: 10 });

/** The time-of-day profile needs days, whatever the page's range: the last 7 days up to its end. */
const PROFILE_DAYS = 7;

/** @type {Panel[]} */
export const PANELS = [
  {
    id: 'flows-ip-version',
    title: 'Traffic by IP version',
    query: 'flows/traffic-by-ip-version',
    subtitle: (range) => `bits per second, ${formatStep(range.step)} buckets`,
    params: seriesParams,
    render(body, result, range) {
      requireRows(result);
      const stepMs = bucketStepMs(result, range.step * 1000);
      const colors = /** @type {Record<string, string>} */ ({ IPv4: PALETTE[0], IPv6: PALETTE[1] });
      const series = [...seriesFromRows(result, 'ip_version', 'bps', stepMs)].map(([name, points], i) => ({
        name,
        points,
        color: colors[name] ?? PALETTE[(i + 2) % PALETTE.length] ?? '#888',
      }));
      drawTimeSeries(body, { series, from: range.from, to: range.to, unit: 'bps', timeZone: range.timeZone });
    },
  },
  {
    id: 'flows-ipv6-share',
    title: 'IPv6 share of traffic',
    query: 'flows/ipv6-share',
    subtitle: (range) => `share of bytes, ${formatStep(range.step)} buckets`,
    params: seriesParams,
    render(body, result, range) {
      requireRows(result);
      let v4 = 0;
      let v6 = 0;
      for (const row of result.rows) {
        v4 += Number(row.ipv4_bps ?? 0);
        v6 += Number(row.ipv6_bps ?? 0);
      }
      const overall = v4 + v6 > 0 ? v6 / (v4 + v6) : 0;
      const headline = html('p', 'headline', formatPercent(overall));
      headline.dataset.value = String(overall);
      headline.append(html('span', 'muted', ' of the bytes in the range are IPv6'));
      const chart = html('div', 'chart-box');
      const stepMs = bucketStepMs(result, range.step * 1000);
      const points = seriesFromRows(
        { ...result, rows: result.rows.map((r) => ({ ...r, key: 'IPv6 share' })) },
        'key',
        'ipv6_share',
        stepMs,
      ).get('IPv6 share');
      body.replaceChildren(headline, chart);
      drawTimeSeries(chart, {
        series: [{ name: 'IPv6 share', color: PALETTE[1] ?? '', points: points ?? [] }],
        from: range.from,
        to: range.to,
        unit: 'percentunit',
        timeZone: range.timeZone,
        legend: false,
      });
    },
  },
  {
    id: 'flows-top-source-as',
    title: 'Top source ASes',
    query: 'flows/top-source-as',
    subtitle: () => 'bytes over the range and share of all traffic',
    params: rankingParams,
    render(body, result) {
      requireRows(result);
      drawBars(body, {
        unit: 'bytes',
        bars: result.rows.map((r) => ({
          label: String(r.source_as ?? `AS${r.src_as}`),
          value: Number(r.bytes ?? 0),
          share: Number(r.share ?? 0),
        })),
      });
    },
  },
  {
    id: 'flows-protocol-port-mix',
    title: 'Protocol and port mix',
    query: 'flows/protocol-port-mix',
    subtitle: () => 'bytes per protocol and source port (0 = ephemeral or portless)',
    params: rankingParams,
    render(body, result) {
      requireRows(result);
      drawBars(body, {
        unit: 'bytes',
        bars: result.rows.map((r) => ({
          label: String(r.label),
          ...(r.application ? { detail: String(r.application) } : {}),
          value: Number(r.bytes ?? 0),
          share: Number(r.share ?? 0),
        })),
      });
    },
  },
  {
    id: 'flows-time-of-day',
    title: 'Traffic by time of day',
    wide: true,
    query: 'flows/traffic-by-time-of-day',
    subtitle: (range) => `mean bits per second per local hour, last ${PROFILE_DAYS} days (${range.timeZone})`,
    params: (range) => ({
      from: range.to - PROFILE_DAYS * DAY_MS,
      to: range.to,
      timezone: range.timeZone,
      slot_minutes: 60,
    }),
    render(body, result) {
      if (!result.rows.some((r) => Number(r.bytes ?? 0) > 0)) throw new NoData('no flows in the last 7 days');
      drawColumns(body, {
        unit: 'bps',
        color: PALETTE[0] ?? '',
        columns: result.rows.map((r) => ({ label: String(r.slot), value: Number(r.bps ?? 0) })),
      });
    },
  },
];

/**
 * The stat tiles above the panels: the range's totals and mean rates.
 * @param {HTMLElement} container
 * @param {QueryResult} result
 * @param {Range} range
 */
export function renderTotals(container, result, range) {
  const row = result.rows[0] ?? {};
  const seconds = (range.to - range.from) / 1000;
  const bytes = Number(row.bytes ?? 0);
  const packets = Number(row.packets ?? 0);
  const flows = Number(row.flows ?? 0);
  const tiles = [
    ['bytes', 'Traffic', formatValue(bytes, 'bytes'), bytes],
    ['bps', 'Mean rate', formatValue((bytes * 8) / seconds, 'bps'), (bytes * 8) / seconds],
    ['packets', 'Packets', formatValue(packets, ''), packets],
    ['flows', 'Flows', formatValue(flows, ''), flows],
  ];
  container.replaceChildren(
    ...tiles.map(([key, label, text, value]) => {
      const tile = html('div', 'stat');
      tile.dataset.stat = String(key);
      tile.dataset.value = String(value);
      tile.append(html('span', 'label', String(label)), html('span', 'value', String(text)));
      return tile;
    }),
  );
}
