/**
 * Plain webhooks in Alertmanager's webhook shape (version 4), so receivers written for Alertmanager
 * (chat bridges, ticketing) take Kansoku's alerts as they are. One message per alert event.
 */
import { type Notification, type Notifier, postJson } from '../notification.ts';

export interface WebhookNotifierConfig {
  url: string;
  timeoutMs: number;
  /** externalURL of the message: where Kansoku's pages are. */
  externalUrl: string;
}

export function webhookMessage(n: Notification, externalUrl: string) {
  const alert = {
    status: n.status,
    labels: n.labels,
    annotations: n.annotations,
    startsAt: new Date(n.startsAt).toISOString(),
    endsAt: n.status === 'resolved' && n.endsAt ? new Date(n.endsAt).toISOString() : '0001-01-01T00:00:00Z',
    generatorURL: n.generatorURL ?? '',
    fingerprint: n.fingerprint,
  };
  const common = { ...n.labels };
  return {
    version: '4',
    groupKey: `{}:{alertname="${n.alertname}"}`,
    truncatedAlerts: 0,
    status: n.status,
    receiver: 'kansoku',
    groupLabels: { alertname: n.alertname },
    commonLabels: common,
    commonAnnotations: n.annotations,
    externalURL: externalUrl,
    alerts: [alert],
  };
}

export function createWebhookNotifier(config: WebhookNotifierConfig, index: number): Notifier {
  return {
    name: `webhook-${index}`,
    batchSize: 1,
    coalesce: false,
    resends: false,
    async deliver(batch) {
      for (const n of batch) {
        await postJson(config.url, webhookMessage(n, config.externalUrl), { timeoutMs: config.timeoutMs });
      }
    },
  };
}
