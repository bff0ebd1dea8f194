import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createMetricsRegistry,
  type DomainModule,
  loadConfig,
  type ServiceRuntime,
  silentLogger,
} from '@kansoku/kit';
import { afterAll, describe, expect, it } from 'vitest';
import { flowsQueries } from '../../flows/src/queries.ts';
import { alertingSection } from '../src/config.ts';
import { alertingModule } from '../src/module.ts';

const dir = mkdtempSync(join(tmpdir(), 'kansoku-alerting-module-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runtime(env: Record<string, string>): ServiceRuntime {
  const config = loadConfig([alertingSection], { env });
  const unused = () => {
    throw new Error('no I/O at build time');
  };
  return {
    config,
    log: silentLogger(),
    metrics: createMetricsRegistry({ processMetrics: false }),
    // Components are created here but not started: build does no I/O.
    warehouse: () => ({}) as ReturnType<ServiceRuntime['warehouse']>,
    nats: () => ({}) as ReturnType<ServiceRuntime['nats']>,
    kafka: unused,
    kafkaAdmin: unused,
    kafkaConsumer: unused,
    kafkaProducer: unused,
    healthChecks: () => [],
    queries: () => flowsQueries,
    version: 'test',
  };
}

const domain = (rules: string[]): DomainModule => ({
  name: 'd',
  sections: [],
  services: [],
  migrations: [],
  queries: [],
  alertRules: rules,
});

describe('alerting service', () => {
  it("builds from the domains' rule files and the configured notifiers", () => {
    const flowsRules = new URL('../../flows/rules/flows.rules.yaml', import.meta.url).pathname;
    const service = alertingModule([domain([flowsRules])]).services[0];
    const components = service?.build(
      runtime({
        KANSOKU_ALERTING_ALERTMANAGER_URLS: 'http://127.0.0.1:9095',
        KANSOKU_ALERTING_PAGERDUTY_ROUTING_KEY: 'key-1234',
        KANSOKU_ALERTING_WEBHOOK_URLS: 'http://127.0.0.1:1/a,http://127.0.0.1:1/b',
        KANSOKU_ALERTING_DATA_DIR: dir,
      }),
    );
    expect(components?.map((c) => c.name)).toEqual([
      'outbox-alertmanager-127.0.0.1_9095',
      'outbox-pagerduty',
      'outbox-webhook-0',
      'outbox-webhook-1',
      'outbox-nats',
      'alerting-engine',
    ]);
  });

  it('stops at build (so `--check` fails) on a bad rule file, naming file, rule and key', () => {
    const bad = join(dir, 'bad.rules.yaml');
    writeFileSync(
      bad,
      'groups:\n  - name: g\n    rules:\n      - alert: A\n        query: flows/totals\n        range: 5m\n' +
        '        condition: { threshold: { value: flows, op: "<", bound: 1 } }\n' +
        '        labels: { severity: critical }\n        annotations: { summary: "{{ $labels.x | humanize }}" }\n',
    );
    const service = alertingModule([domain([bad])]).services[0];
    expect(() => service?.build(runtime({ KANSOKU_ALERTING_DATA_DIR: dir }))).toThrow(
      `${bad}: rule A, key annotations.summary: bad template: $labels.x is text: it takes no function`,
    );
    // domainRules=false skips the domain's files.
    expect(() =>
      service?.build(runtime({ KANSOKU_ALERTING_DATA_DIR: dir, KANSOKU_ALERTING_DOMAIN_RULES: 'false' })),
    ).not.toThrow();
  });
});
