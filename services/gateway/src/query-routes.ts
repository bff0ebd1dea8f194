/**
 * The route of each registered query: `/api/v1/<domain>/<name>`. On every request, in order:
 * the role check (onRequest), the parameter schema (fastify), the gateway's own limits on range,
 * step and points (whatever the query's validate does), the range aligned to the step, the query's
 * validate, then the cache and single flight, then the warehouse through the gate (slots, queue,
 * time budget). Each definition is audited when registered: a parameter without bounds stops startup.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  MAX_POINTS,
  MAX_RANGE_MS,
  type QueryDefinition,
  QueryParameterError,
  type QueryResult,
} from '@kansoku/kit';
import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from './auth.ts';
import type { GatewayConfig } from './config.ts';
import { HttpError } from './errors.ts';
import type { ResultCache } from './result-cache.ts';
import {
  classifyWarehouseError,
  QueryTimeoutError,
  WarehouseBusyError,
  type WarehouseGate,
} from './warehouse-gate.ts';

/** DateTime's last second is in 2106; a later bound would fail in ClickHouse, so it is refused here. */
export const MAX_TIME_MS = Date.UTC(2100, 0, 1);
/** Top-N and row limits a query may offer at most. */
export const MAX_LIMIT_PARAMETER = 10_000;

export const QueryResultBody = Type.Object({
  columns: Type.Array(
    Type.Object({ name: Type.String(), type: Type.String(), unit: Type.Optional(Type.String()) }),
  ),
  rows: Type.Array(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Null()]))),
});

export class QueryDefinitionError extends Error {
  readonly code = 'KANSOKU_GATEWAY_BAD_QUERY_DEFINITION';
}

type Schema = TSchema & Record<string, unknown>;

function isBoundedLiteralUnion(schema: Schema): boolean {
  const branches = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  return Array.isArray(branches) && branches.every((b) => 'const' in b);
}

/** An anchored pattern without open-ended repetition (`^[0-9a-f]{16}$`) bounds the length by itself. */
function boundedPattern(schema: Schema): boolean {
  const pattern = schema.pattern;
  if (typeof pattern !== 'string') return false;
  return (
    pattern.startsWith('^') && pattern.endsWith('$') && !/[*+]|\{\d*,\}/.test(pattern.replaceAll('\\', ''))
  );
}

/**
 * Every parameter must be bounded, so no request can ask the warehouse for an unbounded amount of
 * work: strings need maxLength (or a fixed set of values), numbers a maximum (from/to excepted:
 * the gateway bounds their range), arrays maxItems, top-N limits at most MAX_LIMIT_PARAMETER.
 */
export function auditQueryDefinition(query: QueryDefinition): void {
  const where = `query ${query.domain}/${query.name}`;
  const fail = (parameter: string, why: string) => {
    throw new QueryDefinitionError(`${where}: parameter ${parameter} ${why}`);
  };
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(query.name)) fail('(name)', 'is not kebab-case');
  const properties = (query.params.properties ?? {}) as Record<string, Schema>;
  const has = (name: string) => name in properties;
  if (has('from') !== has('to')) fail(has('from') ? 'to' : 'from', 'is missing: from and to come together');
  for (const [name, schema] of Object.entries(properties)) {
    if (isBoundedLiteralUnion(schema) || 'const' in schema) continue;
    switch (schema.type) {
      case 'string':
        if (typeof schema.maxLength !== 'number' && !Array.isArray(schema.enum) && !boundedPattern(schema))
          fail(name, 'has no maxLength');
        break;
      case 'integer':
      case 'number':
        if (name === 'from' || name === 'to') {
          if (schema.type !== 'integer') fail(name, 'must be an integer (ms since the epoch)');
          break;
        }
        if (typeof schema.maximum !== 'number') fail(name, 'has no maximum');
        if (typeof schema.minimum !== 'number') fail(name, 'has no minimum');
        if (name === 'step' && (schema.minimum as number) < 1) fail(name, 'must be at least 1 second');
        if (/^(limit|top|n)$/.test(name) && (schema.maximum as number) > MAX_LIMIT_PARAMETER)
          fail(name, `allows more than ${MAX_LIMIT_PARAMETER}`);
        break;
      case 'array':
        if (typeof schema.maxItems !== 'number') fail(name, 'has no maxItems');
        break;
      case 'boolean':
        break;
      default:
        fail(name, `has a type the gateway cannot bound (${String(schema.type ?? 'union')})`);
    }
  }
}

/**
 * The limits every query with a range obeys, whatever its own validate checks: from < to, a range
 * of at most MAX_RANGE_MS, bounds a DateTime can hold, and at most MAX_POINTS steps.
 */
/**
 * Numbers within the schema's bounds and finite: the schema check lets `1e400` (Infinity) through as
 * an integer, and Infinity in a bound parameter would reach ClickHouse.
 */
export function enforceNumberBounds(schema: TSchema, params: Record<string, unknown>): void {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  for (const [name, value] of Object.entries(params)) {
    if (typeof value !== 'number') continue;
    if (!Number.isFinite(value))
      throw new HttpError(400, 'bad_request', `${name}: must be a finite number`, name);
    const bounds = properties[name];
    if (typeof bounds?.maximum === 'number' && value > bounds.maximum)
      throw new HttpError(400, 'bad_request', `${name}: must be <= ${bounds.maximum}`, name);
    if (typeof bounds?.minimum === 'number' && value < bounds.minimum)
      throw new HttpError(400, 'bad_request', `${name}: must be >= ${bounds.minimum}`, name);
  }
}

export function enforceRangeLimits(params: Record<string, unknown>): void {
  const { from, to, step } = params;
  if (typeof from !== 'number' || typeof to !== 'number') return;
  if (from > MAX_TIME_MS) throw new HttpError(400, 'bad_request', 'from: must be before 2100-01-01', 'from');
  if (to > MAX_TIME_MS) throw new HttpError(400, 'bad_request', 'to: must be before 2100-01-01', 'to');
  if (to <= from) throw new HttpError(400, 'bad_request', 'to: must be after from', 'to');
  if (to - from > MAX_RANGE_MS)
    throw new HttpError(
      400,
      'bad_request',
      `from: range is longer than ${MAX_RANGE_MS / 86_400_000} days`,
      'from',
    );
  if (typeof step === 'number') {
    if (step <= 0) throw new HttpError(400, 'bad_request', 'step: must be positive', 'step');
    if ((to - from) / 1000 / step > MAX_POINTS)
      throw new HttpError(
        400,
        'bad_request',
        `step: too small for the range: more than ${MAX_POINTS} points`,
        'step',
      );
  }
}

/**
 * from/to rounded out to whole steps (or `alignMs`), so a board whose `now` slides by seconds
 * asks the same question until a step boundary passes: the answer is the same buckets, each whole.
 */
export function alignRange(
  params: Record<string, unknown>,
  alignMs: number | undefined,
  defaultAlignMs: number,
): Record<string, unknown> {
  const { from, to, step } = params;
  if (typeof from !== 'number' || typeof to !== 'number') return params;
  const unit = alignMs ?? (typeof step === 'number' && step > 0 ? step * 1000 : defaultAlignMs);
  if (unit <= 1) return params;
  return { ...params, from: Math.floor(from / unit) * unit, to: Math.ceil(to / unit) * unit };
}

/** Parameters in a fixed order, so the same question always has the same key. */
export function cacheKey(path: string, params: Record<string, unknown>): string {
  const keys = Object.keys(params).sort();
  return `${path}?${JSON.stringify(keys.map((k) => [k, params[k]]))}`;
}

export interface QueryRouteDeps {
  config: GatewayConfig;
  queries: QueryDefinition[];
  auth: Authenticator;
  cache: ResultCache;
  gate: WarehouseGate;
  errorResponses: Record<number, unknown>;
  now?: () => number;
}

export function registerQueryRoutes(app: FastifyInstance, deps: QueryRouteDeps): void {
  const { config, auth, cache, gate } = deps;
  const now = deps.now ?? Date.now;
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const seen = new Set<string>();
  for (const query of deps.queries) {
    auditQueryDefinition(query);
    const path = `/api/v1/${query.domain}/${query.name}`;
    if (seen.has(path)) throw new QueryDefinitionError(`query ${path} is registered twice`);
    seen.add(path);
    const cacheHints = query.cache === false ? undefined : query.cache;
    const budgetMs = Math.min(config.queryTimeoutMs, query.timeoutMs ?? Number.POSITIVE_INFINITY);

    async function answer(params: Record<string, unknown>): Promise<string> {
      let result: QueryResult;
      try {
        result = await gate.run(budgetMs, (warehouse) => query.run(params as never, { warehouse }));
      } catch (error) {
        throw asHttpError(error, budgetMs);
      }
      if (result.rows.length > config.maxResultRows) {
        throw new HttpError(
          422,
          'result_too_large',
          `the answer has ${result.rows.length} rows, more than ${config.maxResultRows}: narrow the range, raise the step or lower the limit`,
          undefined,
          { limit: 'gateway.maxResultRows' },
        );
      }
      return JSON.stringify(result);
    }

    typed.get(
      path,
      {
        schema: {
          summary: query.summary,
          description: query.description,
          tags: [query.domain],
          security: [{ bearer: [] }],
          querystring: query.params,
          response: { 200: QueryResultBody, ...deps.errorResponses },
        },
        // preValidation: after the rate limit (onRequest), before the parameters are checked.
        preValidation: async (request) => {
          auth.require(request, query.role ?? 'viewer');
        },
      },
      async (request, reply) => {
        const raw = request.query as Record<string, unknown>;
        enforceNumberBounds(query.params, raw);
        enforceRangeLimits(raw);
        const params =
          query.cache === false ? raw : alignRange(raw, cacheHints?.alignMs, config.cacheAlignMs);
        try {
          query.validate?.(params as never);
        } catch (error) {
          if (error instanceof QueryParameterError) {
            throw new HttpError(400, 'bad_request', error.message, error.parameter);
          }
          throw error;
        }
        const to = typeof params.to === 'number' ? params.to : undefined;
        const live = to === undefined || to > now() - config.cacheSettleMs;
        const ttlMs = Math.min(
          live ? config.cacheLiveTtlMs : config.cachePastTtlMs,
          cacheHints?.maxTtlMs ?? Number.POSITIVE_INFINITY,
        );
        const refresh = /\bno-cache\b/i.test(request.headers['cache-control'] ?? '');
        const result = await cache.fetch(
          cacheKey(path, params),
          { ttlMs, refresh, bypass: query.cache === false },
          () => answer(params),
        );
        const maxAge = result.expiresAt > 0 ? Math.floor((result.expiresAt - now()) / 1000) : 0;
        reply.header('x-kansoku-cache', result.outcome);
        reply.header('cache-control', maxAge > 0 ? `private, max-age=${maxAge}` : 'private, no-store');
        reply.type('application/json; charset=utf-8');
        // Already JSON: sent as it is (the 200 schema documents it; serializing again would cost a parse).
        return reply.send(result.body as never);
      },
    );
  }
}

function asHttpError(error: unknown, budgetMs: number): unknown {
  if (error instanceof HttpError) return error;
  if (error instanceof QueryParameterError) {
    return new HttpError(400, 'bad_request', error.message, error.parameter);
  }
  if (error instanceof QueryTimeoutError) {
    return new HttpError(
      504,
      'query_timeout',
      `the query did not finish within ${budgetMs} ms and was cancelled: narrow the range, raise the step or add filters`,
      undefined,
      { limit: 'gateway.queryTimeoutMs', cause: error },
    );
  }
  if (error instanceof WarehouseBusyError) {
    return new HttpError(
      503,
      'warehouse_busy',
      'too many queries are waiting for the warehouse: retry shortly',
      undefined,
      { limit: 'gateway.maxQueuedQueries', retryAfterSeconds: 1, cause: error },
    );
  }
  if (classifyWarehouseError(error) === 'overload') {
    return new HttpError(
      503,
      'warehouse_unavailable',
      'the warehouse is short of resources for this query: retry shortly or narrow the range',
      undefined,
      { retryAfterSeconds: 5, cause: error },
    );
  }
  // Anything else is a fault on our side: the error handler logs it and answers a plain 500.
  return error;
}
