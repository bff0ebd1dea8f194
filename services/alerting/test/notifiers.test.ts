import { describe, expect, it } from 'vitest';
import { detectionAlertName } from '../src/engine.ts';
import type { Notification } from '../src/notification.ts';
import { alertmanagerPayload } from '../src/notifiers/alertmanager.ts';
import { pagerDutyEvent } from '../src/notifiers/pagerduty.ts';
import { webhookMessage } from '../src/notifiers/webhook.ts';

const STARTS = Date.UTC(2026, 10, 24, 3, 0, 0);
const firing: Notification = {
  id: 'abc-firing-1',
  fingerprint: '0123456789abcdef',
  status: 'firing',
  alertname: 'TrafficFarBelowBaseline',
  severity: 'critical',
  source: 'rule',
  labels: { alertname: 'TrafficFarBelowBaseline', severity: 'critical', ip_version: 'IPv6', empty: '' },
  annotations: { summary: 'IPv6 traffic at 1 Gbps' },
  value: 1e9,
  startsAt: STARTS,
  generatorURL: 'http://gw/api/v1/flows/traffic-by-ip-version?from=1&to=2',
  createdAt: STARTS,
};
const resolved: Notification = {
  ...firing,
  id: 'abc-resolved-2',
  status: 'resolved',
  endsAt: STARTS + 600_000,
};

describe('notifier payloads', () => {
  it('Alertmanager: firing alerts end in the future (re-sent before), resolved ones at their end', () => {
    const now = STARTS + 60_000;
    const [a] = alertmanagerPayload([firing], now, 240_000);
    expect(a).toEqual({
      labels: { alertname: 'TrafficFarBelowBaseline', severity: 'critical', ip_version: 'IPv6' },
      annotations: { summary: 'IPv6 traffic at 1 Gbps' },
      startsAt: '2026-11-24T03:00:00.000Z',
      endsAt: new Date(now + 240_000).toISOString(),
      generatorURL: firing.generatorURL,
    });
    expect(alertmanagerPayload([resolved], now + 1e6, 240_000)[0]?.endsAt).toBe('2026-11-24T03:10:00.000Z');
  });

  it('PagerDuty: trigger with the fields the Events v2 API requires; resolve with the same dedup_key', () => {
    const trigger = pagerDutyEvent(firing, { routingKey: 'R', source: 'kansoku@host' });
    expect(trigger).toMatchObject({
      routing_key: 'R',
      event_action: 'trigger',
      dedup_key: '0123456789abcdef',
      payload: {
        summary: 'IPv6 traffic at 1 Gbps',
        source: 'kansoku@host',
        severity: 'critical',
        timestamp: '2026-11-24T03:00:00.000Z',
        class: 'TrafficFarBelowBaseline',
        custom_details: { value: 1e9, fingerprint: '0123456789abcdef' },
      },
      client: 'Kansoku',
      client_url: firing.generatorURL,
    });
    expect(pagerDutyEvent(resolved, { routingKey: 'R', source: 's' })).toEqual({
      routing_key: 'R',
      event_action: 'resolve',
      dedup_key: '0123456789abcdef',
    });
    const long = pagerDutyEvent(
      { ...firing, annotations: { summary: 'x'.repeat(5000) } },
      { routingKey: 'R', source: 's' },
    ) as { payload: { summary: string } };
    expect(long.payload.summary.length).toBeLessThanOrEqual(1024);
  });

  it('webhooks: Alertmanager v4 message shape', () => {
    expect(webhookMessage(resolved, 'http://kansoku')).toEqual({
      version: '4',
      groupKey: '{}:{alertname="TrafficFarBelowBaseline"}',
      truncatedAlerts: 0,
      status: 'resolved',
      receiver: 'kansoku',
      groupLabels: { alertname: 'TrafficFarBelowBaseline' },
      commonLabels: resolved.labels,
      commonAnnotations: resolved.annotations,
      externalURL: 'http://kansoku',
      alerts: [
        {
          status: 'resolved',
          labels: resolved.labels,
          annotations: resolved.annotations,
          startsAt: '2026-11-24T03:00:00.000Z',
          endsAt: '2026-11-24T03:10:00.000Z',
          generatorURL: firing.generatorURL,
          fingerprint: '0123456789abcdef',
        },
      ],
    });
    expect(webhookMessage(firing, '').alerts[0]?.endsAt).toBe('0001-01-01T00:00:00Z');
  });

  it('names detections as alerts', () => {
    expect(detectionAlertName({ domain: 'flows', name: 'volumetric-ddos' })).toBe('FlowsVolumetricDdos');
    expect(detectionAlertName({ domain: 'bgp', name: 'origin-as-change' })).toBe('BgpOriginAsChange');
  });
});
