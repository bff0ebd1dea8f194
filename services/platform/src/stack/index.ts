/**
 * The local stack: a Kafka broker (KRaft, one node), nats-server with JetStream, and the embedded
 * ClickHouse (chDB) — the real components, started on this machine by this code, no Docker.
 *
 * Used by `kansoku up`, by the integration tests' global setup (test/setup/stack.ts) and by CI.
 * Servers are started detached (their own process group, output to a log, a pid file beside it), so they
 * outlive the process that started them; a second start finds them answering and reuses them.
 */
import { type ClickHouseEndpoint, clickHouseStatus, ensureClickHouse } from './clickhouse.ts';
import { resolveStackConfig, type StackConfigOptions } from './config.ts';
import { StackError } from './errors.ts';
import { ensureKafka, type KafkaEndpoint, kafkaStatus, stopKafka } from './kafka.ts';
import { ensureNats, type NatsEndpoint, natsStatus, stopNats } from './nats.ts';
import { consoleStackLog, type StackLog, type StopOutcome } from './processes.ts';

export type { ClickHouseEndpoint } from './clickhouse.ts';
export type { StackConfig, StackConfigOptions } from './config.ts';
export { DEFAULT_KAFKA_VERSION, resolveStackConfig } from './config.ts';
export { isStackError, StackError, type StackErrorCode, StackPrerequisiteMissingError } from './errors.ts';
export type { KafkaEndpoint } from './kafka.ts';
export { type KafkaProbeResult, probeKafka } from './kafka-probe.ts';
export type { NatsEndpoint } from './nats.ts';
export { consoleStackLog, type StackLog, silentStackLog } from './processes.ts';

export const STACK_COMPONENTS = ['kafka', 'nats', 'clickhouse'] as const;
export type StackComponent = (typeof STACK_COMPONENTS)[number];

export interface StartStackOptions extends StackConfigOptions {
  /** Which components to bring up; all by default. */
  only?: StackComponent[];
  log?: StackLog;
}

export interface StackEndpoints {
  /** Present when Kafka was brought up (not excluded by `only`). */
  kafka?: KafkaEndpoint;
  nats?: NatsEndpoint;
  clickhouse?: ClickHouseEndpoint;
  /** The components whose server this call started (the others were already running, or have none). */
  startedByUs: StackComponent[];
  /** Wall time of the whole call. */
  elapsedMs: number;
}

function selected(only: readonly StackComponent[] | undefined): StackComponent[] {
  if (only === undefined) return [...STACK_COMPONENTS];
  for (const name of only) {
    if (!STACK_COMPONENTS.includes(name)) {
      throw new StackError(
        'KANSOKU_STACK_CONFIG_INVALID',
        `unknown stack component "${name}" (known: ${STACK_COMPONENTS.join(', ')})`,
      );
    }
  }
  return STACK_COMPONENTS.filter((name) => only.includes(name));
}

/**
 * Brings the stack up and returns where to reach it. Idempotent: what already answers is reused, so
 * calling it twice (or from two processes at once) starts one of each. The components start in
 * parallel; the first failure is thrown (a StackError with a one-line message) after all have settled.
 */
export async function startStack(options: StartStackOptions = {}): Promise<StackEndpoints> {
  const started = Date.now();
  const log = options.log ?? consoleStackLog;
  const config = resolveStackConfig(options);
  const names = selected(options.only);
  const result: StackEndpoints = { startedByUs: [], elapsedMs: 0 };

  const tasks: Promise<void>[] = names.map(async (name) => {
    switch (name) {
      case 'kafka': {
        const kafka = await ensureKafka(config.kafka, log);
        result.kafka = { brokers: kafka.brokers };
        if (kafka.startedByUs) result.startedByUs.push('kafka');
        return;
      }
      case 'nats': {
        const nats = await ensureNats(config.nats, log);
        result.nats = { servers: nats.servers };
        if (nats.startedByUs) result.startedByUs.push('nats');
        return;
      }
      case 'clickhouse': {
        const clickhouse = await ensureClickHouse(config.clickhouse, config.root, log);
        result.clickhouse =
          clickhouse.url !== undefined ? { url: clickhouse.url } : { path: clickhouse.path };
        return;
      }
    }
  });
  const settled = await Promise.allSettled(tasks);
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (failures.length > 0) {
    for (const extra of failures.slice(1)) log.warn(extra instanceof Error ? extra.message : String(extra));
    throw failures[0];
  }
  result.startedByUs.sort((a, b) => STACK_COMPONENTS.indexOf(a) - STACK_COMPONENTS.indexOf(b));
  result.elapsedMs = Date.now() - started;
  log.info(
    `stack ready in ${(result.elapsedMs / 1000).toFixed(1)} s` +
      (result.startedByUs.length > 0 ? ` (started: ${result.startedByUs.join(', ')})` : ' (all reused)'),
  );
  return result;
}

export interface StopStackOptions extends StackConfigOptions {
  log?: StackLog;
  /** How long each server gets after SIGTERM before SIGKILL. */
  timeoutMs?: number;
}

/**
 * Stops the servers this launcher started (found through their pid files, in any earlier process), in
 * reverse order of dependence: NATS, then Kafka. A server this launcher did not start is left alone.
 * ClickHouse is embedded: there is nothing to stop. Returns what happened to each.
 */
export async function stopStack(
  names?: StackComponent[],
  options: StopStackOptions = {},
): Promise<Partial<Record<StackComponent, StopOutcome>>> {
  const log = options.log ?? consoleStackLog;
  const config = resolveStackConfig(options);
  const chosen = selected(names);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const outcome: Partial<Record<StackComponent, StopOutcome>> = {};
  if (chosen.includes('nats')) outcome.nats = await stopNats(config.nats, log, timeoutMs);
  if (chosen.includes('kafka')) outcome.kafka = await stopKafka(config.kafka, log, timeoutMs);
  if (chosen.includes('clickhouse')) outcome.clickhouse = 'not-running';
  return outcome;
}

export interface ComponentStatus {
  name: StackComponent;
  /** Where clients reach it (host:port list, URL or data directory). */
  endpoint: string[];
  /** It answers a real request (Kafka Metadata, NATS healthz with JetStream, chDB SELECT / server ping). */
  healthy: boolean;
  /** The pid of the server this launcher started, if it runs. */
  pid: number | undefined;
  detail: string;
}

/** Health of each component, without starting or stopping anything. */
export async function stackStatus(
  options: StackConfigOptions & { only?: StackComponent[] } = {},
): Promise<ComponentStatus[]> {
  const config = resolveStackConfig(options);
  const names = selected(options.only);
  const check: Record<StackComponent, () => Promise<ComponentStatus>> = {
    kafka: () => kafkaStatus(config.kafka),
    nats: () => natsStatus(config.nats),
    clickhouse: () => clickHouseStatus(config.clickhouse, config.root),
  };
  return Promise.all(names.map((name) => check[name]()));
}
