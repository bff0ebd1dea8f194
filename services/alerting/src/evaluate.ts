/**
 * One evaluation of one rule: run its query over the rule's relative range, split the rows into
 * series by their label columns, reduce each series to one value and judge it against the
 * condition. For a seasonal baseline, the same query runs over the same range shifted back by whole
 * weeks (so the same hours of the week are compared), and the median of those weeks is the baseline.
 */
import { type QueryDefinition, QueryParameterError, type QueryResult, type Warehouse } from '@kansoku/kit';
import { Value } from '@sinclair/typebox/value';
import type { AlertRule, Operator, Reducer } from './rules.ts';

export const WEEK_MS = 7 * 86_400_000;
const MINUTE_MS = 60_000;

export interface SeriesVerdict {
  /** Label values of the series (from the label columns). */
  labels: Record<string, string>;
  value: number;
  baseline?: number;
  threshold?: number;
  /** Whether the condition holds. */
  active: boolean;
}

export class RuleEvaluationError extends Error {
  readonly code = 'KANSOKU_ALERT_RULE_EVALUATION';
}

export function reduce(reducer: Reducer, values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  switch (reducer) {
    case 'last':
      return values[values.length - 1];
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'max':
      return Math.max(...values);
    case 'min':
      return Math.min(...values);
  }
}

export function compare(op: Operator, value: number, bound: number): boolean {
  switch (op) {
    case '>':
      return value > bound;
    case '>=':
      return value >= bound;
    case '<':
      return value < bound;
    case '<=':
      return value <= bound;
    case '==':
      return value === bound;
    case '!=':
      return value !== bound;
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The rule's range at `now`: minute-aligned, ending `offset` before now. */
export function ruleRange(
  rule: Pick<AlertRule, 'rangeMs' | 'offsetMs'>,
  now: number,
): { from: number; to: number } {
  const to = Math.floor((now - rule.offsetMs) / MINUTE_MS) * MINUTE_MS;
  return { from: to - rule.rangeMs, to };
}

function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );
}

/** Reduced value per series of one query result. */
export function reduceSeries(
  rule: Pick<AlertRule, 'by' | 'alert'> & { condition: { value: string; reducer: Reducer } },
  result: QueryResult,
): Map<string, { labels: Record<string, string>; value: number }> {
  const { value: column, reducer } = rule.condition;
  if (!result.columns.some((c) => c.name === column)) {
    throw new RuleEvaluationError(
      `value column ${column} is not in the result (columns: ${result.columns.map((c) => c.name).join(', ')})`,
    );
  }
  const labelColumns = rule.by ?? result.columns.filter((c) => c.type === 'string').map((c) => c.name);
  for (const name of labelColumns) {
    if (!result.columns.some((c) => c.name === name)) {
      throw new RuleEvaluationError(`label column ${name} (by) is not in the result`);
    }
  }
  const timeColumn = result.columns.find((c) => c.type === 'time')?.name;
  const rows = timeColumn
    ? [...result.rows].sort((a, b) => Number(a[timeColumn] ?? 0) - Number(b[timeColumn] ?? 0))
    : result.rows;
  const groups = new Map<string, { labels: Record<string, string>; values: number[] }>();
  for (const row of rows) {
    const raw = row[column];
    if (raw === null || raw === undefined) continue;
    const v = Number(raw);
    if (!Number.isFinite(v)) continue;
    const labels: Record<string, string> = {};
    for (const name of labelColumns) labels[name] = String(row[name] ?? '');
    const key = seriesKey(labels);
    let group = groups.get(key);
    if (!group) {
      group = { labels, values: [] };
      groups.set(key, group);
    }
    group.values.push(v);
  }
  const out = new Map<string, { labels: Record<string, string>; value: number }>();
  for (const [key, group] of groups) {
    const value = reduce(reducer, group.values);
    if (value !== undefined) out.set(key, { labels: group.labels, value });
  }
  return out;
}

async function runQuery(
  query: QueryDefinition,
  rule: AlertRule,
  range: { from: number; to: number },
  warehouse: Warehouse,
): Promise<QueryResult> {
  const params = Value.Convert(
    query.params,
    Value.Default(query.params, Value.Clone({ ...rule.params, ...range })),
  ) as Record<string, unknown>;
  try {
    query.validate?.(params as never);
  } catch (error) {
    if (error instanceof QueryParameterError) throw new RuleEvaluationError(`parameter ${error.message}`);
    throw error;
  }
  return query.run(params as never, { warehouse });
}

export async function evaluateRule(
  rule: AlertRule,
  query: QueryDefinition,
  deps: { warehouse: Warehouse; now: number },
): Promise<SeriesVerdict[]> {
  const range = ruleRange(rule, deps.now);
  const current = reduceSeries(rule, await runQuery(query, rule, range, deps.warehouse));
  const condition = rule.condition;
  if (condition.kind === 'threshold') {
    return [...current.values()].map((s) => ({
      labels: s.labels,
      value: s.value,
      threshold: condition.bound,
      active: compare(condition.op, s.value, condition.bound),
    }));
  }
  // Baseline: the same range k weeks back, k = 1…weeks, one query each (sequential: they share
  // the warehouse with the processors and the gateway).
  const past = new Map<string, { labels: Record<string, string>; values: number[] }>();
  for (let k = 1; k <= condition.weeks; k++) {
    const shifted = { from: range.from - k * WEEK_MS, to: range.to - k * WEEK_MS };
    const week = reduceSeries(rule, await runQuery(query, rule, shifted, deps.warehouse));
    for (const [key, s] of week) {
      const entry = past.get(key) ?? { labels: s.labels, values: [] };
      entry.values.push(s.value);
      past.set(key, entry);
    }
  }
  const verdicts: SeriesVerdict[] = [];
  const keys = new Set([...current.keys(), ...past.keys()]);
  for (const key of keys) {
    const history = past.get(key);
    const now = current.get(key);
    if (!history || history.values.length < condition.minWeeks) continue;
    const baseline = median(history.values);
    if (baseline < condition.minimum) continue;
    // A series that vanished entirely has no rows now: its value is 0 (the loudest case of "below").
    const value = now?.value ?? 0;
    const threshold = baseline * condition.factor;
    verdicts.push({
      labels: now?.labels ?? history.labels,
      value,
      baseline,
      threshold,
      active: condition.direction === 'below' ? value < threshold : value > threshold,
    });
  }
  return verdicts;
}
