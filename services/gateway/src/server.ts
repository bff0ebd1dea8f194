import type { Component, HealthCheck, Logger, QueryDefinition, Registry, Warehouse } from '@kansoku/kit';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { gatewayApp } from './app.ts';
import type { GatewayOptionsConfig } from './config.ts';

export interface GatewayDeps {
  log: Logger;
  metrics: Registry;
  warehouse: Warehouse;
  health: HealthCheck[];
  queries: QueryDefinition[];
  version: string;
}

export interface Gateway extends Component {
  /** The fastify instance, for `inject()` in tests; routes exist after start(). */
  app(): FastifyInstance;
  url(): string;
}

export function createGateway(config: GatewayOptionsConfig, deps: GatewayDeps): Gateway {
  let app: FastifyInstance | undefined;
  let url = '';
  return {
    name: 'gateway',
    async start() {
      const instance = Fastify({
        loggerInstance: deps.log.child({ component: 'gateway' }) as FastifyBaseLogger,
        // Grafana polls all day: one log line per request would drown the log; /metrics counts them.
        logController: new LogController({ disableRequestLogging: true }),
      }) as unknown as FastifyInstance;
      await instance.register(gatewayApp, { config, ...deps });
      url = await instance.listen({ host: config.host, port: config.port });
      app = instance;
    },
    async stop() {
      await app?.close();
    },
    app() {
      if (!app) throw new Error('gateway not started');
      return app;
    },
    url: () => url,
  };
}
