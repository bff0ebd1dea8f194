/**
 * The shared infrastructure of one process, created on first use by the services that run in it:
 * one warehouse (chDB owns its directory, so services of one process share it), one NATS
 * connection, one Kafka admin. Infrastructure starts before services and stops after them.
 */
import { createRequire } from 'node:module';
import type { KafkaAdmin } from '@kansoku/kit';
import {
  type Component,
  clickhouseSection,
  createNats,
  createWarehouse,
  type DomainModule,
  type HealthCheck,
  kafkaSection,
  type LoadedConfig,
  type Logger,
  type Nats,
  natsSection,
  type Registry,
  type ServiceRuntime,
  type Warehouse,
} from '@kansoku/kit';
import { createKafkaAdmin, createKafkaConsumer, createKafkaProducer } from '@kansoku/kit/kafka/index';

export const VERSION: string =
  (createRequire(import.meta.url)('../package.json') as { version?: string }).version ?? '0.1.0';

export interface PlatformRuntime extends ServiceRuntime {
  /** Infrastructure components created so far, in start order. */
  infrastructure(): Component[];
  /** True once a service asked for the warehouse: a process of collectors only never opens it. */
  usesWarehouse(): boolean;
}

export function createRuntime(
  config: LoadedConfig,
  modules: DomainModule[],
  deps: { log: Logger; metrics: Registry },
): PlatformRuntime {
  const infra: Component[] = [];
  const checks = new Map<string, HealthCheck>();
  let warehouse: Warehouse | undefined;
  let nats: Nats | undefined;
  let admin: KafkaAdmin | undefined;

  const runtime: PlatformRuntime = {
    config,
    log: deps.log,
    metrics: deps.metrics,
    version: VERSION,
    warehouse() {
      if (!warehouse) {
        const wh = createWarehouse(config.get(clickhouseSection), {
          log: deps.log.child({ component: 'warehouse' }),
          metrics: deps.metrics,
        });
        warehouse = wh;
        infra.push(wh);
        checks.set('clickhouse', {
          name: 'clickhouse',
          async check() {
            if (!(await wh.ping())) throw new Error('no answer to ping');
            return `${wh.embedded ? 'embedded chDB' : 'server'} ${await wh.version()}, database ${wh.database}`;
          },
        });
      }
      return warehouse;
    },
    nats() {
      if (!nats) {
        const n = createNats(config.get(natsSection), { log: deps.log.child({ component: 'nats' }) });
        nats = n;
        infra.push(n);
        checks.set('nats', {
          name: 'nats',
          async check() {
            const rtt = await n.rtt();
            const info = n.connection().info;
            if (info && !info.jetstream) throw new Error(`server ${info.version} has JetStream disabled`);
            return `server ${info?.version ?? '?'} at ${n.connection().getServer()}, rtt ${rtt.toFixed(1)} ms, JetStream on`;
          },
        });
      }
      return nats;
    },
    kafka() {
      const kafka = config.get(kafkaSection);
      return { brokers: kafka.brokers, clientId: kafka.clientId };
    },
    kafkaConsumer(options, log) {
      const kafka = config.get(kafkaSection);
      return createKafkaConsumer(
        runtime.kafka(),
        { ...options, maxBytes: kafka.consumerMaxBytes, sessionTimeoutMs: kafka.consumerSessionTimeoutMs },
        { log, metrics: deps.metrics },
      );
    },
    kafkaProducer(log) {
      const kafka = config.get(kafkaSection);
      return createKafkaProducer(
        runtime.kafka(),
        { maxBatchMessages: kafka.producerMaxBatchMessages, lingerMs: kafka.producerLingerMs },
        { log, metrics: deps.metrics },
      );
    },
    kafkaAdmin() {
      if (admin) return admin;
      const created = createKafkaAdmin(runtime.kafka());
      admin = created;
      infra.push({ name: 'kafka-admin', start: async () => undefined, stop: () => created.close() });
      checks.set('kafka', {
        name: 'kafka',
        async check() {
          const cluster = await created.describeCluster();
          return `${cluster.brokers} broker(s), controller ${cluster.controller ?? 'unknown'}, via ${runtime.kafka().brokers.join(',')}`;
        },
      });
      return created;
    },
    healthChecks() {
      // The gateway reports every dependency of the platform, whether or not it uses it itself.
      runtime.warehouse();
      runtime.nats();
      runtime.kafkaAdmin();
      return [...checks.values()];
    },
    queries() {
      return modules.flatMap((m) => m.queries);
    },
    infrastructure: () => [...infra],
    usesWarehouse: () => warehouse !== undefined,
  };
  return runtime;
}
