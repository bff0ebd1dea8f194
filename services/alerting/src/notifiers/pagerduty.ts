/**
 * PagerDuty Events API v2: a `trigger` when an alert fires and a `resolve` when it ends, both with
 * `dedup_key` = the alert's fingerprint, so PagerDuty keeps one incident per alert and closes it.
 * The endpoint is configurable (EU service region, or a local receiver in tests).
 */
import { type Notification, type Notifier, postJson } from '../notification.ts';

export interface PagerDutyNotifierConfig {
  url: string;
  routingKey: string;
  timeoutMs: number;
  /** Notifications less severe than this are not sent (info alerts rarely deserve a page). */
  minSeverity: 'critical' | 'warning' | 'info';
  /** Where the engine runs, for the event's `source` when the alert has no exporter or instance. */
  source: string;
}

const RANK: Record<string, number> = { critical: 0, warning: 1, info: 2 };
const MAX_SUMMARY = 1024;

export function pagerDutyEvent(
  n: Notification,
  config: Pick<PagerDutyNotifierConfig, 'routingKey' | 'source'>,
) {
  if (n.status === 'resolved') {
    return { routing_key: config.routingKey, event_action: 'resolve', dedup_key: n.fingerprint };
  }
  const summary = n.annotations.summary || `${n.alertname} firing`;
  return {
    routing_key: config.routingKey,
    event_action: 'trigger',
    dedup_key: n.fingerprint,
    payload: {
      summary: summary.length > MAX_SUMMARY ? `${summary.slice(0, MAX_SUMMARY - 1)}…` : summary,
      source: n.labels.exporter || n.labels.instance || n.labels.destination || config.source,
      severity: RANK[n.severity] === undefined ? 'warning' : n.severity,
      timestamp: new Date(n.startsAt).toISOString(),
      class: n.alertname,
      ...(n.labels.domain ? { component: n.labels.domain } : {}),
      ...(n.labels.team ? { group: n.labels.team } : {}),
      custom_details: {
        fingerprint: n.fingerprint,
        value: n.value,
        labels: n.labels,
        annotations: n.annotations,
        source: n.source,
      },
    },
    client: 'Kansoku',
    ...(n.generatorURL ? { client_url: n.generatorURL } : {}),
  };
}

export function createPagerDutyNotifier(config: PagerDutyNotifierConfig): Notifier {
  const minRank = RANK[config.minSeverity] ?? 2;
  return {
    name: 'pagerduty',
    batchSize: 1,
    coalesce: false,
    resends: false,
    async deliver(batch) {
      for (const n of batch) {
        // A resolve always goes: its trigger may have been sent under a lower minSeverity.
        if (n.status === 'firing' && (RANK[n.severity] ?? 1) > minRank) continue;
        await postJson(config.url, pagerDutyEvent(n, config), {
          timeoutMs: config.timeoutMs,
          expect: [200, 202],
        });
      }
    },
  };
}
