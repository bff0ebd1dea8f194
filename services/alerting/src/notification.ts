import { KansokuError } from '@kansoku/kit';

/** What notifiers send: one alert at one moment of its life (firing, or resolved). */
export interface Notification {
  /** `<fingerprint>-<status>-<ms>`: unique per event (JetStream's dedup id). */
  id: string;
  fingerprint: string;
  status: 'firing' | 'resolved';
  alertname: string;
  severity: string;
  source: 'rule' | 'detection';
  /** Every label, alertname and severity included. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  /** When it started firing (ms). */
  startsAt: number;
  /** When it resolved (ms); absent while firing. */
  endsAt?: number;
  /** Where to look: the gateway query behind a rule, when an external URL is configured. */
  generatorURL?: string;
  /** When the engine created this notification (ms). */
  createdAt: number;
}

/** A receiver that could not take a delivery. `permanent` ones (a 400) are never retried. */
export class DeliveryError extends KansokuError {
  readonly permanent: boolean;

  constructor(message: string, options: { permanent?: boolean; cause?: unknown } = {}) {
    super(options.permanent ? 'KANSOKU_ALERT_DELIVERY_REJECTED' : 'KANSOKU_ALERT_DELIVERY_FAILED', message, {
      cause: options.cause,
    });
    this.permanent = options.permanent ?? false;
  }
}

export interface Notifier {
  /** Unique per process: names the outbox folder and the metrics' `notifier` label. */
  readonly name: string;
  /** Most notifications per `deliver` call. */
  readonly batchSize: number;
  /**
   * State-based receivers (Alertmanager) only need an alert's latest state: a newer notification of
   * a fingerprint replaces a queued older one. Event-based receivers (PagerDuty, webhooks, NATS) get
   * every event, in order.
   */
  readonly coalesce: boolean;
  /** Whether firing alerts are re-sent periodically (Alertmanager expires alerts not re-sent). */
  readonly resends: boolean;
  deliver(batch: readonly Notification[]): Promise<void>;
}

/** POSTs JSON; a non-2xx answer is a DeliveryError (permanent for 4xx but 408 and 429). */
export async function postJson(
  url: string,
  body: unknown,
  options: { timeoutMs: number; headers?: Record<string, string>; expect?: number[] },
): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    throw new DeliveryError(`POST ${url}: ${(error as Error).message}`, { cause: error });
  }
  const text = await response.text().catch(() => '');
  const ok = options.expect ? options.expect.includes(response.status) : response.ok;
  if (!ok) {
    const permanent =
      response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
    throw new DeliveryError(`POST ${url}: HTTP ${response.status} ${text.slice(0, 200)}`, { permanent });
  }
}
