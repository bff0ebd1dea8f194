/**
 * What a person sees when the machine lacks something the stack needs: one line naming it and the
 * command that installs it, as a StackPrerequisiteMissingError with a stable code. Nothing is mocked:
 * the launcher is pointed (through its options) at programs that do not exist, or at small scripts that
 * answer `-version` like an old Java would, in a scratch directory and on ports where nothing runs.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runStackCommand } from '../src/stack/cli.ts';
import {
  isStackError,
  probeKafka,
  type StackConfigOptions,
  type StackError,
  StackPrerequisiteMissingError,
  silentStackLog,
  startStack,
} from '../src/stack/index.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function rejection(promise: Promise<unknown>): Promise<StackError> {
  try {
    await promise;
  } catch (error) {
    if (isStackError(error)) return error;
    throw error;
  }
  throw new Error('expected a StackError, but it resolved');
}

let scratch: string;
let base: StackConfigOptions;
let fakeJava17: string;
let fakeJava11: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'kansoku-prereq-'));
  // Scripts that answer `-version` the way those Java versions do (on stderr), and do nothing else.
  fakeJava17 = join(scratch, 'java17');
  fakeJava11 = join(scratch, 'java11');
  await writeFile(fakeJava17, '#!/bin/sh\necho \'openjdk version "17.0.15" 2025-04-15\' >&2\n');
  await writeFile(fakeJava11, '#!/bin/sh\necho \'openjdk version "11.0.22" 2024-01-16\' >&2\n');
  await chmod(fakeJava17, 0o755);
  await chmod(fakeJava11, 0o755);
  base = {
    env: {},
    cacheDir: join(scratch, 'cache'),
    dataDir: join(scratch, 'data'),
    kafka: { brokers: [`127.0.0.1:${await freePort()}`], controllerPort: await freePort() },
    nats: { servers: [`127.0.0.1:${await freePort()}`], monitorPort: await freePort() },
    clickhouse: {},
  };
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('missing prerequisites', () => {
  it('names a missing Java and how to install it, in one line', async () => {
    const error = await rejection(
      startStack({
        ...base,
        only: ['kafka'],
        kafka: { ...base.kafka, java: '/nonexistent/bin/java' },
        log: silentStackLog,
      }),
    );
    expect(error).toBeInstanceOf(StackPrerequisiteMissingError);
    expect(error.code).toBe('KANSOKU_STACK_PREREQUISITE_MISSING');
    expect(error.message).toBe(
      'Java 17+ not found at /nonexistent/bin/java: apt-get install openjdk-17-jre-headless',
    );
    expect((error as StackPrerequisiteMissingError).prerequisite).toBe('java');
    expect(error.component).toBe('kafka');
    // Printed as it is, it is one line and no trace.
    expect(error.stack).toBe(
      `StackPrerequisiteMissingError [KANSOKU_STACK_PREREQUISITE_MISSING]: ${error.message}`,
    );
  });

  it('takes a Java older than 17 for a missing one, saying which version it found', async () => {
    const error = await rejection(
      startStack({
        ...base,
        only: ['kafka'],
        kafka: { ...base.kafka, java: fakeJava11 },
        log: silentStackLog,
      }),
    );
    expect(error.code).toBe('KANSOKU_STACK_PREREQUISITE_MISSING');
    expect(error.message).toMatch(
      /^Java 17\+ not found: .*java11 is Java 11: apt-get install openjdk-17-jre-headless/,
    );
  });

  it('names a missing Maven when the broker still has to be fetched', async () => {
    const error = await rejection(
      startStack({
        ...base,
        only: ['kafka'],
        kafka: { ...base.kafka, java: fakeJava17, mvn: '/nonexistent/bin/mvn' },
        log: silentStackLog,
      }),
    );
    expect(error.code).toBe('KANSOKU_STACK_PREREQUISITE_MISSING');
    expect(error.message).toBe(
      'Maven not found at /nonexistent/bin/mvn (needed once to fetch Kafka 4.4.0): apt-get install maven',
    );
  });

  it('names a missing nats-server', async () => {
    const error = await rejection(
      startStack({
        ...base,
        only: ['nats'],
        nats: { ...base.nats, bin: '/nonexistent/nats-server' },
        log: silentStackLog,
      }),
    );
    expect(error.code).toBe('KANSOKU_STACK_PREREQUISITE_MISSING');
    expect(error.message).toBe(
      'nats-server not found at /nonexistent/nats-server: apt-get install nats-server',
    );
  });

  it('the stack command prints the code and the message on one line and exits 1', async () => {
    vi.stubEnv('KANSOKU_STACK_DATA_DIR', join(scratch, 'data'));
    vi.stubEnv('KANSOKU_STACK_CACHE_DIR', join(scratch, 'cache'));
    vi.stubEnv('KANSOKU_NATS_SERVERS', base.nats!.servers![0]!);
    vi.stubEnv('KANSOKU_NATS_MONITOR_PORT', String(base.nats!.monitorPort));
    vi.stubEnv('KANSOKU_NATS_SERVER_BIN', '/nonexistent/nats-server');
    const out: string[] = [];
    const err: string[] = [];
    try {
      const code = await runStackCommand(
        ['up', '--only', 'nats'],
        (l) => out.push(l),
        (l) => err.push(l),
      );
      expect(code).toBe(1);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(out).toEqual([]);
    expect(err).toEqual([
      'KANSOKU_STACK_PREREQUISITE_MISSING: nats-server not found at /nonexistent/nats-server: apt-get install nats-server',
    ]);
  });
});

describe('configuration and probes', () => {
  it('rejects a broker address that is not host:port, naming the variable', async () => {
    const error = await rejection(
      startStack({ env: { KANSOKU_KAFKA_BROKERS: 'kafka:ninety' }, only: ['kafka'], log: silentStackLog }),
    );
    expect(error.code).toBe('KANSOKU_STACK_CONFIG_INVALID');
    expect(error.message).toBe('KANSOKU_KAFKA_BROKERS: "kafka:ninety" is not host:port');
  });

  it('does not take a port that answers something else for a Kafka broker', async () => {
    // An HTTP-ish server: it accepts the connection and answers with text, as a wrong service would.
    const server: Server = createServer((socket) => {
      socket.on('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      await expect(probeKafka('127.0.0.1', port, 1000)).rejects.toThrow(/not a Kafka response|closed/);
      const error = await rejection(
        startStack({
          ...base,
          kafka: { brokers: [`127.0.0.1:${port}`], controllerPort: await freePort(), java: fakeJava17 },
          only: ['kafka'],
          log: silentStackLog,
        }),
      );
      expect(error.code).toBe('KANSOKU_STACK_PORT_IN_USE');
      expect(error.message).toContain(`127.0.0.1:${port} is taken by something that is not a Kafka broker`);
    } finally {
      server.close();
    }
  });
});
