import { defineSection, type SectionValue } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';

export const alertingSection = defineSection(
  'alerting',
  Type.Object({
    rules: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: 'Rule files to load beside the ones every domain brings',
    }),
    domainRules: Type.Boolean({ default: true, description: "Load every domain's own rule files" }),
    dataDir: Type.String({
      default: '.data/alerting',
      minLength: 1,
      description: "Folder of the notifiers' durable outboxes",
    }),
    externalUrl: Type.String({
      default: '',
      description: "Gateway URL for alerts' links (generatorURL); none when empty",
    }),
    detectionsSubject: Type.String({
      default: 'kansoku.detections.>',
      minLength: 1,
      description: 'NATS subject of the streaming detectors’ detections; empty to ignore them',
    }),
    detectionStaleMs: Type.Integer({
      default: 0,
      minimum: 0,
      description:
        'Resolve a firing detection not repeated for this long (0: never; detectors send resolved themselves)',
    }),
    resendIntervalMs: Type.Integer({
      default: 60_000,
      minimum: 1000,
      description: 'How often firing alerts are re-sent to Alertmanager',
    }),
    alertmanagerUrls: Type.Array(Type.String({ pattern: '^https?://' }), {
      default: [],
      description: 'Alertmanager base URLs (each gets the alerts, as from Prometheus)',
    }),
    webhookUrls: Type.Array(Type.String({ pattern: '^https?://' }), {
      default: [],
      description: 'Webhook URLs taking Alertmanager v4 webhook messages',
    }),
    pagerdutyRoutingKey: Type.String({
      default: '',
      description: 'PagerDuty Events v2 integration (routing) key; PagerDuty is off when empty',
    }),
    pagerdutyUrl: Type.String({
      default: 'https://events.pagerduty.com/v2/enqueue',
      pattern: '^https?://',
      description: 'PagerDuty Events v2 endpoint (events.eu.pagerduty.com for the EU region)',
    }),
    pagerdutyMinSeverity: Type.Union(
      [Type.Literal('critical'), Type.Literal('warning'), Type.Literal('info')],
      { default: 'warning', description: 'Least severe alert that triggers a PagerDuty incident' },
    ),
    natsEnabled: Type.Boolean({ default: true, description: 'Publish alerts to NATS JetStream' }),
    natsStream: Type.String({
      default: 'KANSOKU_ALERTS',
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'JetStream stream of alerts',
    }),
    natsSubjectPrefix: Type.String({
      default: 'kansoku.alerts',
      minLength: 1,
      description: 'Alerts go to <prefix>.<severity>',
    }),
    natsMaxAgeMs: Type.Integer({
      default: 7 * 86_400_000,
      minimum: 60_000,
      description: 'How long the stream keeps alerts',
    }),
    deliveryTimeoutMs: Type.Integer({ default: 10_000, minimum: 100, description: 'Per HTTP delivery' }),
    retryInitialMs: Type.Integer({
      default: 1000,
      minimum: 10,
      description: 'First retry delay of a failed delivery (doubles each time, with jitter)',
    }),
    retryMaxMs: Type.Integer({ default: 300_000, minimum: 10, description: 'Longest retry delay' }),
  }),
  ['pagerdutyRoutingKey'],
);

export type AlertingConfig = SectionValue<typeof alertingSection>;
