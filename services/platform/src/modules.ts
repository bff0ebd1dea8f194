/**
 * Every module the platform knows. A new domain adds itself here, and nowhere else in the
 * platform: its services, migrations and queries then appear in `up`, `run`, `migrate`.
 */
import { alertingModule } from '@kansoku/alerting';
import { bgpModule } from '@kansoku/bgp';
import { dnsModule } from '@kansoku/dns';
import { flowsModule } from '@kansoku/flows';
import { gatewayModule } from '@kansoku/gateway';
import type { DomainModule } from '@kansoku/kit';

export function platformModules(): DomainModule[] {
  // The gateway comes last: in `up` it starts once every processor is running.
  // Alerting loads the rule files of the domains before it.
  const domains = [flowsModule, dnsModule, bgpModule];
  return [...domains, alertingModule(domains), gatewayModule()];
}
