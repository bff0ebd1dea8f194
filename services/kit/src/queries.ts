/**
 * The registration interface between domain packages and the query gateway. A domain describes
 * each named query (typed parameters, the role it needs, and how to run it against the
 * warehouse); the gateway turns it into a validated, documented HTTP route. SQL takes parameters
 * only as `{name:Type}` bindings, never by string building.
 */
import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';
import type { Warehouse } from './warehouse/warehouse.ts';

export type QueryRole = 'viewer' | 'operator' | 'admin';

export interface QueryColumn {
  name: string;
  type: 'time' | 'number' | 'string';
  /** Grafana unit id, e.g. bytes, bps, pps, percent. */
  unit?: string;
}

export interface QueryResult {
  columns: QueryColumn[];
  /** Time columns are milliseconds since the epoch, as Grafana's Infinity datasource reads them. */
  rows: Record<string, string | number | null>[];
}

export interface QueryContext {
  warehouse: Warehouse;
}

export interface QueryDefinition<P extends TObject = TObject> {
  domain: string;
  /** kebab-case; the route is /api/v1/<domain>/<name>. */
  name: string;
  summary: string;
  description: string;
  params: P;
  role?: QueryRole;
  /**
   * Gateway result cache: false for a query whose answer must always be fresh; alignMs overrides how
   * far from/to are rounded (default: the step, or the gateway's cacheAlignMs without one); maxTtlMs
   * caps how long a result is kept. Absent: the gateway's defaults.
   */
  cache?: false | { alignMs?: number; maxTtlMs?: number };
  /** A tighter warehouse time budget than the gateway's queryTimeoutMs, in ms. */
  timeoutMs?: number;
  /** Extra checks the schema cannot express (from < to); throws QueryParameterError. */
  validate?(params: Static<P>): void;
  run(params: Static<P>, context: QueryContext): Promise<QueryResult>;
}

export function defineQuery<P extends TObject>(definition: QueryDefinition<P>): QueryDefinition {
  return definition as unknown as QueryDefinition;
}

export class QueryParameterError extends Error {
  readonly parameter: string;

  constructor(parameter: string, message: string) {
    super(`${parameter}: ${message}`);
    this.parameter = parameter;
  }
}

/** Shared range parameters: epoch milliseconds (what Grafana sends as ${__from}/${__to}) and a step. */
export const TimeRangeParams = {
  from: Type.Integer({ minimum: 0, description: 'Start of the range, ms since the epoch (inclusive)' }),
  to: Type.Integer({ minimum: 0, description: 'End of the range, ms since the epoch (exclusive)' }),
  step: Type.Integer({
    minimum: 60,
    maximum: 86_400 * 7,
    default: 60,
    description: 'Bucket size in seconds',
  }),
} satisfies Record<string, TSchema>;

export const MAX_POINTS = 11_000;
export const MAX_RANGE_MS = 400 * 86_400_000;

export function validateTimeRange(p: { from: number; to: number; step: number }): void {
  if (p.to <= p.from) throw new QueryParameterError('to', 'must be after from');
  if (p.to - p.from > MAX_RANGE_MS) throw new QueryParameterError('from', 'range is longer than 400 days');
  if ((p.to - p.from) / 1000 / p.step > MAX_POINTS) {
    throw new QueryParameterError('step', `too small for the range: more than ${MAX_POINTS} points`);
  }
}
