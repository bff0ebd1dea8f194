/**
 * The overview dashboard: the alerts firing now, then what each domain puts forward (its
 * `overview` panels), one row per domain, so a NOC screen shows every domain's main rollups
 * without opening each dashboard.
 */
import { alertHistory, firingAlerts } from '@kansoku/alerting';
import type { DomainDashboard } from '../dashboard.ts';
import { type PanelSpec, row, table } from '../panels.ts';
import { stepVariable, type TemplateVariable, timeZoneVariable } from '../variables.ts';

const firingAlertsPanel: PanelSpec = table({
  title: 'Firing alerts',
  description:
    'Every alert firing now (rules and streaming detectors), critical first, newest first within a ' +
    'severity: what the on-call engineer was paged for and since when. Empty is good.',
  width: 24,
  height: 7,
  source: {
    query: firingAlerts,
    columns: [
      { name: 'severity', type: 'string', displayName: 'Severity' },
      { name: 'alertname', type: 'string', displayName: 'Alert' },
      { name: 'summary', type: 'string', displayName: 'Summary' },
      { name: 'startsAt', type: 'time', displayName: 'Firing since' },
      { name: 'value', type: 'number', unit: 'short', displayName: 'Value' },
      { name: 'labels', type: 'string', displayName: 'Labels' },
      { name: 'source', type: 'string', displayName: 'Source' },
    ],
  },
});

const alertHistoryPanel: PanelSpec = table({
  title: 'Alert transitions in the range',
  description:
    'Every state change of every alert over the range, newest first: what paged overnight, what ' +
    'resolved by itself, and which alert flaps (many pending → firing → resolved rows).',
  width: 24,
  height: 7,
  sortBy: 'time',
  source: {
    query: alertHistory,
    params: { limit: 200 },
    columns: [
      { name: 'time', type: 'time', displayName: 'Time' },
      { name: 'alertname', type: 'string', displayName: 'Alert' },
      { name: 'severity', type: 'string', displayName: 'Severity' },
      { name: 'from_state', type: 'string', displayName: 'From' },
      { name: 'state', type: 'string', displayName: 'To' },
      { name: 'summary', type: 'string', displayName: 'Summary' },
      { name: 'value', type: 'number', unit: 'short', displayName: 'Value' },
    ],
  },
});

export function overviewDashboard(domains: DomainDashboard[]): DomainDashboard {
  // The overview shows all exporters and both IP versions: only range-shaping variables apply.
  const variables: TemplateVariable[] = [stepVariable(), timeZoneVariable()];
  return {
    uid: 'kansoku-overview',
    title: 'Kansoku · Overview',
    description:
      "Alerts firing now and the main rollups of every domain; the links open each domain's dashboard.",
    tags: ['kansoku', 'overview'],
    variables,
    rows: [
      row('Alerts', [firingAlertsPanel, alertHistoryPanel]),
      ...domains
        .filter((d) => d.overview && d.overview.length > 0)
        .map((d) => row(d.title.replace(/^Kansoku · /, ''), d.overview ?? [])),
    ],
  };
}
