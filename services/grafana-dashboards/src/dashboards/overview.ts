/**
 * The overview dashboard: what each domain puts forward (its `overview` panels), one row per
 * domain, so a NOC screen shows every domain's main rollups without opening each dashboard.
 */
import type { DomainDashboard } from '../dashboard.ts';
import { row } from '../panels.ts';
import type { TemplateVariable } from '../variables.ts';
import { stepVariable, timeZoneVariable } from '../variables.ts';

export function overviewDashboard(domains: DomainDashboard[]): DomainDashboard {
  // The overview shows all exporters and both IP versions: only range-shaping variables apply.
  const variables: TemplateVariable[] = [stepVariable(), timeZoneVariable()];
  return {
    uid: 'kansoku-overview',
    title: 'Kansoku · Overview',
    description: "The main rollups of every domain on one screen; each row links to that domain's dashboard.",
    tags: ['kansoku', 'overview'],
    variables,
    rows: domains
      .filter((d) => d.overview && d.overview.length > 0)
      .map((d) => row(d.title.replace(/^Kansoku · /, ''), d.overview ?? [])),
  };
}
