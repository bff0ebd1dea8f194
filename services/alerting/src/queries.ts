/**
 * The gateway queries of the alerting engine: what pages now, and what paged when. Both read the
 * warehouse (not the engine's memory), so the gateway answers them in any process layout.
 */
import {
  defineQuery,
  MAX_RANGE_MS,
  type QueryColumn,
  QueryParameterError,
  TimeRangeParams,
} from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { ALERTING_HISTORY_TABLE, ALERTING_STATE_TABLE } from './tables.ts';

const Severity = Type.Union([Type.Literal('critical'), Type.Literal('warning'), Type.Literal('info')], {
  description: 'Only alerts of this severity; all when absent',
});
const AlertName = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z_][A-Za-z0-9_:-]*$',
  description: 'Only alerts of this name; all when absent',
});

const num = (v: unknown): number => Number(v ?? 0);

function labelsText(labels: unknown): string {
  const entries = Object.entries((labels ?? {}) as Record<string, string>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return JSON.stringify(Object.fromEntries(entries));
}

interface StateRow {
  fingerprint: string;
  alertname: string;
  source: string;
  severity: string;
  state: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  time_ms: string;
  active_at: string;
  fired_at: string;
  resolved_at: string;
  from_state: string;
}

export const firingAlerts = defineQuery({
  domain: 'alerts',
  name: 'firing',
  summary: 'Alerts firing now',
  description:
    'Every alert whose latest state is firing: its fingerprint, name, severity, labels (JSON), summary, ' +
    'when it started firing (ms) and the last measured value. Newest first; critical before warning before info.',
  params: Type.Object({
    severity: Type.Optional(Severity),
    alertname: Type.Optional(AlertName),
    source: Type.Optional(
      Type.Union([Type.Literal('rule'), Type.Literal('detection')], {
        description: 'rule (scheduled rule files) or detection (streaming detectors); both when absent',
      }),
    ),
  }),
  async run(p, { warehouse }) {
    const rows = await warehouse.query<StateRow>(
      `SELECT fingerprint, alertname, source, severity, labels, annotations, value,
              toUnixTimestamp64Milli(fired_at) AS fired_at
       FROM ${ALERTING_STATE_TABLE} FINAL
       WHERE state = 'firing'
         AND ({severity:String} = '' OR severity = {severity:String})
         AND ({alertname:String} = '' OR alertname = {alertname:String})
         AND ({source:String} = '' OR source = {source:String})
       ORDER BY indexOf(['critical', 'warning', 'info'], severity), fired_at DESC, fingerprint`,
      { severity: p.severity ?? '', alertname: p.alertname ?? '', source: p.source ?? '' },
    );
    const columns: QueryColumn[] = [
      { name: 'fingerprint', type: 'string' },
      { name: 'alertname', type: 'string' },
      { name: 'severity', type: 'string' },
      { name: 'labels', type: 'string' },
      { name: 'summary', type: 'string' },
      { name: 'startsAt', type: 'time' },
      { name: 'value', type: 'number' },
      { name: 'source', type: 'string' },
      { name: 'description', type: 'string' },
    ];
    return {
      columns,
      rows: rows.map((r) => ({
        fingerprint: r.fingerprint,
        alertname: r.alertname,
        severity: r.severity,
        labels: labelsText(r.labels),
        summary: r.annotations?.summary ?? '',
        startsAt: num(r.fired_at),
        value: num(r.value),
        source: r.source,
        description: r.annotations?.description ?? '',
      })),
    };
  },
});

export const alertHistory = defineQuery({
  domain: 'alerts',
  name: 'history',
  summary: 'State transitions of alerts in a range',
  description:
    'One row per transition (pending, firing, resolved, inactive) in [from, to), newest first, optionally ' +
    'for one alert name, severity, fingerprint or target state.',
  params: Type.Object({
    from: TimeRangeParams.from,
    to: TimeRangeParams.to,
    severity: Type.Optional(Severity),
    alertname: Type.Optional(AlertName),
    fingerprint: Type.Optional(
      Type.String({ pattern: '^[0-9a-f]{16}$', description: 'One alert (16 hex digits)' }),
    ),
    state: Type.Optional(
      Type.Union(
        [Type.Literal('pending'), Type.Literal('firing'), Type.Literal('resolved'), Type.Literal('inactive')],
        { description: 'Only transitions into this state' },
      ),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 5000, default: 500, description: 'Most rows returned' }),
  }),
  validate(p) {
    if (p.to <= p.from) throw new QueryParameterError('to', 'must be after from');
    if (p.to - p.from > MAX_RANGE_MS) throw new QueryParameterError('from', 'range is longer than 400 days');
  },
  async run(p, { warehouse }) {
    const rows = await warehouse.query<StateRow>(
      `SELECT toUnixTimestamp64Milli(time) AS time_ms, fingerprint, alertname, source, severity, from_state, state,
              labels, annotations, value
       FROM ${ALERTING_HISTORY_TABLE}
       WHERE time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
         AND time < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
         AND ({severity:String} = '' OR severity = {severity:String})
         AND ({alertname:String} = '' OR alertname = {alertname:String})
         AND ({fingerprint:String} = '' OR fingerprint = {fingerprint:String})
         AND ({state:String} = '' OR state = {state:String})
       ORDER BY time DESC, fingerprint
       LIMIT {limit:UInt32}`,
      {
        from: p.from,
        to: p.to,
        severity: p.severity ?? '',
        alertname: p.alertname ?? '',
        fingerprint: p.fingerprint ?? '',
        state: p.state ?? '',
        limit: p.limit,
      },
    );
    return {
      columns: [
        { name: 'time', type: 'time' },
        { name: 'fingerprint', type: 'string' },
        { name: 'alertname', type: 'string' },
        { name: 'severity', type: 'string' },
        { name: 'from_state', type: 'string' },
        { name: 'state', type: 'string' },
        { name: 'labels', type: 'string' },
        { name: 'summary', type: 'string' },
        { name: 'value', type: 'number' },
        { name: 'source', type: 'string' },
      ],
      rows: rows.map((r) => ({
        time: num(r.time_ms),
        fingerprint: r.fingerprint,
        alertname: r.alertname,
        severity: r.severity,
        from_state: r.from_state,
        state: r.state,
        labels: labelsText(r.labels),
        summary: r.annotations?.summary ?? '',
        value: num(r.value),
        source: r.source,
      })),
    };
  },
});

export const alertingQueries = [firingAlerts, alertHistory];
