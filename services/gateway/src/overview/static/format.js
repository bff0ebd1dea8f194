/**
 * Units as the NOC reads them: SI prefixes for rates (bps, pps), binary-free SI for bytes too
 * (what interface counters and Grafana's "bytes(SI)" show), percentages with one decimal.
 */

const SI = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

/**
 * @param {number} value
 * @param {number} [digits] significant digits
 * @returns {string} e.g. "1.23 M"
 */
export function si(value, digits = 3) {
  if (!Number.isFinite(value)) return '–';
  if (value === 0) return '0 ';
  const sign = value < 0 ? '-' : '';
  let v = Math.abs(value);
  let i = 0;
  while (v >= 999.5 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  const text = v >= 100 ? v.toFixed(0) : v.toPrecision(digits);
  return `${sign}${Number(text)} ${SI[i]}`;
}

/**
 * A value in a Grafana unit (the `unit` of a query column).
 * @param {number} value
 * @param {string | undefined} unit
 * @returns {string}
 */
export function formatValue(value, unit) {
  switch (unit) {
    case 'bps':
      return `${si(value)}bps`;
    case 'pps':
      return `${si(value)}pps`;
    case 'bytes':
      return `${si(value)}B`;
    case 'percentunit':
      return formatPercent(value);
    case 'percent':
      return formatPercent(value / 100);
    default:
      return si(value).trim();
  }
}

/**
 * @param {number} share 0–1
 * @returns {string} e.g. "12.5%"
 */
export function formatPercent(share) {
  if (!Number.isFinite(share)) return '–';
  return `${(share * 100).toFixed(1)}%`;
}

/**
 * @param {number} ms
 * @param {string} timeZone
 * @param {boolean} withDate
 * @returns {string}
 */
export function formatTime(ms, timeZone, withDate) {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    ...(withDate ? { month: 'short', day: 'numeric' } : {}),
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(ms);
}

/**
 * @param {number} seconds
 * @returns {string} e.g. "5 min", "1 h"
 */
export function formatStep(seconds) {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/**
 * How long ago, coarsely, for alert ages.
 * @param {number} ms
 * @param {number} now
 * @returns {string}
 */
export function formatAge(ms, now) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}
