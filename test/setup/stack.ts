/**
 * Global setup of the `integration` vitest project: brings up the local stack (Kafka in KRaft mode,
 * nats-server with JetStream, embedded ClickHouse) once for the whole run, reusing whatever already
 * answers (a `kansoku up` in another terminal, or a stack from an earlier run).
 *
 * How tests find it — both ways work, use either:
 *  - environment: KANSOKU_KAFKA_BROKERS and KANSOKU_NATS_SERVERS (and KANSOKU_CLICKHOUSE_URL when a
 *    server is configured) are set here before the workers start; vitest 3 forks its workers after the
 *    global setup with a copy of process.env, so code that reads its configuration from the environment
 *    (the services' config loader) sees them as is;
 *  - `inject('kansokuStack')` from vitest, typed below (the `provide` route vitest documents).
 * The embedded ClickHouse data directory is only provided (`kansokuStack.clickhouse.path`), not put in
 * the environment: a database directory belongs to one process, so tests use their own directories.
 *
 * Teardown stops only what this setup started itself; KANSOKU_KEEP_STACK=1 leaves it running for the
 * next run (which then starts in well under a second).
 */
import type { TestProject } from 'vitest/node';
import {
  consoleStackLog,
  isStackError,
  type StackComponent,
  startStack,
  stopStack,
} from '../../services/platform/src/stack/index.ts';

export interface ProvidedStack {
  kafkaBrokers: string[];
  natsServers: string[];
  clickhouse: { path?: string; url?: string };
  /** What this run's setup started (the rest was already running). */
  startedByUs: StackComponent[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    kansokuStack: ProvidedStack;
  }
}

export default async function setupStack(project: TestProject): Promise<() => Promise<void>> {
  let stack: Awaited<ReturnType<typeof startStack>>;
  try {
    stack = await startStack({ log: consoleStackLog });
  } catch (error) {
    if (isStackError(error)) {
      // The message says what is missing and how to fix it; a trace would only bury it.
      error.stack = `${error.name} [${error.code}]: ${error.message}`;
    }
    throw error;
  }
  const provided: ProvidedStack = {
    kafkaBrokers: stack.kafka?.brokers ?? [],
    natsServers: stack.nats?.servers ?? [],
    clickhouse:
      stack.clickhouse?.url !== undefined
        ? { url: stack.clickhouse.url }
        : { path: stack.clickhouse?.path ?? '' },
    startedByUs: stack.startedByUs,
  };
  process.env.KANSOKU_KAFKA_BROKERS = provided.kafkaBrokers.join(',');
  process.env.KANSOKU_NATS_SERVERS = provided.natsServers.join(',');
  if (provided.clickhouse.url !== undefined) process.env.KANSOKU_CLICKHOUSE_URL = provided.clickhouse.url;
  project.provide('kansokuStack', provided);

  return async () => {
    if (process.env.KANSOKU_KEEP_STACK === '1' || stack.startedByUs.length === 0) return;
    await stopStack(stack.startedByUs, { log: consoleStackLog });
  };
}
