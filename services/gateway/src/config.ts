import { defineSection, type SectionValue } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const gatewaySection = defineSection(
  'gateway',
  Type.Object({
    host: Type.String({ default: '127.0.0.1', description: 'Address the HTTP server binds' }),
    port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
    tokens: Type.Array(Type.String({ pattern: '^(viewer|operator|admin):\\S{8,}$' }), {
      default: [],
      description: 'Bearer tokens as <role>:<token> (token of 8+ characters); env: comma-separated',
    }),
    anonymousRole: Type.Union([Type.Literal('none'), ...ROLES.map((r) => Type.Literal(r))], {
      default: 'none',
      description: 'Role granted to requests without a token; none requires a token on every data route',
    }),
    cacheEnabled: Type.Boolean({
      default: true,
      description: 'Keep query results in memory, keyed by query and step-aligned range',
    }),
    cacheMaxEntries: Type.Integer({ default: 5000, minimum: 1, description: 'Most results kept' }),
    cacheMaxBytes: Type.Integer({
      default: 128 * 1024 * 1024,
      minimum: 1024,
      description: 'Most bytes of serialized results kept; a result above a quarter of it is not kept',
    }),
    cacheLiveTtlMs: Type.Integer({
      default: 10_000,
      minimum: 0,
      description:
        'Least lifetime of a result whose range reaches into the last cacheSettleMs (still filling)',
    }),
    cacheLiveMaxTtlMs: Type.Integer({
      default: 60_000,
      minimum: 0,
      description:
        'A live result is kept a sixth of its step (or alignment unit), between cacheLiveTtlMs and this',
    }),
    cacheServeStale: Type.Boolean({
      default: true,
      description:
        'After its lifetime a result is still served for as long again while one request refreshes it; ' +
        'a live window that slid past a boundary is answered with the previous window meanwhile',
    }),
    cachePastTtlMs: Type.Integer({
      default: 600_000,
      minimum: 0,
      description: 'Lifetime of a result whose range ended before the last cacheSettleMs (closed past)',
    }),
    cacheSettleMs: Type.Integer({
      default: 300_000,
      minimum: 0,
      description: 'How long after the fact rollups may still change (collector and processor latency)',
    }),
    cacheAlignMs: Type.Integer({
      default: 60_000,
      minimum: 1,
      description:
        'Least alignment of from/to; queries without a step align to 1, 5, 15 or 60 minutes by range length',
    }),
    rateLimitPerMinute: Type.Integer({
      // Grafana sends every viewer's panels with its one datasource token: a wall of boards refreshing
      // every 10 s is thousands a minute on that token.
      default: 6000,
      minimum: 0,
      description: 'Requests per minute per bearer token on /api/v1 (0: no limit)',
    }),
    rateLimitAnonymousPerMinute: Type.Integer({
      default: 120,
      minimum: 0,
      description: 'Requests per minute per client IP without a known token on /api/v1 (0: no limit)',
    }),
    queryTimeoutMs: Type.Integer({
      default: 15_000,
      minimum: 100,
      description: 'A request whose warehouse work (queue wait included) runs longer is cancelled: 504',
    }),
    maxConcurrentQueries: Type.Integer({
      default: 8,
      minimum: 1,
      description: 'Warehouse queries run at once by the gateway; more wait in a queue',
    }),
    maxQueuedQueries: Type.Integer({
      default: 200,
      minimum: 0,
      description: 'Warehouse queries allowed to wait; beyond that a request gets 503 at once',
    }),
    queryMaxThreads: Type.Integer({
      default: -1,
      minimum: -1,
      maximum: 256,
      description:
        'Threads one warehouse query may use (ClickHouse max_threads). -1: half the cores with the embedded ' +
        'warehouse (it shares the process and the CPUs with the gateway, which must keep a core to answer ' +
        'from its cache), the engine decides with a server; 0: the engine always decides',
    }),
    maxResultRows: Type.Integer({
      default: 100_000,
      minimum: 1,
      description: 'A query result with more rows is refused (422) rather than sent',
    }),
  }),
  ['tokens'],
);

export type GatewayConfig = SectionValue<typeof gatewaySection>;

/** What a caller of the gateway must give; every other key takes its schema default. */
export type GatewayOptionsConfig = Pick<GatewayConfig, 'host' | 'port' | 'tokens' | 'anonymousRole'> &
  Partial<GatewayConfig>;

export function withGatewayDefaults(config: GatewayOptionsConfig): GatewayConfig {
  const given = Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined));
  return { ...(Value.Default(gatewaySection.schema, {}) as GatewayConfig), ...given } as GatewayConfig;
}
