import type { DomainModule } from '@kansoku/kit';
import { gatewaySection } from './config.ts';
import { createGateway, type Gateway } from './server.ts';

/** The gateway as a service of the platform: it serves the queries of every domain. */
export function gatewayModule(): DomainModule {
  let gateway: Gateway | undefined;
  return {
    name: 'gateway',
    sections: [gatewaySection],
    migrations: [],
    queries: [],
    services: [
      {
        name: 'gateway',
        description: 'HTTP query API for Grafana, alerting and the built-in pages; /health, /metrics, /docs',
        build(runtime) {
          gateway = createGateway(runtime.config.get(gatewaySection), {
            log: runtime.log,
            metrics: runtime.metrics,
            warehouse: runtime.warehouse(),
            health: runtime.healthChecks(),
            queries: runtime.queries(),
            version: runtime.version,
          });
          return [gateway];
        },
        endpoints() {
          const url = gateway?.url();
          return url
            ? [`gateway  ${url}  (OpenAPI ${url}/docs, metrics ${url}/metrics, health ${url}/health)`]
            : [];
        },
      },
    ],
  };
}
