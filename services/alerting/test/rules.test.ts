import { fileURLToPath } from 'node:url';
import { defineQuery, type QueryDefinition, QueryParameterError, TimeRangeParams } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { flowsQueries } from '../../flows/src/queries.ts';
import { parseDuration } from '../src/duration.ts';
import { loadRuleFiles, parseRuleFile, RuleFileError } from '../src/rules.ts';

const totals = defineQuery({
  domain: 'test',
  name: 'totals',
  summary: '',
  description: '',
  params: Type.Object({
    from: TimeRangeParams.from,
    to: TimeRangeParams.to,
    exporter: Type.Optional(Type.String({ pattern: '^[0-9.]*$' })),
    limit: Type.Integer({ minimum: 1, maximum: 10, default: 5 }),
  }),
  validate(p) {
    if (p.exporter === '0.0.0.0') throw new QueryParameterError('exporter', 'is not a real exporter');
  },
  run: async () => ({ columns: [], rows: [] }),
});
const catalog: QueryDefinition[] = [totals];

const good = `
groups:
  - name: g
    interval: 30s
    rules:
      - alert: NoFlows
        query: test/totals
        params: { limit: 3 }
        range: 5m
        condition:
          threshold: { value: flows, op: '<', bound: 1 }
        for: 2m
        keep_firing_for: 1m30s
        labels: { severity: critical, team: noc }
        annotations:
          summary: 'No flows from {{ $labels.exporter }}: {{ $value | humanize }}'
`;

function errorOf(text: string): RuleFileError {
  try {
    parseRuleFile('rules.yaml', text, catalog);
  } catch (error) {
    if (error instanceof RuleFileError) return error;
    throw error;
  }
  throw new Error('no error');
}

/** The good file with one line replaced. */
function variant(from: string, to: string): string {
  if (!good.includes(from)) throw new Error(`test bug: ${from} not in the good file`);
  return good.replace(from, to);
}

describe('rule files', () => {
  it('parses a good file with defaults', () => {
    const [group] = parseRuleFile('rules.yaml', good, catalog);
    expect(group?.intervalMs).toBe(30_000);
    const rule = group?.rules[0];
    expect(rule).toMatchObject({
      alert: 'NoFlows',
      query: 'test/totals',
      params: { limit: 3 },
      rangeMs: 300_000,
      offsetMs: 0,
      forMs: 120_000,
      keepFiringForMs: 90_000,
      severity: 'critical',
      condition: { kind: 'threshold', value: 'flows', reducer: 'last', op: '<', bound: 1 },
    });
    expect(rule?.annotationTemplates.summary?.({ labels: { exporter: '192.0.2.1' }, value: 1234 })).toBe(
      'No flows from 192.0.2.1: 1.23k',
    );
  });

  it.each([
    ['severity: critical', 'severity: urgent', 'labels.severity', 'must be one of critical, warning, info'],
    ['labels: { severity: critical, team: noc }', 'labels: { team: noc }', 'labels.severity', 'is required'],
    ["op: '<'", "op: '=<'", 'condition.threshold.op', 'must be one of'],
    ['range: 5m', 'range: 5 minutes', 'range', 'is not a duration'],
    ['for: 2m', 'for: 2x', 'for', 'is not a duration'],
    ['query: test/totals', 'query: test/nope', 'query', 'no query test/nope (known: test/totals)'],
    ['params: { limit: 3 }', 'params: { limit: 30 }', 'params.limit', 'less or equal to 10'],
    ['params: { limit: 3 }', 'params: { lmit: 3 }', 'params.lmit', 'has no such parameter'],
    ['params: { limit: 3 }', 'params: { from: 3 }', 'params.from', 'set by the engine'],
    ['params: { limit: 3 }', "params: { exporter: '0.0.0.0' }", 'params.exporter', 'is not a real exporter'],
    ['keep_firing_for: 1m30s', 'keep_firing: 1m', 'keep_firing', 'unknown key'],
    ["summary: 'No", "summary: '{{ $vlue }} No", 'annotations.summary', 'not a known expression'],
    ['humanize }}', 'humanise }}', 'annotations.summary', 'unknown function humanise'],
    ["summary: 'No", "summary: '{{ $value No", 'annotations.summary', '"{{" without "}}"'],
    [
      "threshold: { value: flows, op: '<', bound: 1 }",
      'baseline: { value: bps, direction: below, factor: 2 }',
      'condition.baseline.factor',
      'must be below 1',
    ],
    [
      "threshold: { value: flows, op: '<', bound: 1 }",
      'baseline: { value: bps, direction: below, factor: 0.5, weeks: 2, min_weeks: 3 }',
      'condition.baseline.min_weeks',
      'from 1 to weeks',
    ],
    [
      "threshold: { value: flows, op: '<', bound: 1 }",
      "threshold: { value: flows, op: '<', bound: 1 }\n          baseline: { value: bps }",
      'condition',
      'exactly one',
    ],
  ])('%s → %s is refused naming %s', (from, to, key, message) => {
    const error = errorOf(variant(from, to));
    expect(error.code).toBe('KANSOKU_ALERT_RULES_INVALID');
    expect(error.file).toBe('rules.yaml');
    expect(error.rule).toBe('NoFlows');
    expect(error.key).toBe(key);
    expect(error.message).toContain(message);
    expect(error.message).toMatch(/^rules\.yaml: rule NoFlows, key /);
  });

  it('refuses group-level mistakes naming the group', () => {
    expect(errorOf(variant('interval: 30s', 'interval: 0')).key).toBe('groups[g].interval');
    expect(errorOf(variant('    interval: 30s', '    interval: 30s\n    limit: 3')).key).toBe(
      'groups[g].limit',
    );
    expect(errorOf('groups: {}').key).toBe('groups');
    expect(errorOf('rules: []').key).toBe('rules');
    expect(errorOf('groups: [\n').message).toContain('not valid YAML');
    const twice = good + good.replace('groups:\n', '');
    expect(errorOf(twice).message).toContain('used by another group');
  });

  it('refuses the same alert twice in a group', () => {
    const rule = good.slice(good.indexOf('      - alert'));
    const error = errorOf(good + rule);
    expect(error.key).toBe('alert');
    expect(error.message).toContain('used twice');
  });

  it('names an unreadable file', () => {
    expect(() => loadRuleFiles(['/nonexistent/x.rules.yaml'], catalog)).toThrow(
      /\/nonexistent\/x\.rules\.yaml: cannot read/,
    );
  });

  it('loads the flows rule file against the real flows queries', () => {
    const path = fileURLToPath(new URL('../../flows/rules/flows.rules.yaml', import.meta.url));
    const groups = loadRuleFiles([path], flowsQueries);
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining(['FlowsAbsent', 'TrafficFarBelowBaseline', 'IPv6ShareCollapse']),
    );
    for (const rule of rules) expect(rule.annotations.summary).toBeTruthy();
  });
});

describe('durations', () => {
  it.each([
    ['0', 0],
    ['30s', 30_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['250ms', 250],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it.each(['', '5', 'm5', '5 m', '1.5h', '5mm', '-5m'])('%s is not a duration', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );
});
