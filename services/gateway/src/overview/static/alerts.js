/**
 * The firing alerts, from the alerting service's `alerts/firing` query: one row per alert with
 * alertname, severity, labels (a JSON object as text), summary, startsAt (ms), value, source.
 */
import { html } from './charts.js';
import { formatAge } from './format.js';

/**
 * @typedef {{ name: string, severity: string, summary: string, since: number | undefined,
 *   value: number | undefined, source: string, labels: Record<string, string> }} FiringAlert
 */

/** @param {unknown} labels */
function labelsOf(labels) {
  let object = labels;
  if (typeof labels === 'string') {
    try {
      object = JSON.parse(labels);
    } catch {
      return {};
    }
  }
  if (!object || typeof object !== 'object') return {};
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, String(v)]));
}

/**
 * @param {import('./api.js').QueryResult} result
 * @returns {FiringAlert[]}
 */
export function firingAlerts(result) {
  return (result.rows ?? []).map((row) => {
    const since = Number(row.startsAt);
    const value = row.value === null || row.value === undefined ? Number.NaN : Number(row.value);
    return {
      name: String(row.alertname ?? 'unnamed alert'),
      severity: String(row.severity ?? 'none'),
      summary: String(row.summary ?? ''),
      since: since > 0 ? since : undefined,
      value: Number.isFinite(value) ? value : undefined,
      source: String(row.source ?? ''),
      labels: labelsOf(row.labels),
    };
  });
}

const SEVERITIES = ['critical', 'warning', 'info'];

/** @param {string} severity */
const rank = (severity) => {
  const i = SEVERITIES.indexOf(severity);
  return i < 0 ? SEVERITIES.length : i;
};

/**
 * Most severe first, then the longest firing.
 * @param {HTMLElement} section
 * @param {HTMLElement} body
 * @param {FiringAlert[]} alerts
 * @param {number} now
 */
export function renderAlerts(section, body, alerts, now) {
  const sorted = [...alerts].sort(
    (a, b) =>
      rank(a.severity) - rank(b.severity) ||
      (a.since ?? now) - (b.since ?? now) ||
      a.name.localeCompare(b.name),
  );
  section.dataset.state = sorted.length ? 'firing' : 'none';
  section.dataset.count = String(sorted.length);
  if (sorted.length === 0) {
    body.replaceChildren(html('p', 'ok', 'No alerts firing.'));
    return;
  }
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const title of ['Severity', 'Alert', 'Summary', 'Firing for', 'Value', 'Labels']) {
    head.appendChild(html('th', undefined, title));
  }
  const rows = table.createTBody();
  for (const alert of sorted) {
    const row = rows.insertRow();
    row.dataset.alert = alert.name;
    row.dataset.severity = alert.severity;
    const known = SEVERITIES.includes(alert.severity) ? alert.severity : 'none';
    row.insertCell().appendChild(html('span', `severity ${known}`, alert.severity));
    row.insertCell().textContent = alert.source === 'detection' ? `${alert.name} (detector)` : alert.name;
    row.insertCell().textContent = alert.summary;
    row.insertCell().textContent = alert.since === undefined ? '–' : formatAge(alert.since, now);
    row.insertCell().textContent =
      alert.value === undefined ? '' : String(Number(alert.value.toPrecision(4)));
    row.insertCell().textContent = Object.entries(alert.labels)
      .filter(([k]) => k !== 'alertname' && k !== 'severity')
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
  }
  body.replaceChildren(table);
}
