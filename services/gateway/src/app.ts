/**
 * The gateway as a fastify plugin, separate from the server so tests use `app.inject()`.
 * Public: /health, /ready, /metrics, /docs. Everything under /api/v1 needs a bearer token.
 */
import { availableParallelism } from 'node:os';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  Counter,
  type HealthCheck,
  Histogram,
  type QueryDefinition,
  type Registry,
  runHealthChecks,
  type Warehouse,
} from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { createAuthenticator } from './auth.ts';
import { type GatewayOptionsConfig, withGatewayDefaults } from './config.ts';
import { ErrorBody, installErrorHandler } from './errors.ts';
import { overviewPage } from './overview/overview.ts';
import { registerQueryRoutes } from './query-routes.ts';
import { installRateLimit } from './rate-limit.ts';
import { createResultCache, type ResultCache } from './result-cache.ts';
import { createWarehouseGate, type WarehouseGate } from './warehouse-gate.ts';

export interface GatewayAppOptions {
  config: GatewayOptionsConfig;
  metrics: Registry;
  health: HealthCheck[];
  queries: QueryDefinition[];
  warehouse: Warehouse;
  version: string;
  /** Shared cache and gate (tests and benchmarks look inside); by default the app makes its own. */
  cache?: ResultCache;
  gate?: WarehouseGate;
  /** The clock of the cache and the range alignment (tests move it). */
  now?: () => number;
}

const HealthBody = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  version: Type.String(),
  dependencies: Type.Record(
    Type.String(),
    Type.Object({ ok: Type.Boolean(), detail: Type.String(), latencyMs: Type.Number() }),
  ),
});

export async function gatewayApp(app: FastifyInstance, options: GatewayAppOptions): Promise<void> {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const config = withGatewayDefaults(options.config);
  const auth = createAuthenticator(config);
  installErrorHandler(app);
  app.addSchema(ErrorBody);
  await installRateLimit(app, { config, auth, metrics: options.metrics });
  const cache =
    options.cache ??
    createResultCache(
      {
        enabled: config.cacheEnabled,
        maxEntries: config.cacheMaxEntries,
        maxBytes: config.cacheMaxBytes,
      },
      options.metrics,
      options.now,
    );
  const gate =
    options.gate ??
    createWarehouseGate(
      options.warehouse,
      {
        maxConcurrentQueries: config.maxConcurrentQueries,
        maxQueuedQueries: config.maxQueuedQueries,
        maxThreads:
          config.queryMaxThreads >= 0
            ? config.queryMaxThreads
            : options.warehouse.embedded
              ? Math.max(1, Math.floor(availableParallelism() / 2))
              : 0,
      },
      options.metrics,
    );

  const requests = new Counter({
    name: 'kansoku_gateway_requests_total',
    help: 'HTTP requests by route and status code',
    labelNames: ['route', 'status'],
    registers: [options.metrics],
  });
  const latency = new Histogram({
    name: 'kansoku_gateway_request_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [options.metrics],
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL: label values stay bounded whatever clients send.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ route, status: String(reply.statusCode) });
    latency.observe({ route }, reply.elapsedTime / 1000);
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Kansoku query gateway', version: options.version },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(overviewPage);

  const errorResponses = {
    400: { $ref: 'ErrorBody#' },
    401: { $ref: 'ErrorBody#' },
    403: { $ref: 'ErrorBody#' },
    422: { $ref: 'ErrorBody#' },
    429: { $ref: 'ErrorBody#' },
    503: { $ref: 'ErrorBody#' },
    504: { $ref: 'ErrorBody#' },
  };

  typed.get(
    '/health',
    {
      schema: {
        summary: 'Each dependency (kafka, clickhouse, nats) by name; 503 when one is down',
        tags: ['operations'],
        response: { 200: HealthBody, 503: HealthBody },
      },
    },
    async (_request, reply) => {
      const reports = await runHealthChecks(options.health);
      const ok = reports.every((r) => r.ok);
      const dependencies = Object.fromEntries(
        reports.map((r) => [r.name, { ok: r.ok, detail: r.detail, latencyMs: r.latencyMs }]),
      );
      return reply
        .status(ok ? 200 : 503)
        .send({ status: ok ? 'ok' : 'degraded', version: options.version, dependencies });
    },
  );

  typed.get(
    '/ready',
    {
      schema: {
        summary: 'Ready to serve queries: every dependency answers',
        tags: ['operations'],
        response: {
          200: Type.Object({ ready: Type.Boolean() }),
          503: Type.Object({ ready: Type.Boolean() }),
        },
      },
    },
    async (_request, reply) => {
      const reports = await runHealthChecks(options.health);
      const ready = reports.every((r) => r.ok);
      return reply.status(ready ? 200 : 503).send({ ready });
    },
  );

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', options.metrics.contentType);
    return options.metrics.metrics();
  });

  typed.get(
    '/api/v1/queries',
    {
      schema: {
        summary: 'The catalog of named queries',
        tags: ['queries'],
        security: [{ bearer: [] }],
        response: {
          200: Type.Array(
            Type.Object({
              domain: Type.String(),
              name: Type.String(),
              path: Type.String(),
              summary: Type.String(),
            }),
          ),
          ...errorResponses,
        },
      },
      // preValidation: after the rate limit (onRequest), before the parameters are checked.
      preValidation: async (request) => {
        auth.require(request, 'viewer');
      },
    },
    async () =>
      options.queries.map((q) => ({
        domain: q.domain,
        name: q.name,
        path: `/api/v1/${q.domain}/${q.name}`,
        summary: q.summary,
      })),
  );

  registerQueryRoutes(app, {
    config,
    queries: options.queries,
    auth,
    cache,
    gate,
    errorResponses,
    ...(options.now ? { now: options.now } : {}),
  });
}
