import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Component, DomainModule } from '@kansoku/kit';
import { alertingSection } from './config.ts';
import { type AlertingEngine, createAlertingEngine } from './engine.ts';
import type { Notifier } from './notification.ts';
import { createAlertmanagerNotifier } from './notifiers/alertmanager.ts';
import { createNatsNotifier } from './notifiers/nats.ts';
import { createPagerDutyNotifier } from './notifiers/pagerduty.ts';
import { createWebhookNotifier } from './notifiers/webhook.ts';
import { createOutbox } from './outbox.ts';
import { alertingQueries } from './queries.ts';
import { loadRuleFiles } from './rules.ts';
import { alertingMigrations } from './tables.ts';

/**
 * The alerting engine as a module of the platform: its tables, its gateway queries and the
 * `alerting` service. `domains` are the modules whose rule files (`alertRules`) it loads.
 */
export function alertingModule(domains: readonly DomainModule[] = []): DomainModule {
  let engine: AlertingEngine | undefined;
  let notifierNames: string[] = [];
  return {
    name: 'alerting',
    sections: [alertingSection],
    migrations: alertingMigrations,
    queries: alertingQueries,
    services: [
      {
        name: 'alerting',
        description:
          'Evaluates alert rules and takes streaming detections; notifies Alertmanager, PagerDuty, NATS and webhooks',
        build(runtime) {
          const config = runtime.config.get(alertingSection);
          const log = runtime.log.child({ component: 'alerting' });
          const paths = [
            ...(config.domainRules ? domains.flatMap((d) => d.alertRules ?? []) : []),
            ...config.rules,
          ];
          // Rule files are read and checked here, so `--check` names a bad file, rule and key.
          const groups = loadRuleFiles(paths, runtime.queries());
          const firingEndsAfterMs = 4 * config.resendIntervalMs;
          const notifiers: Notifier[] = [
            ...config.alertmanagerUrls.map((url) =>
              createAlertmanagerNotifier({ url, timeoutMs: config.deliveryTimeoutMs, firingEndsAfterMs }),
            ),
            ...(config.pagerdutyRoutingKey
              ? [
                  createPagerDutyNotifier({
                    url: config.pagerdutyUrl,
                    routingKey: config.pagerdutyRoutingKey,
                    timeoutMs: config.deliveryTimeoutMs,
                    minSeverity: config.pagerdutyMinSeverity,
                    source: `kansoku@${hostname()}`,
                  }),
                ]
              : []),
            ...config.webhookUrls.map((url, i) =>
              createWebhookNotifier(
                { url, timeoutMs: config.deliveryTimeoutMs, externalUrl: config.externalUrl },
                i,
              ),
            ),
            ...(config.natsEnabled
              ? [
                  createNatsNotifier(
                    {
                      stream: config.natsStream,
                      subjectPrefix: config.natsSubjectPrefix,
                      maxAgeMs: config.natsMaxAgeMs,
                      duplicateWindowMs: 120_000,
                    },
                    { nats: runtime.nats() },
                  ),
                ]
              : []),
          ];
          notifierNames = notifiers.map((n) => n.name);
          const outboxes = notifiers.map((notifier) =>
            createOutbox(
              notifier,
              {
                dir: join(config.dataDir, 'outbox', notifier.name),
                retryInitialMs: config.retryInitialMs,
                retryMaxMs: config.retryMaxMs,
              },
              { log, metrics: runtime.metrics },
            ),
          );
          engine = createAlertingEngine(
            {
              groups,
              detectionsSubject: config.detectionsSubject,
              detectionStaleMs: config.detectionStaleMs,
              resendIntervalMs: config.resendIntervalMs,
              externalUrl: config.externalUrl,
            },
            {
              warehouse: runtime.warehouse(),
              queries: runtime.queries(),
              ...(config.detectionsSubject ? { nats: runtime.nats() } : {}),
              outboxes,
              log,
              metrics: runtime.metrics,
            },
          );
          // Outboxes start first (they resume what a previous run left) and stop last (the engine
          // drains its last transitions into them).
          const components: Component[] = [...outboxes, engine];
          return components;
        },
        endpoints() {
          if (!engine) return [];
          return [`alerting notifiers: ${notifierNames.join(', ') || 'none configured'}`];
        },
      },
    ],
  };
}
