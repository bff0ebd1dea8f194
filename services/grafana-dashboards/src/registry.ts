/**
 * The dashboards the generator writes. A domain defines its `DomainDashboard` in its own package
 * (`services/<domain>/src/dashboard.ts`, with this package's builder) and adds it to the list.
 */
import { bgpDashboard } from '../../bgp/src/dashboard.ts';
import { dnsDashboard } from '../../dns/src/dashboard.ts';
import type { DomainDashboard } from './dashboard.ts';
import { flowsDashboard } from './dashboards/flows.ts';
import { overviewDashboard } from './dashboards/overview.ts';

/** Every domain's dashboard, in the order of the overview's rows. */
export function domainDashboards(): DomainDashboard[] {
  return [flowsDashboard, dnsDashboard, bgpDashboard];
}

/** Everything provisioned: the overview first, then each domain. */
export function allDashboards(): DomainDashboard[] {
  const domains = domainDashboards();
  return [overviewDashboard(domains), ...domains];
}
