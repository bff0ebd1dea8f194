/**
 * The route of each registered query: `/api/v1/<domain>/<name>`. On every request, in order:
 * the role check (onRequest), the parameter schema (fastify), the gateway's own limits on range,
 * step and points (whatever the query's validate does), the range aligned to the step, the query's
 * validate, then the cache and single flight, then the warehouse through the gate (slots, queue,
 * time budget). Each definition is audited when registered: a top-N limit or step without bounds
 * stops startup; every other parameter the gateway bounds itself.
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

/** Longest string and array the gateway takes for a parameter whose schema sets no bound. */
export const DEFAULT_MAX_STRING = 1024;
export const DEFAULT_MAX_ITEMS = 100;
const LIMIT_PARAMETER = /^(limit|top|n|count|size)$/;

/**
 * What a definition must bound itself, checked when it is registered (a failure stops startup and
 * names the query and parameter): top-N limits (a maximum of at most MAX_LIMIT_PARAMETER), the step
 * (1 s at least, and a maximum), from and to as integers that come together. Strings, arrays and
 * other numbers the gateway bounds itself at request time (enforceParameterBounds).
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
    const numeric = schema.type === 'integer' || schema.type === 'number';
    if ((name === 'from' || name === 'to') && schema.type !== 'integer')
      fail(name, 'must be an integer (ms since the epoch)');
    if (name === 'step') {
      if (!numeric || typeof schema.maximum !== 'number') fail(name, 'must be a number with a maximum');
      if (typeof schema.minimum !== 'number' || schema.minimum < 1) fail(name, 'must be at least 1 second');
    }
    if (LIMIT_PARAMETER.test(name) && numeric) {
      if (typeof schema.maximum !== 'number') fail(name, 'has no maximum');
      if ((schema.maximum as number) > MAX_LIMIT_PARAMETER)
        fail(name, `allows more than ${MAX_LIMIT_PARAMETER}`);
    }
  }
}

/**
 * Every parameter within bounds before a query runs: numbers finite and within the schema's
 * minimum/maximum (the schema check lets `1e400` through as an integer: Infinity, which would reach
 * ClickHouse), strings and arrays no longer than the schema allows or, without a bound there,
 * DEFAULT_MAX_STRING characters and DEFAULT_MAX_ITEMS items.
 */
export function enforceParameterBounds(schema: TSchema, params: Record<string, unknown>): void {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const refuse = (name: string, why: string) => {
    throw new HttpError(400, 'bad_request', `${name}: ${why}`, name);
  };
  for (const [name, value] of Object.entries(params)) {
    const bounds = properties[name];
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) refuse(name, 'must be a finite number');
      // Beyond 2^53 an integer has already lost digits in parsing: refuse it rather than round it.
      if (bounds?.type === 'integer' && !Number.isSafeInteger(value)) refuse(name, 'is too large');
      if (typeof bounds?.maximum === 'number' && value > bounds.maximum)
        refuse(name, `must be <= ${bounds.maximum}`);
      if (typeof bounds?.minimum === 'number' && value < bounds.minimum)
        refuse(name, `must be >= ${bounds.minimum}`);
    } else if (typeof value === 'string') {
      const most = typeof bounds?.maxLength === 'number' ? bounds.maxLength : DEFAULT_MAX_STRING;
      if (value.length > most) refuse(name, `must be at most ${most} characters`);
    } else if (Array.isArray(value)) {
      const most = typeof bounds?.maxItems === 'number' ? bounds.maxItems : DEFAULT_MAX_ITEMS;
      if (value.length > most) refuse(name, `must have at most ${most} values`);
      for (const item of value) {
        if (typeof item === 'number' && !Number.isFinite(item)) refuse(name, 'must hold finite numbers');
        if (typeof item === 'string' && item.length > DEFAULT_MAX_STRING)
          refuse(name, `values must be at most ${DEFAULT_MAX_STRING} characters`);
      }
    }
  }
}

/**
 * The limits every query with a range obeys, whatever its own validate checks: from < to, a range
 * of at most MAX_RANGE_MS, bounds a DateTime can hold, and at most MAX_POINTS steps.
 */
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

/** Alignment units for queries without a step: the smallest that moves the range by at most 0.1%. */
const NICE_UNITS_MS = [60_000, 300_000, 900_000, 3_600_000];

/** The unit from/to are rounded to: the query's hint, the step, or a nice unit for the range. */
export function alignmentUnit(
  params: Record<string, unknown>,
  alignMs: number | undefined,
  minimumMs: number,
): number {
  if (alignMs !== undefined) return alignMs;
  const { from, to, step } = params;
  if (typeof step === 'number' && step > 0) return step * 1000;
  if (typeof from !== 'number' || typeof to !== 'number') return minimumMs;
  const wanted = (to - from) / 1000;
  const unit = NICE_UNITS_MS.find((u) => u >= wanted) ?? NICE_UNITS_MS[NICE_UNITS_MS.length - 1]!;
  return Math.max(minimumMs, unit);
}

/**
 * from/to rounded out to whole units, so a board whose `now` slides by seconds asks the same
 * question until a unit boundary passes: the answer is whole buckets. The end is never later than
 * the last boundary before now: the still-filling bucket is left out (it would show as a dip) and no
 * range reaches into the future (where time-of-day averages would count seconds not yet lived).
 * A range that ends up shorter than a unit keeps one unit.
 */
export function alignRange(
  params: Record<string, unknown>,
  unit: number,
  nowMs: number,
): Record<string, unknown> {
  const { from, to } = params;
  if (typeof from !== 'number' || typeof to !== 'number' || unit <= 1) return params;
  const alignedFrom = Math.floor(from / unit) * unit;
  const ceiled = Math.ceil(to / unit) * unit;
  const lastBoundary = Math.floor(nowMs / unit) * unit;
  const alignedTo = Math.max(Math.min(ceiled, Math.max(lastBoundary, alignedFrom)), alignedFrom + unit);
  return { ...params, from: alignedFrom, to: alignedTo };
}

/**
 * How long an answer is kept. A closed past range (ended before the settle time) cannot change:
 * cachePastTtlMs. A live one is kept for a sixth of its resolution, between cacheLiveTtlMs and
 * cacheLiveMaxTtlMs: a 1-minute chart for 10 s, a 30-day chart of hours for a minute.
 */
export function answerLifetime(
  config: Pick<GatewayConfig, 'cacheSettleMs' | 'cacheLiveTtlMs' | 'cacheLiveMaxTtlMs' | 'cachePastTtlMs'>,
  to: number | undefined,
  unit: number,
  nowMs: number,
): number {
  if (to !== undefined && to <= nowMs - config.cacheSettleMs) return config.cachePastTtlMs;
  return Math.min(config.cacheLiveMaxTtlMs, Math.max(config.cacheLiveTtlMs, Math.floor(unit / 6)));
}

/**
 * The query's own parameters in a fixed order, so the same question always has the same key
 * (parameters the query does not declare, e.g. a cache-busting `_=…`, are not part of it).
 */
export function cacheKey(path: string, schema: TSchema, params: Record<string, unknown>): string {
  const declared = (schema.properties ?? {}) as Record<string, unknown>;
  const keys = Object.keys(params)
    .filter((k) => k in declared)
    .sort();
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
        enforceParameterBounds(query.params, raw);
        enforceRangeLimits(raw);
        const unit = alignmentUnit(raw, cacheHints?.alignMs, config.cacheAlignMs);
        const params = query.cache === false ? raw : alignRange(raw, unit, now());
        try {
          query.validate?.(params as never);
        } catch (error) {
          if (error instanceof QueryParameterError) {
            throw new HttpError(400, 'bad_request', error.message, error.parameter);
          }
          throw error;
        }
        const to = typeof params.to === 'number' ? params.to : undefined;
        const ttlMs = Math.min(
          answerLifetime(config, to, unit, now()),
          cacheHints?.maxTtlMs ?? Number.POSITIVE_INFINITY,
        );
        const refresh = /\bno-cache\b/i.test(request.headers['cache-control'] ?? '');
        // A live window that just slid past a boundary: the previous window's answer may stand in.
        const previousKey =
          config.cacheServeStale && to !== undefined && to > now() - config.cacheSettleMs - unit
            ? cacheKey(path, query.params, {
                ...params,
                from: (params.from as number) - unit,
                to: to - unit,
              })
            : undefined;
        const result = await cache.fetch(
          cacheKey(path, query.params, params),
          {
            ttlMs,
            staleMs: config.cacheServeStale ? ttlMs : 0,
            refresh,
            bypass: query.cache === false,
            ...(previousKey ? { previousKey } : {}),
          },
          () => answer(params),
        );
        const maxAge = result.expiresAt > 0 ? Math.floor((result.expiresAt - now()) / 1000) : 0;
        reply.header('x-kansoku-cache', result.outcome);
        reply.header(
          'cache-control',
          maxAge > 0
            ? `private, max-age=${maxAge}`
            : result.outcome === 'stale'
              ? 'private, max-age=0'
              : 'private, no-store',
        );
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
