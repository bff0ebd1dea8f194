import { defineQuery, type QueryResult, TimeRangeParams, type Warehouse } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { evaluateRule, reduce, ruleRange, WEEK_MS } from '../src/evaluate.ts';
import { parseRuleFile } from '../src/rules.ts';

const NOW = Date.UTC(2026, 10, 24, 12, 7, 30);

/** A query answering from a function of the requested range, recording each call. */
function fakeQuery(answer: (from: number, to: number) => QueryResult['rows']) {
  const calls: { from: number; to: number; step: number }[] = [];
  const query = defineQuery({
    domain: 'test',
    name: 'series',
    summary: '',
    description: '',
    params: Type.Object({ ...TimeRangeParams }),
    run: async (p) => {
      calls.push({ from: p.from, to: p.to, step: p.step });
      return {
        columns: [
          { name: 'time', type: 'time' },
          { name: 'ip_version', type: 'string' },
          { name: 'bps', type: 'number' },
        ],
        rows: answer(p.from, p.to),
      };
    },
  });
  return { query, calls };
}

function ruleOf(condition: string, extra = '') {
  const { query } = fakeQuery(() => []);
  const text = `
groups:
  - name: g
    rules:
      - alert: R
        query: test/series
        params: { step: 300 }
        range: 10m
        offset: 1m
${extra}
        condition:
${condition}
        labels: { severity: warning }
        annotations: { summary: x }
`;
  const rule = parseRuleFile('r.yaml', text, [query])[0]?.rules[0];
  if (!rule) throw new Error('no rule');
  return rule;
}

const warehouse = {} as Warehouse;

describe('rule evaluation', () => {
  it('reads the minute-aligned range ending `offset` before now', () => {
    expect(ruleRange({ rangeMs: 600_000, offsetMs: 60_000 }, NOW)).toEqual({
      from: Date.UTC(2026, 10, 24, 11, 56),
      to: Date.UTC(2026, 10, 24, 12, 6),
    });
  });

  it.each([
    ['last', 3],
    ['avg', 2],
    ['max', 3],
    ['min', 1],
    ['sum', 6],
  ] as const)('reduces with %s', (reducer, expected) => expect(reduce(reducer, [1, 2, 3])).toBe(expected));

  it('judges a threshold per series, in time order, with the query’s own defaults and the rule’s params', async () => {
    const rule = ruleOf("          threshold: { value: bps, reducer: last, op: '>', bound: 100 }");
    const { query, calls } = fakeQuery(() => [
      { time: 2, ip_version: 'IPv4', bps: 50 },
      { time: 1, ip_version: 'IPv4', bps: 500 },
      { time: 1, ip_version: 'IPv6', bps: 10 },
      { time: 2, ip_version: 'IPv6', bps: 200 },
      { time: 3, ip_version: 'IPv6', bps: null },
    ]);
    const verdicts = await evaluateRule(rule, query, { warehouse, now: NOW });
    expect(calls).toEqual([{ ...ruleRange(rule, NOW), step: 300 }]);
    expect(verdicts).toEqual([
      { labels: { ip_version: 'IPv4' }, value: 50, threshold: 100, active: false },
      { labels: { ip_version: 'IPv6' }, value: 200, threshold: 100, active: true },
    ]);
  });

  it('refuses a value column the query does not return', async () => {
    const rule = ruleOf("          threshold: { value: pps, op: '>', bound: 1 }");
    const { query } = fakeQuery(() => []);
    await expect(evaluateRule(rule, query, { warehouse, now: NOW })).rejects.toThrow(/value column pps/);
  });

  it('compares with the median of the same hours of past weeks', async () => {
    const rule = ruleOf(
      '          baseline: { value: bps, reducer: avg, direction: below, factor: 0.5, minimum: 100, weeks: 3, min_weeks: 2 }',
    );
    const range = ruleRange(rule, NOW);
    // IPv4: weeks back 1000, 1200, 5000 (median 1200), now 500 → below 600: fires.
    // IPv6: weeks back 400, 300 (only two weeks), now 250 → threshold 175: holds.
    // unknown: baseline 50, under the minimum → not judged.
    const byWeek: Record<number, QueryResult['rows']> = {
      0: [
        { time: 1, ip_version: 'IPv4', bps: 400 },
        { time: 2, ip_version: 'IPv4', bps: 600 },
        { time: 1, ip_version: 'IPv6', bps: 250 },
        { time: 1, ip_version: 'unknown', bps: 1 },
      ],
      1: [
        { time: 1, ip_version: 'IPv4', bps: 1000 },
        { time: 1, ip_version: 'IPv6', bps: 400 },
        { time: 1, ip_version: 'unknown', bps: 50 },
      ],
      2: [
        { time: 1, ip_version: 'IPv4', bps: 1200 },
        { time: 1, ip_version: 'IPv6', bps: 300 },
        { time: 1, ip_version: 'unknown', bps: 50 },
      ],
      3: [{ time: 1, ip_version: 'IPv4', bps: 5000 }],
    };
    const { query, calls } = fakeQuery((from) => byWeek[Math.round((range.from - from) / WEEK_MS)] ?? []);
    const verdicts = await evaluateRule(rule, query, { warehouse, now: NOW });
    expect(calls.map((c) => c.to)).toEqual([0, 1, 2, 3].map((k) => range.to - k * WEEK_MS));
    expect(verdicts).toEqual([
      { labels: { ip_version: 'IPv4' }, value: 500, baseline: 1200, threshold: 600, active: true },
      { labels: { ip_version: 'IPv6' }, value: 250, baseline: 350, threshold: 175, active: false },
    ]);
  });

  it('counts a series gone entirely as 0 below its baseline, and judges "above" too', async () => {
    const below = ruleOf(
      '          baseline: { value: bps, direction: below, factor: 0.5, weeks: 2, min_weeks: 2 }',
    );
    const range = ruleRange(below, NOW);
    const { query } = fakeQuery((from) =>
      from === range.from ? [] : [{ time: 1, ip_version: 'IPv6', bps: 100 }],
    );
    expect(await evaluateRule(below, query, { warehouse, now: NOW })).toEqual([
      { labels: { ip_version: 'IPv6' }, value: 0, baseline: 100, threshold: 50, active: true },
    ]);
    const above = ruleOf('          baseline: { value: bps, direction: above, factor: 3, weeks: 2 }');
    const surge = fakeQuery((from) => [
      { time: 1, ip_version: 'IPv6', bps: from === range.from ? 301 : 100 },
    ]);
    expect((await evaluateRule(above, surge.query, { warehouse, now: NOW }))[0]).toMatchObject({
      value: 301,
      baseline: 100,
      active: true,
    });
  });

  it('does not judge without enough weeks of history', async () => {
    const rule = ruleOf(
      '          baseline: { value: bps, direction: below, factor: 0.5, weeks: 4, min_weeks: 3 }',
    );
    const range = ruleRange(rule, NOW);
    const { query } = fakeQuery((from) =>
      range.from - from <= 2 * WEEK_MS
        ? [{ time: 1, ip_version: 'IPv4', bps: from === range.from ? 1 : 100 }]
        : [],
    );
    expect(await evaluateRule(rule, query, { warehouse, now: NOW })).toEqual([]);
  });
});
