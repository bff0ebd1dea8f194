/**
 * Small SVG charts: a time series (lines over light areas, with a hover readout), horizontal bars
 * (rankings with shares) and columns (a profile over the day). Each draw replaces the container's
 * content and sizes the drawing to the container's width, so a redraw on resize is a plain call.
 * Every drawn mark carries its value in data-* attributes: what the page's test reads back.
 */
import { formatPercent, formatTime, formatValue } from './format.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

export const PALETTE = [
  '#3274d9',
  '#e0752d',
  '#56a64b',
  '#a352cc',
  '#d44a3a',
  '#37a3a3',
  '#c4a000',
  '#8f8f8f',
];

/**
 * @param {string} name
 * @param {Record<string, string | number>} attributes
 * @param {Element} [parent]
 * @returns {SVGElement}
 */
function svg(name, attributes, parent) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  parent?.appendChild(node);
  return node;
}

/**
 * @param {string} name
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
export function html(name, className, text) {
  const node = document.createElement(name);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Round tick values from 0 up to at least `max`.
 * @param {number} max
 * @param {number} count wanted number of intervals
 * @returns {number[]}
 */
export function niceTicks(max, count = 4) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = [1, 2, 2.5, 5, 10].map((m) => m * power).find((m) => m >= raw) ?? 10 * power;
  // i × unit, trimmed to 12 digits: adding 0.05 three times gives 0.15000000000000002.
  /** @param {number} i */
  const tick = (i) => Number((i * unit).toPrecision(12));
  const ticks = [];
  for (let i = 0; tick(i) < max + unit / 2; i++) ticks.push(tick(i));
  if ((ticks[ticks.length - 1] ?? 0) < max) ticks.push(tick(ticks.length));
  return ticks;
}

const TIME_STEPS = [60, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400].map((s) => s * 1000);

/**
 * Tick times inside [from, to], on round local times of the zone.
 * @param {number} from
 * @param {number} to
 * @param {string} timeZone
 * @param {number} count wanted number of ticks
 * @returns {number[]}
 */
export function timeTicks(from, to, timeZone, count) {
  const span = to - from;
  const step = TIME_STEPS.find((s) => span / s <= count) ?? Math.ceil(span / count / 86_400_000) * 86_400_000;
  // Round in local time: shift by the zone's offset at the start (good enough between DST changes).
  const offset = zoneOffsetMs(timeZone, from);
  const ticks = [];
  for (let t = Math.ceil((from + offset) / step) * step - offset; t <= to; t += step) ticks.push(t);
  return ticks;
}

/**
 * @param {string} timeZone
 * @param {number} at
 * @returns {number} local time minus UTC, in ms
 */
function zoneOffsetMs(timeZone, at) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(at);
  /** @param {string} type */
  const get = (type) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const local = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return local - Math.floor(at / 1000) * 1000;
}

/**
 * @typedef {{ name: string, color: string, points: Array<[number, number]> }} Series
 * @typedef {{ series: Series[], from: number, to: number, unit: string, timeZone: string,
 *   yMax?: number, legend?: boolean }} TimeSeriesChart
 */

/**
 * Series statistics for the legend: last, mean and max of the points.
 * @param {Array<[number, number]>} points
 */
export function seriesStats(points) {
  let sum = 0;
  let max = 0;
  for (const [, v] of points) {
    sum += v;
    if (v > max) max = v;
  }
  return { last: points.at(-1)?.[1] ?? 0, mean: points.length ? sum / points.length : 0, max };
}

/**
 * @param {HTMLElement} container
 * @param {TimeSeriesChart} chart
 */
export function drawTimeSeries(container, chart) {
  const { series, from, to, unit, timeZone } = chart;
  container.replaceChildren();
  const width = Math.max(280, container.clientWidth || 480);
  const height = 200;
  const pad = { left: 64, right: 12, top: 10, bottom: 24 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const dataMax = Math.max(0, ...series.flatMap((s) => s.points.map((p) => p[1])));
  const ticks = niceTicks(chart.yMax ?? dataMax);
  const yMax = ticks[ticks.length - 1] || 1;
  /** @param {number} t */
  const x = (t) => pad.left + ((t - from) / (to - from)) * plotW;
  /** @param {number} v */
  const y = (v) => pad.top + plotH - (v / yMax) * plotH;

  const root = svg('svg', {
    class: 'chart',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
  });
  const grid = svg('g', { class: 'grid' }, root);
  for (const v of ticks) {
    svg('line', { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }, grid);
    const label = svg('text', { x: pad.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, grid);
    label.textContent = formatValue(v, unit);
  }
  const withDate = to - from > 86_400_000;
  for (const t of timeTicks(from, to, timeZone, Math.max(2, Math.floor(plotW / 90)))) {
    svg('line', { x1: x(t), x2: x(t), y1: pad.top, y2: pad.top + plotH, class: 'vertical' }, grid);
    const label = svg('text', { x: x(t), y: height - 6, 'text-anchor': 'middle' }, grid);
    label.textContent = formatTime(t, timeZone, withDate);
  }
  for (const s of series) {
    if (s.points.length === 0) continue;
    const line = s.points
      .map(([t, v], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`)
      .join('');
    const first = s.points[0];
    const last = s.points[s.points.length - 1];
    if (first && last) {
      svg(
        'path',
        {
          class: 'area',
          d: `${line}L${x(last[0]).toFixed(1)},${y(0)}L${x(first[0]).toFixed(1)},${y(0)}Z`,
          fill: s.color,
        },
        root,
      );
    }
    svg(
      'path',
      { class: 'line', d: line, stroke: s.color, 'data-series': s.name, 'data-points': s.points.length },
      root,
    );
  }
  container.appendChild(root);
  hoverReadout(container, root, { ...chart, x, pad, plotW, plotH });
  if (chart.legend !== false) container.appendChild(timeSeriesLegend(series, unit));
}

/**
 * @param {Series[]} series
 * @param {string} unit
 */
function timeSeriesLegend(series, unit) {
  const list = html('ul', 'legend');
  for (const s of series) {
    const stats = seriesStats(s.points);
    const item = html('li');
    item.dataset.series = s.name;
    item.dataset.last = String(stats.last);
    item.dataset.mean = String(stats.mean);
    item.dataset.max = String(stats.max);
    const swatch = html('span', 'swatch');
    swatch.style.background = s.color;
    item.append(
      swatch,
      html('span', 'name', s.name),
      html('span', 'value', `last ${formatValue(stats.last, unit)}`),
      html('span', 'value', `mean ${formatValue(stats.mean, unit)}`),
      html('span', 'value', `max ${formatValue(stats.max, unit)}`),
    );
    list.appendChild(item);
  }
  return list;
}

/**
 * A vertical rule and a readout of every series at the bucket under the pointer.
 * @param {HTMLElement} container
 * @param {SVGElement} root
 * @param {TimeSeriesChart & { x: (t: number) => number, pad: { left: number, top: number },
 *   plotW: number, plotH: number }} chart
 */
function hoverReadout(container, root, chart) {
  const rule = svg('line', { class: 'rule', y1: chart.pad.top, y2: chart.pad.top + chart.plotH }, root);
  rule.setAttribute('visibility', 'hidden');
  const readout = html('div', 'readout');
  readout.hidden = true;
  container.appendChild(readout);
  const times = [...new Set(chart.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  root.addEventListener('pointermove', (event) => {
    const box = root.getBoundingClientRect();
    const t =
      chart.from + ((event.clientX - box.left - chart.pad.left) / chart.plotW) * (chart.to - chart.from);
    let nearest = times[0];
    for (const candidate of times)
      if (Math.abs(candidate - t) < Math.abs((nearest ?? 0) - t)) nearest = candidate;
    if (nearest === undefined) return;
    rule.setAttribute('x1', String(chart.x(nearest)));
    rule.setAttribute('x2', String(chart.x(nearest)));
    rule.setAttribute('visibility', 'visible');
    readout.replaceChildren(html('div', 'when', formatTime(nearest, chart.timeZone, true)));
    for (const s of chart.series) {
      const point = s.points.find((p) => p[0] === nearest);
      readout.appendChild(
        html('div', undefined, `${s.name}: ${point ? formatValue(point[1], chart.unit) : '–'}`),
      );
    }
    readout.hidden = false;
  });
  root.addEventListener('pointerleave', () => {
    rule.setAttribute('visibility', 'hidden');
    readout.hidden = true;
  });
}

/**
 * @typedef {{ label: string, detail?: string, value: number, share: number }} Bar
 */

/**
 * Horizontal bars, longest first as given; the bar length is the value, the text the value and share.
 * @param {HTMLElement} container
 * @param {{ bars: Bar[], unit: string }} chart
 */
export function drawBars(container, chart) {
  container.replaceChildren();
  const width = Math.max(280, container.clientWidth || 480);
  const row = 22;
  const labelW = Math.min(170, Math.floor(width * 0.36));
  const valueW = 128;
  const height = chart.bars.length * row + 4;
  const max = Math.max(0, ...chart.bars.map((b) => b.value)) || 1;
  const root = svg('svg', {
    class: 'chart bars',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
  });
  chart.bars.forEach((bar, i) => {
    const top = i * row + 2;
    const g = svg(
      'g',
      { class: 'bar', 'data-label': bar.label, 'data-value': bar.value, 'data-share': bar.share },
      root,
    );
    const label = svg('text', { x: labelW - 6, y: top + 15, 'text-anchor': 'end' }, g);
    label.textContent = bar.detail ? `${bar.label} · ${bar.detail}` : bar.label;
    const length = Math.max(1, ((width - labelW - valueW) * bar.value) / max);
    svg(
      'rect',
      {
        x: labelW,
        y: top + 3,
        width: length.toFixed(1),
        height: row - 6,
        rx: 2,
        fill: PALETTE[i % PALETTE.length] ?? '',
      },
      g,
    );
    const value = svg('text', { x: labelW + length + 6, y: top + 15, class: 'value' }, g);
    value.textContent = `${formatValue(bar.value, chart.unit)} (${formatPercent(bar.share)})`;
  });
  container.appendChild(root);
}

/**
 * Columns over categories (slots of the day), with every n-th label shown.
 * @param {HTMLElement} container
 * @param {{ columns: Array<{ label: string, value: number }>, unit: string, color: string }} chart
 */
export function drawColumns(container, chart) {
  container.replaceChildren();
  const width = Math.max(280, container.clientWidth || 480);
  const height = 200;
  const pad = { left: 64, right: 12, top: 10, bottom: 24 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const ticks = niceTicks(Math.max(0, ...chart.columns.map((c) => c.value)));
  const yMax = ticks[ticks.length - 1] || 1;
  /** @param {number} v */
  const y = (v) => pad.top + plotH - (v / yMax) * plotH;
  const root = svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img' });
  const grid = svg('g', { class: 'grid' }, root);
  for (const v of ticks) {
    svg('line', { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }, grid);
    const label = svg('text', { x: pad.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, grid);
    label.textContent = formatValue(v, chart.unit);
  }
  const slot = plotW / Math.max(1, chart.columns.length);
  const every = Math.ceil(chart.columns.length / Math.max(1, Math.floor(plotW / 44)));
  chart.columns.forEach((c, i) => {
    const left = pad.left + i * slot;
    const rect = svg(
      'rect',
      {
        class: 'column',
        x: (left + slot * 0.1).toFixed(1),
        y: y(c.value).toFixed(1),
        width: (slot * 0.8).toFixed(1),
        height: Math.max(0, y(0) - y(c.value)).toFixed(1),
        fill: chart.color,
        'data-label': c.label,
        'data-value': c.value,
      },
      root,
    );
    const title = svg('title', {}, rect);
    title.textContent = `${c.label}: ${formatValue(c.value, chart.unit)}`;
    if (i % every === 0) {
      const label = svg('text', { x: left + slot / 2, y: height - 6, 'text-anchor': 'middle' }, grid);
      label.textContent = c.label;
    }
  });
  container.appendChild(root);
}
