/**
 * The alerting engine: evaluates rule groups on their intervals, takes detections from NATS, runs
 * both through one state machine, writes every transition to ClickHouse and hands firing and
 * resolved alerts to the notifiers' outboxes. Transitions are handled one batch at a time, in
 * order, so history and notifications never overtake each other.
 *
 * After a restart, pending and firing alerts come back from the state table: a firing alert does
 * not page again, and a pending one keeps its `for` clock. Alerts of rules that no longer exist are
 * resolved at start.
 */
import {
  type Component,
  Counter,
  type Detection,
  errorMessage,
  Gauge,
  Histogram,
  type Logger,
  type Nats,
  type QueryDefinition,
  type Registry,
  type Warehouse,
} from '@kansoku/kit';
import type { Subscription } from '@nats-io/transport-node';
import { evaluateRule, ruleRange } from './evaluate.ts';
import type { Notification } from './notification.ts';
import type { Outbox } from './outbox.ts';
import type { AlertRule, RuleGroup } from './rules.ts';
import { type Alert, type AlertStateName, createAlertTable, type Transition } from './state.ts';
import { ALERTING_HISTORY_TABLE, ALERTING_STATE_TABLE } from './tables.ts';

export interface AlertingEngineConfig {
  groups: RuleGroup[];
  /** Empty: detections are not taken. */
  detectionsSubject: string;
  detectionStaleMs: number;
  resendIntervalMs: number;
  externalUrl: string;
}

export interface AlertingEngineDeps {
  warehouse: Warehouse;
  queries: readonly QueryDefinition[];
  /** Needed when detectionsSubject is set. */
  nats?: Nats;
  outboxes: Outbox[];
  log: Logger;
  metrics: Registry;
  now?: () => number;
}

export interface AlertingEngine extends Component {
  /** Evaluates one group now (also what the schedule calls); resolves once its transitions are handled. */
  evaluateGroup(name: string): Promise<void>;
  /** Takes one detection (also what the NATS subscription calls). */
  takeDetection(detection: Detection): Promise<void>;
  /** Pending and firing alerts. */
  live(): Alert[];
  /** Resolves once every transition so far is written and queued. */
  settled(): Promise<void>;
}

const SEVERITIES = new Set(['critical', 'warning', 'info']);
const KEBAB = /^[a-z0-9][a-z0-9-]*$/;

function pascal(kebab: string): string {
  return kebab
    .split(/[-_.]/)
    .filter((p) => p)
    .map((p) => p[0]?.toUpperCase() + p.slice(1))
    .join('');
}

/** A detection's alert name: FlowsVolumetricDdos for flows/volumetric-ddos. */
export function detectionAlertName(detection: Pick<Detection, 'domain' | 'name'>): string {
  return pascal(detection.domain) + pascal(detection.name);
}

function isDetection(value: unknown): value is Detection {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Record<string, unknown>;
  const strings = (v: unknown) =>
    typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'string');
  return (
    typeof d.domain === 'string' &&
    KEBAB.test(d.domain) &&
    typeof d.name === 'string' &&
    KEBAB.test(d.name) &&
    typeof d.severity === 'string' &&
    SEVERITIES.has(d.severity) &&
    (d.status === 'firing' || d.status === 'resolved') &&
    strings(d.labels) &&
    (d.annotations === undefined || strings(d.annotations)) &&
    typeof d.startsAt === 'number' &&
    Number.isFinite(d.startsAt) &&
    (d.endsAt === undefined || typeof d.endsAt === 'number') &&
    typeof d.value === 'number'
  );
}

function ownerOf(group: string, alertname: string): string {
  return `${group}/${alertname}`;
}

export function createAlertingEngine(config: AlertingEngineConfig, deps: AlertingEngineDeps): AlertingEngine {
  const log = deps.log.child({ component: 'alerting-engine' });
  const now = deps.now ?? Date.now;
  const table = createAlertTable();
  const queries = new Map(deps.queries.map((q) => [`${q.domain}/${q.name}`, q]));
  const groups = new Map(config.groups.map((g) => [g.name, g]));
  const detectionSeen = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  let subscription: Subscription | undefined;
  let chain: Promise<void> = Promise.resolve();
  let stopped = true;
  const lastErrorLog = new Map<string, number>();

  const evaluations = new Counter({
    name: 'kansoku_alerting_rule_evaluations_total',
    help: 'Rule evaluations by group and outcome (ok, error)',
    labelNames: ['group', 'outcome'],
    registers: [deps.metrics],
  });
  const evaluationSeconds = new Histogram({
    name: 'kansoku_alerting_group_evaluation_seconds',
    help: 'Time to evaluate every rule of a group',
    labelNames: ['group'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
    registers: [deps.metrics],
  });
  const transitionsTotal = new Counter({
    name: 'kansoku_alerting_transitions_total',
    help: 'Alert state transitions by target state',
    labelNames: ['to'],
    registers: [deps.metrics],
  });
  const detectionsTotal = new Counter({
    name: 'kansoku_alerting_detections_total',
    help: 'Detections received from NATS by outcome (accepted, malformed)',
    labelNames: ['outcome'],
    registers: [deps.metrics],
  });
  const historyFailures = new Counter({
    name: 'kansoku_alerting_history_write_failures_total',
    help: 'Batches of transitions that could not be written to the warehouse (notifications still went out)',
    registers: [deps.metrics],
  });
  new Gauge({
    name: 'kansoku_alerting_alerts',
    help: 'Alerts by state (pending, firing)',
    labelNames: ['state'],
    registers: [deps.metrics],
    collect() {
      const live = table.live();
      this.set({ state: 'pending' }, live.filter((a) => a.state === 'pending').length);
      this.set({ state: 'firing' }, live.filter((a) => a.state === 'firing').length);
    },
  });

  /** Errors of one rule logged at most once a minute. */
  function logRateLimited(key: string, fields: Record<string, unknown>, message: string) {
    const t = now();
    if (t - (lastErrorLog.get(key) ?? 0) < 60_000) return;
    lastErrorLog.set(key, t);
    log.warn(fields, message);
  }

  function notificationOf(alert: Alert, status: 'firing' | 'resolved', generatorURL?: string): Notification {
    const time = status === 'firing' ? alert.firedAt : alert.resolvedAt;
    return {
      id: `${alert.fingerprint}-${status}-${time}`,
      fingerprint: alert.fingerprint,
      status,
      alertname: alert.alertname,
      severity: alert.severity,
      source: alert.source,
      labels: alert.labels,
      annotations: alert.annotations,
      value: alert.value,
      startsAt: alert.firedAt,
      ...(status === 'resolved' ? { endsAt: alert.resolvedAt } : {}),
      ...(generatorURL ? { generatorURL } : {}),
      createdAt: now(),
    };
  }

  const generatorUrls = new Map<string, string>();

  function row(t: Transition) {
    const a = t.alert;
    return {
      fingerprint: a.fingerprint,
      alertname: a.alertname,
      source: a.source,
      rule_group: a.group,
      severity: a.severity,
      from_state: t.from,
      state: t.to,
      labels: a.labels,
      annotations: a.annotations,
      value: Number.isFinite(a.value) ? a.value : 0,
      active_at: a.activeAt,
      fired_at: a.firedAt,
      resolved_at: a.resolvedAt,
    };
  }

  async function handle(transitions: Transition[]): Promise<void> {
    if (transitions.length === 0) return;
    for (const t of transitions) transitionsTotal.inc({ to: t.to });
    try {
      await deps.warehouse.insert(
        ALERTING_HISTORY_TABLE,
        transitions.map((t) => ({ time: t.time, ...row(t) })),
      );
      await deps.warehouse.insert(
        ALERTING_STATE_TABLE,
        transitions.map((t) => ({ updated_at: t.time, ...row(t) })),
      );
    } catch (error) {
      historyFailures.inc();
      log.error({ err: errorMessage(error), transitions: transitions.length }, 'alert history not written');
    }
    for (const t of transitions) {
      const notify: 'firing' | 'resolved' | undefined =
        t.to === 'firing' ? 'firing' : t.to === 'resolved' && t.from === 'firing' ? 'resolved' : undefined;
      if (!notify) continue;
      log.info(
        { alertname: t.alert.alertname, fingerprint: t.alert.fingerprint, state: t.to, value: t.alert.value },
        `alert ${t.to}`,
      );
      const notification = notificationOf(t.alert, notify, generatorUrls.get(t.alert.fingerprint));
      if (notify === 'resolved') generatorUrls.delete(t.alert.fingerprint);
      // Outboxes write in parallel; each still takes this alert's events in order.
      await Promise.all(
        deps.outboxes.map((outbox) =>
          outbox.enqueue(notification).catch((error) => {
            log.error(
              { err: errorMessage(error), notifier: outbox.notifier.name },
              'notification not queued',
            );
          }),
        ),
      );
    }
  }

  /** Transitions are handled strictly in order. */
  function enqueue(transitions: Transition[]): Promise<void> {
    chain = chain
      .then(() => handle(transitions))
      .catch((error) => log.error({ err: errorMessage(error) }, 'transitions not handled'));
    return chain;
  }

  function observationsOf(rule: AlertRule, verdicts: Awaited<ReturnType<typeof evaluateRule>>, t: number) {
    const range = ruleRange(rule, t);
    return verdicts
      .filter((v) => v.active)
      .map((v) => {
        const data = {
          labels: v.labels,
          value: v.value,
          ...(v.baseline !== undefined ? { baseline: v.baseline } : {}),
          ...(v.threshold !== undefined ? { threshold: v.threshold } : {}),
        };
        // Rule labels override the series' own (as in Prometheus); both may be templated.
        const labels: Record<string, string> = { ...v.labels };
        for (const [name, template] of Object.entries(rule.labelTemplates)) labels[name] = template(data);
        const annotations: Record<string, string> = {};
        for (const [name, template] of Object.entries(rule.annotationTemplates)) {
          annotations[name] = template({ ...data, labels });
        }
        return { labels, annotations, value: v.value, range };
      });
  }

  async function evaluateGroup(name: string): Promise<void> {
    const group = groups.get(name);
    if (!group) throw new Error(`no rule group ${name}`);
    const end = evaluationSeconds.startTimer({ group: name });
    const all: Transition[] = [];
    for (const rule of group.rules) {
      const query = queries.get(rule.query);
      const t = now();
      try {
        if (!query) throw new Error(`query ${rule.query} is not registered in this process`);
        const verdicts = await evaluateRule(rule, query, { warehouse: deps.warehouse, now: t });
        const observations = observationsOf(rule, verdicts, t);
        const transitions = table.observe(
          {
            owner: ownerOf(group.name, rule.alert),
            alertname: rule.alert,
            group: group.name,
            source: 'rule',
            forMs: rule.forMs,
            keepFiringForMs: rule.keepFiringForMs,
          },
          observations,
          t,
        );
        if (config.externalUrl) {
          for (const tr of transitions) {
            const o = observations[0];
            if (!o) continue;
            const base = config.externalUrl.replace(/\/+$/, '');
            generatorUrls.set(
              tr.alert.fingerprint,
              `${base}/api/v1/${rule.query}?from=${o.range.from}&to=${o.range.to}`,
            );
          }
        }
        all.push(...transitions);
        evaluations.inc({ group: name, outcome: 'ok' });
      } catch (error) {
        // A failed evaluation changes no state: an alert neither fires nor resolves on an error.
        evaluations.inc({ group: name, outcome: 'error' });
        logRateLimited(
          rule.alert,
          { err: errorMessage(error), rule: rule.alert, group: name },
          'rule evaluation failed',
        );
      }
    }
    end();
    table.prune(now());
    await enqueue(all);
  }

  async function takeDetection(d: Detection): Promise<void> {
    const alertname = detectionAlertName(d);
    const group = `detections/${d.domain}`;
    const labels: Record<string, string> = {
      ...d.labels,
      domain: d.domain,
      detector: d.name,
      severity: d.severity,
    };
    const annotations: Record<string, string> = { ...(d.annotations ?? {}) };
    annotations.summary ||= `${alertname}: ${JSON.stringify(d.labels)}`;
    const transitions = table.detection(
      { owner: ownerOf(group, alertname), alertname, group, source: 'detection' },
      { labels, annotations, value: d.value },
      d.status,
      { startsAt: d.startsAt, ...(d.endsAt !== undefined ? { endsAt: d.endsAt } : {}) },
    );
    const fp = transitions[0]?.alert.fingerprint;
    if (fp && d.status === 'firing') detectionSeen.set(fp, now());
    if (fp && d.status === 'resolved') detectionSeen.delete(fp);
    await enqueue(transitions);
  }

  async function restore(): Promise<void> {
    const rows = await deps.warehouse.query<{
      fingerprint: string;
      alertname: string;
      source: string;
      rule_group: string;
      severity: string;
      state: AlertStateName;
      labels: Record<string, string>;
      annotations: Record<string, string>;
      value: number;
      active_at: string;
      fired_at: string;
      resolved_at: string;
    }>(
      `SELECT fingerprint, alertname, source, rule_group, severity, state, labels, annotations, value,
              toUnixTimestamp64Milli(active_at) AS active_at, toUnixTimestamp64Milli(fired_at) AS fired_at,
              toUnixTimestamp64Milli(resolved_at) AS resolved_at
       FROM ${ALERTING_STATE_TABLE} FINAL
       WHERE state IN ('pending', 'firing')`,
    );
    for (const r of rows) {
      table.restore({
        fingerprint: r.fingerprint,
        alertname: r.alertname,
        source: r.source === 'detection' ? 'detection' : 'rule',
        owner: ownerOf(r.rule_group, r.alertname),
        group: r.rule_group,
        severity: r.severity,
        labels: r.labels,
        annotations: r.annotations,
        value: Number(r.value),
        state: r.state,
        activeAt: Number(r.active_at),
        firedAt: Number(r.fired_at),
        resolvedAt: Number(r.resolved_at),
      });
      if (r.source === 'detection') detectionSeen.set(r.fingerprint, now());
    }
    const owners = new Set(config.groups.flatMap((g) => g.rules.map((rule) => ownerOf(g.name, rule.alert))));
    const orphans = table.resolveWhere((a) => a.source === 'rule' && !owners.has(a.owner), now());
    if (rows.length > 0)
      log.info({ restored: rows.length, orphansResolved: orphans.length }, 'alert state restored');
    await enqueue(orphans);
  }

  function schedule(group: RuleGroup) {
    const tick = () => {
      if (stopped) return;
      const started = now();
      const run = evaluateGroup(group.name)
        .catch((error) =>
          log.error({ err: errorMessage(error), group: group.name }, 'group evaluation failed'),
        )
        .finally(() => {
          running.delete(run);
          if (stopped) return;
          const timer = setTimeout(
            () => {
              timers.delete(timer);
              tick();
            },
            Math.max(0, group.intervalMs - (now() - started)),
          );
          timers.add(timer);
        });
      running.add(run);
    };
    tick();
  }

  function resend() {
    const t = now();
    table.prune(t);
    const live = table.live();
    if (config.detectionStaleMs > 0) {
      const stale = new Set(
        [...detectionSeen].filter(([, seen]) => t - seen > config.detectionStaleMs).map(([fp]) => fp),
      );
      if (stale.size > 0) {
        for (const fp of stale) detectionSeen.delete(fp);
        void enqueue(table.resolveWhere((a) => a.source === 'detection' && stale.has(a.fingerprint), t));
      }
    }
    const resenders = deps.outboxes.filter((o) => o.notifier.resends);
    if (resenders.length === 0) return;
    chain = chain.then(async () => {
      for (const alert of live) {
        if (alert.state !== 'firing') continue;
        const n = notificationOf(alert, 'firing', generatorUrls.get(alert.fingerprint));
        for (const outbox of resenders) {
          await outbox
            .enqueue(n)
            .catch((error) => log.warn({ err: errorMessage(error) }, 'resend not queued'));
        }
      }
    });
  }

  return {
    name: 'alerting-engine',
    async start() {
      stopped = false;
      await restore();
      if (config.detectionsSubject) {
        if (!deps.nats) throw new Error('detectionsSubject is set but no NATS connection was given');
        subscription = deps.nats.connection().subscribe(config.detectionsSubject, {
          callback: (error, message) => {
            if (error) return;
            let detection: unknown;
            try {
              detection = message.json();
            } catch {
              detection = undefined;
            }
            if (!isDetection(detection)) {
              detectionsTotal.inc({ outcome: 'malformed' });
              logRateLimited('detection', { subject: message.subject }, 'malformed detection ignored');
              return;
            }
            detectionsTotal.inc({ outcome: 'accepted' });
            takeDetection(detection).catch((e) =>
              log.error({ err: errorMessage(e) }, 'detection not handled'),
            );
          },
        });
      }
      for (const group of config.groups) schedule(group);
      const timer = setInterval(resend, config.resendIntervalMs);
      timers.add(timer);
      log.info(
        { groups: config.groups.length, rules: config.groups.reduce((n, g) => n + g.rules.length, 0) },
        'alerting engine started',
      );
    },
    async stop() {
      stopped = true;
      for (const timer of timers) {
        clearTimeout(timer);
        clearInterval(timer);
      }
      timers.clear();
      subscription?.unsubscribe();
      subscription = undefined;
      await Promise.allSettled([...running]);
      await chain;
    },
    evaluateGroup,
    takeDetection,
    live: () => table.live(),
    settled: () => chain,
  };
}
