/**
 * Alertmanager, as Prometheus feeds it: `POST /api/v2/alerts` with the alerts' labels, annotations,
 * startsAt and endsAt. A firing alert carries an endsAt in the future and is re-sent before that
 * (the engine's resend interval), so Alertmanager resolves it by itself if the engine dies; a
 * resolved alert carries its real endsAt. State-based: only an alert's latest state matters, so the
 * outbox coalesces per fingerprint.
 */
import { type Notification, type Notifier, postJson } from '../notification.ts';

export interface AlertmanagerNotifierConfig {
  /** Base URL, e.g. http://127.0.0.1:9095 (without /api/v2). */
  url: string;
  timeoutMs: number;
  /** endsAt of a firing alert is this far after the send (4 × the resend interval, as Prometheus). */
  firingEndsAfterMs: number;
}

export function alertmanagerPayload(batch: readonly Notification[], now: number, firingEndsAfterMs: number) {
  return batch.map((n) => {
    // Alertmanager treats an empty label as absent; dropping it keeps its own fingerprint stable.
    const labels = Object.fromEntries(Object.entries(n.labels).filter(([, v]) => v !== ''));
    return {
      labels,
      annotations: n.annotations,
      startsAt: new Date(n.startsAt).toISOString(),
      endsAt: new Date(n.status === 'resolved' ? (n.endsAt ?? now) : now + firingEndsAfterMs).toISOString(),
      ...(n.generatorURL ? { generatorURL: n.generatorURL } : {}),
    };
  });
}

export function createAlertmanagerNotifier(config: AlertmanagerNotifierConfig): Notifier {
  const endpoint = `${config.url.replace(/\/+$/, '')}/api/v2/alerts`;
  const host = (() => {
    try {
      return new URL(config.url).host;
    } catch {
      return config.url;
    }
  })();
  return {
    name: `alertmanager-${host.replace(/[^A-Za-z0-9.-]/g, '_')}`,
    batchSize: 64,
    coalesce: true,
    resends: true,
    async deliver(batch) {
      await postJson(endpoint, alertmanagerPayload(batch, Date.now(), config.firingEndsAfterMs), {
        timeoutMs: config.timeoutMs,
      });
    },
  };
}
