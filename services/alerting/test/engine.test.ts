import { createMetricsRegistry, defineQuery, silentLogger, type Warehouse } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { createAlertingEngine } from '../src/engine.ts';
import type { Notification, Notifier } from '../src/notification.ts';
import type { Outbox } from '../src/outbox.ts';
import { parseRuleFile } from '../src/rules.ts';

/** A warehouse that records inserts and answers the state query with `stateRows`. */
function stubWarehouse(stateRows: Record<string, unknown>[] = []) {
  const inserts: { table: string; rows: Record<string, unknown>[] }[] = [];
  const warehouse = {
    name: 'stub',
    database: 'test',
    embedded: true,
    start: async () => undefined,
    stop: async () => undefined,
    query: async () => stateRows,
    command: async () => undefined,
    insert: async (table: string, rows: readonly Record<string, unknown>[]) => {
      inserts.push({ table, rows: [...rows] });
    },
    ping: async () => true,
    version: async () => 'stub',
  } as unknown as Warehouse;
  return { warehouse, inserts };
}

function recordingOutbox(resends = false) {
  const got: Notification[] = [];
  const notifier: Notifier = {
    name: 'rec',
    batchSize: 1,
    coalesce: false,
    resends,
    deliver: async () => undefined,
  };
  const outbox: Outbox = {
    name: 'outbox-rec',
    notifier,
    start: async () => undefined,
    stop: async () => undefined,
    enqueue: async (n) => {
      got.push(n);
    },
    depth: () => 0,
    idle: async () => undefined,
  };
  return { outbox, got };
}

let answer: () => number = () => 0;
const gauge = defineQuery({
  domain: 'test',
  name: 'gauge',
  summary: '',
  description: '',
  params: Type.Object({ from: Type.Integer(), to: Type.Integer() }),
  run: async () => {
    const value = answer();
    return { columns: [{ name: 'value', type: 'number' }], rows: [{ value }] };
  },
});

const RULES = `
groups:
  - name: g
    interval: 1h
    rules:
      - alert: TooHigh
        query: test/gauge
        range: 1m
        condition: { threshold: { value: value, op: ">", bound: 10 } }
        for: 2m
        labels: { severity: critical }
        annotations: { summary: "value {{ $value }} over {{ $threshold }}" }
`;

function engineWith(options: { now: () => number; stateRows?: Record<string, unknown>[] }) {
  const { warehouse, inserts } = stubWarehouse(options.stateRows);
  const { outbox, got } = recordingOutbox();
  const engine = createAlertingEngine(
    {
      groups: parseRuleFile('r.yaml', RULES, [gauge]),
      detectionsSubject: '',
      detectionStaleMs: 0,
      resendIntervalMs: 3_600_000,
      externalUrl: 'http://gw',
    },
    {
      warehouse,
      queries: [gauge],
      outboxes: [outbox],
      log: silentLogger(),
      metrics: createMetricsRegistry({ processMetrics: false }),
      now: options.now,
    },
  );
  return { engine, inserts, got };
}

async function until(condition: () => boolean) {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
}

describe('alerting engine', () => {
  it('records every transition and notifies firing and resolved only, with templated annotations', async () => {
    let t = 1_000_000;
    const { engine, inserts, got } = engineWith({ now: () => t });
    answer = () => 50;
    await engine.start();
    // The schedule evaluates the group once at start.
    await until(() => inserts.length > 0);
    await engine.settled();
    expect(inserts.map((i) => [i.table, i.rows[0]?.state])).toEqual([
      ['{{db}}.alerting_history', 'pending'],
      ['{{db}}.alerting_state', 'pending'],
    ]);
    expect(got).toEqual([]);
    t += 120_000;
    await engine.evaluateGroup('g');
    expect(got.map((n) => n.status)).toEqual(['firing']);
    expect(got[0]).toMatchObject({
      alertname: 'TooHigh',
      severity: 'critical',
      value: 50,
      startsAt: t,
      annotations: { summary: 'value 50 over 10' },
      id: `${got[0]?.fingerprint}-firing-${t}`,
    });
    expect(got[0]?.generatorURL).toMatch(/^http:\/\/gw\/api\/v1\/test\/gauge\?from=\d+&to=\d+$/);

    // A failing query changes nothing: no resolve on an error.
    answer = () => {
      throw new Error('warehouse down');
    };
    t += 60_000;
    await engine.evaluateGroup('g');
    expect(engine.live().map((a) => a.state)).toEqual(['firing']);

    answer = () => 1;
    t += 60_000;
    await engine.evaluateGroup('g');
    expect(got.map((n) => n.status)).toEqual(['firing', 'resolved']);
    expect(got[1]).toMatchObject({ endsAt: t, startsAt: t - 120_000 });
    expect(
      inserts
        .filter((i) => i.table.endsWith('history'))
        .map((i) => `${i.rows[0]?.from_state}→${i.rows[0]?.state}`),
    ).toEqual(['inactive→pending', 'pending→firing', 'firing→resolved']);
    await engine.stop();
  });

  it('restores live alerts and resolves those of rules that are gone', async () => {
    const base = {
      source: 'rule',
      severity: 'critical',
      annotations: { summary: 's' },
      value: 50,
      active_at: '1000',
      fired_at: '2000',
      resolved_at: '0',
    };
    const { engine, got } = engineWith({
      now: () => 10_000,
      stateRows: [
        {
          ...base,
          fingerprint: 'a'.repeat(16),
          alertname: 'TooHigh',
          rule_group: 'g',
          state: 'firing',
          labels: { alertname: 'TooHigh', severity: 'critical' },
        },
        {
          ...base,
          fingerprint: 'b'.repeat(16),
          alertname: 'Removed',
          rule_group: 'g',
          state: 'firing',
          labels: { alertname: 'Removed', severity: 'critical' },
        },
      ],
    });
    answer = () => 50;
    await engine.start();
    await engine.settled();
    expect(got.map((n) => `${n.alertname}:${n.status}`)).toEqual(['Removed:resolved']);
    expect(engine.live().map((a) => [a.alertname, a.firedAt])).toEqual([['TooHigh', 2000]]);
    await engine.stop();
  });
});
