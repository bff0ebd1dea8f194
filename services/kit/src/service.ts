/**
 * How a domain package declares what it brings to the platform: its config sections, its
 * services (collectors, processors), its warehouse migrations and its gateway queries. The
 * platform CLI composes these into one process (`kansoku up`) or runs one service alone
 * (`kansoku run <service>`); domains never import each other or the platform.
 */
import type { TObject } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ConfigSection, LoadedConfig } from './config.ts';
import type { HealthCheck } from './health.ts';
import type {
  ConsumerOptions,
  KafkaAdmin,
  KafkaConnectionConfig,
  KafkaConsumer,
  KafkaProducer,
} from './kafka/types.ts';
import type { Component } from './lifecycle.ts';
import type { Nats } from './nats.ts';
import type { QueryDefinition } from './queries.ts';
import type { Migration } from './warehouse/migrations.ts';
import type { Warehouse } from './warehouse/warehouse.ts';

/** Shared infrastructure of one process; each getter creates its component on first use. */
export interface ServiceRuntime {
  config: LoadedConfig;
  log: Logger;
  metrics: Registry;
  warehouse(): Warehouse;
  nats(): Nats;
  kafka(): KafkaConnectionConfig;
  kafkaAdmin(): KafkaAdmin;
  /** A consumer with the process's Kafka settings (fetch size, session timeout); inert until started. */
  kafkaConsumer(
    options: Pick<ConsumerOptions, 'groupId' | 'topics' | 'fromBeginning'>,
    log: Logger,
  ): KafkaConsumer;
  /** A producer with the process's batching settings; inert until started. */
  kafkaProducer(log: Logger): KafkaProducer;
  /** Health checks of every dependency used in this process so far. */
  healthChecks(): HealthCheck[];
  /** Every query of every domain known to the platform (the gateway serves them all). */
  queries(): QueryDefinition[];
  version: string;
}

export interface ServiceDefinition {
  /** kebab-case, e.g. flows-processor; `kansoku run <name>`. */
  name: string;
  description: string;
  /** Builds inert components, in start order; nothing may do I/O here. */
  build(runtime: ServiceRuntime): Component[];
  /** Printed by `kansoku up`: where the service listens, once started. */
  endpoints?(): string[];
}

/** A traffic simulator a domain offers (`kansoku simulate <domain>`, and `kansoku up --demo`). */
export interface SimulatorDefinition {
  description: string;
  /** Options with defaults; the CLI maps `--some-option v` to `someOption`. */
  options: TObject;
  create(
    options: Record<string, unknown>,
    deps: { log: Logger },
  ): Component & {
    /** Resolves when a bounded run has sent everything. */
    done(): Promise<void>;
    /** What was sent so far, for the closing summary. */
    sent(): unknown;
  };
}

/** How a replay reports how far it got; the CLI draws a progress bar from it. */
export interface ReplayProgress {
  /** Size of the whole input in bytes (of the file as stored, compressed or not), when known. */
  setTotal(bytes: number): void;
  /** Bytes of the input consumed so far, and items (routes, queries, …) sent so far. */
  update(bytesDone: number, items: number): void;
}

export interface ReplayContext {
  /** The process's runtime: Kafka producer with its settings, config, log, metrics. */
  runtime: ServiceRuntime;
  progress: ReplayProgress;
  /** Aborted on Ctrl-C: stop reading, flush what was sent, resolve with the summary so far. */
  signal: AbortSignal;
}

/** Feeds a recorded file into the platform: `kansoku replay <name> <file> [--option value …]`. */
export interface ReplayerDefinition {
  /** kebab-case, e.g. mrt, dns. */
  name: string;
  description: string;
  /** Options with defaults; the CLI maps `--some-option v` to `someOption` (as for simulators). */
  options: TObject;
  /** Replays one file; resolves with a summary the CLI prints (counts by name). */
  run(
    file: string,
    options: Record<string, unknown>,
    context: ReplayContext,
  ): Promise<Record<string, number | string>>;
}

export interface DomainModule {
  name: string;
  simulator?: SimulatorDefinition;
  /** File replays the domain offers (`kansoku replay <name> <file>`). */
  replayers?: ReplayerDefinition[];
  sections: ConfigSection[];
  services: ServiceDefinition[];
  migrations: Migration[];
  queries: QueryDefinition[];
  /** Paths of the domain's alert rule files (YAML), loaded by the alerting service. */
  alertRules?: string[];
}
