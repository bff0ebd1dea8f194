/**
 * Rule files: YAML in the manner of Prometheus rule files, over the gateway's named queries instead of
 * PromQL. Every key is checked when the files load; a bad file stops startup with an error naming the
 * file, the rule and the key.
 *
 * ```yaml
 * groups:
 *   - name: flows-health
 *     interval: 1m                   # how often the group's rules are evaluated
 *     rules:
 *       - alert: FlowsAbsent           # alert name (unique in its group)
 *         query: flows/totals          # <domain>/<name> of a gateway query
 *         params: {}                   # its parameters, except from/to which the engine sets
 *         range: 5m                    # [now - offset - range, now - offset), aligned down to the minute
 *         offset: 1m                   # optional: skip the minute still being written
 *         by: [exporter]               # optional: label columns of a series (default: every string column)
 *         condition:
 *           threshold: { value: flows, reducer: last, op: '<', bound: 1 }
 *           # or
 *           baseline: { value: bps, reducer: avg, direction: below, factor: 0.5, minimum: 1e6,
 *                       weeks: 4, min_weeks: 2 }
 *         for: 2m                      # condition must hold this long before firing (pending meanwhile)
 *         keep_firing_for: 5m          # keep firing this long after the condition stops holding
 *         labels: { severity: critical, team: noc }
 *         annotations:
 *           summary: 'No flow records for {{ $labels.exporter }}'
 *           description: '{{ $value | humanize }} flows over 5 minutes'
 * ```
 */
import { readFileSync } from 'node:fs';
import { KansokuError, type QueryDefinition, QueryParameterError } from '@kansoku/kit';
import { Value } from '@sinclair/typebox/value';
import { isMap, isSeq, parseDocument } from 'yaml';
import { formatDuration, parseDuration } from './duration.ts';
import { type CompiledTemplate, compileTemplate, TemplateError } from './template.ts';

export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const REDUCERS = ['last', 'avg', 'max', 'min', 'sum'] as const;
export type Reducer = (typeof REDUCERS)[number];
export const OPERATORS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Operator = (typeof OPERATORS)[number];

export interface ThresholdCondition {
  kind: 'threshold';
  /** Column of the query's rows holding the measured value. */
  value: string;
  reducer: Reducer;
  op: Operator;
  bound: number;
}

export interface BaselineCondition {
  kind: 'baseline';
  value: string;
  reducer: Reducer;
  /** below: fires when value < factor × baseline; above: when value > factor × baseline. */
  direction: 'below' | 'above';
  factor: number;
  /** A baseline smaller than this is not judged (too little traffic to say anything). */
  minimum: number;
  /** Past weeks compared: the same range shifted by 1…weeks weeks (same hours of the week). */
  weeks: number;
  /** Weeks with data needed for a baseline. */
  minWeeks: number;
}

export type Condition = ThresholdCondition | BaselineCondition;

export interface AlertRule {
  file: string;
  group: string;
  alert: string;
  /** `<domain>/<name>` of the query. */
  query: string;
  params: Record<string, unknown>;
  rangeMs: number;
  offsetMs: number;
  /** Label columns; undefined means every string column of the result. */
  by?: string[];
  condition: Condition;
  forMs: number;
  keepFiringForMs: number;
  severity: Severity;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  labelTemplates: Record<string, CompiledTemplate>;
  annotationTemplates: Record<string, CompiledTemplate>;
}

export interface RuleGroup {
  file: string;
  name: string;
  intervalMs: number;
  rules: AlertRule[];
}

/** A rule file that cannot be used; `file`, `rule` and `key` say exactly where. */
export class RuleFileError extends KansokuError {
  readonly file: string;
  readonly rule: string | undefined;
  readonly key: string | undefined;

  constructor(file: string, where: { rule?: string; key?: string }, message: string) {
    const place = [where.rule ? `rule ${where.rule}` : '', where.key ? `key ${where.key}` : '']
      .filter((s) => s)
      .join(', ');
    super('KANSOKU_ALERT_RULES_INVALID', `${file}${place ? `: ${place}` : ''}: ${message}`);
    this.file = file;
    this.rule = where.rule;
    this.key = where.key;
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const QUERY_NAME = /^[a-z0-9-]+\/[a-z0-9-]+$/;
const MIN_INTERVAL_MS = 1000;
/** Longest range a rule may read (ranges shifted by weeks for a baseline stay inside the rollups). */
const MAX_RANGE_MS = 7 * 86_400_000;
const MAX_BASELINE_WEEKS = 12;

type Fail = (key: string | undefined, message: string) => never;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(fail: Fail, prefix: string, value: Record<string, unknown>, known: string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      fail(`${prefix}${key}`, `unknown key (known: ${known.join(', ')})`);
    }
  }
}

function durationOf(fail: Fail, key: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' && value !== 0) fail(key, 'must be a duration like 30s, 5m, 1h');
  const ms = parseDuration(String(value));
  if (ms === undefined) fail(key, `'${String(value)}' is not a duration (like 30s, 5m, 1h30m)`);
  return ms as number;
}

function oneOf<T extends string>(fail: Fail, key: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    fail(key, `must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function numberOf(
  fail: Fail,
  key: string,
  value: unknown,
  options: { min?: number; positive?: boolean } = {},
) {
  if (typeof value !== 'number' || !Number.isFinite(value))
    fail(key, `must be a number; got ${JSON.stringify(value)}`);
  const n = value as number;
  if (options.min !== undefined && n < options.min) fail(key, `must be at least ${options.min}`);
  if (options.positive && n <= 0) fail(key, 'must be above 0');
  return n;
}

function stringMap(fail: Fail, key: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!isRecord(value)) fail(key, 'must be a mapping of names to text');
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(value as Record<string, unknown>)) {
    if (!LABEL_NAME.test(name)) fail(`${key}.${name}`, 'is not a valid name ([A-Za-z_][A-Za-z0-9_]*)');
    if (typeof text !== 'string' && typeof text !== 'number' && typeof text !== 'boolean') {
      fail(`${key}.${name}`, 'must be text');
    }
    out[name] = String(text);
  }
  return out;
}

function compileAll(
  fail: Fail,
  key: string,
  texts: Record<string, string>,
): Record<string, CompiledTemplate> {
  const out: Record<string, CompiledTemplate> = {};
  for (const [name, text] of Object.entries(texts)) {
    try {
      out[name] = compileTemplate(text);
    } catch (error) {
      if (error instanceof TemplateError) fail(`${key}.${name}`, `bad template: ${error.message}`);
      throw error;
    }
  }
  return out;
}

function parseCondition(fail: Fail, value: unknown): Condition {
  if (!isRecord(value)) fail('condition', 'must be a mapping with threshold or baseline');
  const c = value as Record<string, unknown>;
  checkKeys(fail, 'condition.', c, ['threshold', 'baseline']);
  const kinds = Object.keys(c);
  if (kinds.length !== 1) fail('condition', 'needs exactly one of threshold, baseline');
  if (c.threshold !== undefined) {
    const k = 'condition.threshold';
    if (!isRecord(c.threshold)) fail(k, 'must be a mapping');
    const t = c.threshold as Record<string, unknown>;
    checkKeys(fail, `${k}.`, t, ['value', 'reducer', 'op', 'bound']);
    if (typeof t.value !== 'string' || t.value === '') fail(`${k}.value`, 'must name the value column');
    return {
      kind: 'threshold',
      value: t.value as string,
      reducer: t.reducer === undefined ? 'last' : oneOf(fail, `${k}.reducer`, t.reducer, REDUCERS),
      op: oneOf(fail, `${k}.op`, t.op, OPERATORS),
      bound: numberOf(fail, `${k}.bound`, t.bound),
    };
  }
  const k = 'condition.baseline';
  if (!isRecord(c.baseline)) fail(k, 'must be a mapping');
  const b = c.baseline as Record<string, unknown>;
  checkKeys(fail, `${k}.`, b, ['value', 'reducer', 'direction', 'factor', 'minimum', 'weeks', 'min_weeks']);
  if (typeof b.value !== 'string' || b.value === '') fail(`${k}.value`, 'must name the value column');
  const direction = oneOf(fail, `${k}.direction`, b.direction, ['below', 'above'] as const);
  const factor = numberOf(fail, `${k}.factor`, b.factor, { positive: true });
  if (direction === 'below' && factor >= 1) fail(`${k}.factor`, 'must be below 1 for direction below');
  if (direction === 'above' && factor <= 1) fail(`${k}.factor`, 'must be above 1 for direction above');
  const weeks = b.weeks === undefined ? 4 : numberOf(fail, `${k}.weeks`, b.weeks, { min: 1 });
  if (!Number.isInteger(weeks) || weeks > MAX_BASELINE_WEEKS) {
    fail(`${k}.weeks`, `must be a whole number from 1 to ${MAX_BASELINE_WEEKS}`);
  }
  const minWeeks =
    b.min_weeks === undefined
      ? Math.min(2, weeks)
      : numberOf(fail, `${k}.min_weeks`, b.min_weeks, { min: 1 });
  if (!Number.isInteger(minWeeks) || minWeeks > weeks)
    fail(`${k}.min_weeks`, `must be a whole number from 1 to weeks (${weeks})`);
  return {
    kind: 'baseline',
    value: b.value as string,
    reducer: b.reducer === undefined ? 'avg' : oneOf(fail, `${k}.reducer`, b.reducer, REDUCERS),
    direction,
    factor,
    minimum: b.minimum === undefined ? 0 : numberOf(fail, `${k}.minimum`, b.minimum, { min: 0 }),
    weeks,
    minWeeks,
  };
}

/** The query parameters a rule sends, checked against the query's own schema and validation. */
function checkParams(
  fail: Fail,
  query: QueryDefinition,
  params: Record<string, unknown>,
  rangeMs: number,
): void {
  for (const reserved of ['from', 'to']) {
    if (reserved in params) fail(`params.${reserved}`, 'is set by the engine from range and offset');
  }
  const to = Math.floor(Date.now() / 60_000) * 60_000;
  const sample = { ...params, from: to - rangeMs, to };
  const properties = (query.params.properties ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(params)) {
    if (!(key in properties))
      fail(
        `params.${key}`,
        `${query.domain}/${query.name} has no such parameter (it has: ${
          Object.keys(properties)
            .filter((p) => p !== 'from' && p !== 'to')
            .join(', ') || 'none'
        })`,
      );
  }
  const withDefaults = Value.Convert(query.params, Value.Default(query.params, Value.Clone(sample)));
  const error = Value.Errors(query.params, withDefaults).First();
  if (error) {
    const path = error.path.replace(/^\//, '').replaceAll('/', '.');
    fail(`params.${path}`, error.message);
  }
  try {
    query.validate?.(withDefaults as never);
  } catch (e) {
    if (e instanceof QueryParameterError) fail(`params.${e.parameter}`, e.message);
    throw e;
  }
}

function parseRule(
  file: string,
  group: string,
  index: number,
  raw: unknown,
  queries: Map<string, QueryDefinition>,
): AlertRule {
  const name = isRecord(raw) && typeof raw.alert === 'string' ? raw.alert : `#${index + 1} of group ${group}`;
  const fail: Fail = (key, message) => {
    throw new RuleFileError(file, { rule: name, ...(key ? { key } : {}) }, message);
  };
  if (!isRecord(raw)) fail(undefined, 'must be a mapping');
  const r = raw as Record<string, unknown>;
  checkKeys(fail, '', r, [
    'alert',
    'query',
    'params',
    'range',
    'offset',
    'by',
    'condition',
    'for',
    'keep_firing_for',
    'labels',
    'annotations',
  ]);
  if (typeof r.alert !== 'string' || !NAME.test(r.alert))
    fail('alert', 'must be a name like FlowsAbsent ([A-Za-z_][A-Za-z0-9_]*)');
  if (typeof r.query !== 'string' || !QUERY_NAME.test(r.query))
    fail('query', 'must be <domain>/<name>, e.g. flows/totals');
  const query = queries.get(r.query as string);
  if (!query) {
    fail('query', `no query ${String(r.query)} (known: ${[...queries.keys()].sort().join(', ')})`);
  }
  const rangeMs = durationOf(fail, 'range', r.range);
  if (rangeMs < 60_000 || rangeMs > MAX_RANGE_MS)
    fail('range', `must be from 1m to ${formatDuration(MAX_RANGE_MS)}`);
  const offsetMs = durationOf(fail, 'offset', r.offset, 0);
  if (r.params !== undefined && !isRecord(r.params)) fail('params', 'must be a mapping');
  const params = (r.params as Record<string, unknown> | undefined) ?? {};
  checkParams(fail, query as QueryDefinition, params, rangeMs);
  let by: string[] | undefined;
  if (r.by !== undefined) {
    if (!Array.isArray(r.by) || r.by.some((c) => typeof c !== 'string' || !LABEL_NAME.test(c))) {
      fail('by', 'must be a list of column names');
    }
    by = r.by as string[];
  }
  const condition = parseCondition(fail, r.condition);
  const labels = stringMap(fail, 'labels', r.labels);
  if (labels.severity === undefined) fail('labels.severity', `is required (${SEVERITIES.join(', ')})`);
  const severity = oneOf(fail, 'labels.severity', labels.severity, SEVERITIES);
  if ('alertname' in labels) fail('labels.alertname', 'is set from alert');
  const annotations = stringMap(fail, 'annotations', r.annotations);
  if (!annotations.summary) fail('annotations.summary', 'is required: it is what the pager shows');
  const labelTemplates = compileAll(fail, 'labels', labels);
  const annotationTemplates = compileAll(fail, 'annotations', annotations);
  return {
    file,
    group,
    alert: r.alert as string,
    query: r.query as string,
    params,
    rangeMs,
    offsetMs,
    ...(by ? { by } : {}),
    condition,
    forMs: durationOf(fail, 'for', r.for, 0),
    keepFiringForMs: durationOf(fail, 'keep_firing_for', r.keep_firing_for, 0),
    severity,
    labels,
    annotations,
    labelTemplates,
    annotationTemplates,
  };
}

/** Parses one rule file's text; `file` names it in errors. */
export function parseRuleFile(file: string, text: string, catalog: readonly QueryDefinition[]): RuleGroup[] {
  const queries = new Map(catalog.map((q) => [`${q.domain}/${q.name}`, q]));
  const document = parseDocument(text, { uniqueKeys: true });
  const syntax = document.errors[0];
  if (syntax) throw new RuleFileError(file, {}, `not valid YAML: ${syntax.message.split('\n')[0]}`);
  const top = document.contents;
  if (!isMap(top)) throw new RuleFileError(file, {}, 'must be a mapping with a groups list');
  const root = document.toJS() as Record<string, unknown>;
  const failTop: Fail = (key, message) => {
    throw new RuleFileError(file, key ? { key } : {}, message);
  };
  checkKeys(failTop, '', root, ['groups']);
  if (!isSeq(top.get('groups'))) failTop('groups', 'must be a list of groups');
  const groups: RuleGroup[] = [];
  const groupNames = new Set<string>();
  (root.groups as unknown[]).forEach((rawGroup, gi) => {
    const where = isRecord(rawGroup) && typeof rawGroup.name === 'string' ? rawGroup.name : `#${gi + 1}`;
    const fail: Fail = (key, message) => {
      throw new RuleFileError(file, { key: `groups[${where}]${key ? `.${key}` : ''}` }, message);
    };
    if (!isRecord(rawGroup)) fail(undefined, 'must be a mapping');
    const g = rawGroup as Record<string, unknown>;
    checkKeys(fail, '', g, ['name', 'interval', 'rules']);
    if (typeof g.name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(g.name))
      fail('name', 'must be a name ([A-Za-z0-9_.-]+)');
    if (groupNames.has(g.name as string)) fail('name', 'is used by another group of this file');
    groupNames.add(g.name as string);
    const intervalMs = durationOf(fail, 'interval', g.interval, 60_000);
    if (intervalMs < MIN_INTERVAL_MS) fail('interval', 'must be at least 1s');
    if (!Array.isArray(g.rules) || g.rules.length === 0) fail('rules', 'must be a non-empty list');
    const rules = (g.rules as unknown[]).map((raw, i) => parseRule(file, g.name as string, i, raw, queries));
    const seen = new Set<string>();
    for (const rule of rules) {
      if (seen.has(rule.alert)) {
        throw new RuleFileError(file, { rule: rule.alert, key: 'alert' }, `is used twice in group ${g.name}`);
      }
      seen.add(rule.alert);
    }
    groups.push({ file, name: g.name as string, intervalMs, rules });
  });
  return groups;
}

/** Loads every rule file; group names must be unique across files. */
export function loadRuleFiles(paths: readonly string[], catalog: readonly QueryDefinition[]): RuleGroup[] {
  const groups: RuleGroup[] = [];
  const owners = new Map<string, string>();
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new RuleFileError(path, {}, `cannot read: ${(error as Error).message}`);
    }
    for (const group of parseRuleFile(path, text, catalog)) {
      const owner = owners.get(group.name);
      if (owner) {
        throw new RuleFileError(
          path,
          { key: `groups[${group.name}].name` },
          `group ${group.name} is also defined in ${owner}`,
        );
      }
      owners.set(group.name, path);
      groups.push(group);
    }
  }
  return groups;
}
