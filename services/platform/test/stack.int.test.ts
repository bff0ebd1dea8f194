/**
 * The local stack, for real: the broker, nats-server and chDB that test/setup/stack.ts brought up are
 * checked with real clients (kafkajs, @nats-io, chdb) beside the launcher's own probes; starting again
 * starts nothing; a second NATS and a second Kafka on free ports, in a scratch data directory, show that
 * two concurrent starts make one server and that a stop is clean (the next start skips log recovery).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveStackConfig } from '../src/stack/config.ts';
import {
  probeKafka,
  type StackConfigOptions,
  silentStackLog,
  stackStatus,
  startStack,
  stopStack,
} from '../src/stack/index.ts';
import { natsInfo } from '../src/stack/nats.ts';

const root = resolveStackConfig().root;
const kitRequire = createRequire(join(root, 'services', 'kit', 'package.json'));

interface KafkaJs {
  Kafka: new (config: {
    brokers: string[];
    clientId: string;
    logLevel: number;
  }) => {
    admin(): {
      connect(): Promise<void>;
      disconnect(): Promise<void>;
      describeCluster(): Promise<{
        brokers: { nodeId: number; host: string; port: number }[];
        controller: number | null;
        clusterId: string;
      }>;
      createTopics(options: { topics: { topic: string }[]; waitForLeaders?: boolean }): Promise<boolean>;
      fetchTopicMetadata(options: {
        topics: string[];
      }): Promise<{ topics: { name: string; partitions: unknown[] }[] }>;
      deleteTopics(options: { topics: string[] }): Promise<void>;
    };
  };
  logLevel: { NOTHING: number };
}

// The few client calls used here (the packages are @kansoku/kit's, not this package's dependencies).
interface NatsConnection {
  close(): Promise<void>;
}
interface NatsTransport {
  connect(options: { servers: string[] }): Promise<NatsConnection>;
}
interface NatsJetStream {
  jetstreamManager(nc: NatsConnection): Promise<{
    getAccountInfo(): Promise<{ limits: unknown }>;
    streams: {
      add(config: { name: string; subjects: string[] }): Promise<unknown>;
      delete(name: string): Promise<boolean>;
    };
  }>;
  jetstream(nc: NatsConnection): {
    publish(subject: string, data: string): Promise<{ stream: string; seq: number }>;
  };
}

/** Command lines of the live processes whose command line holds `marker` (Linux /proc). */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (commandLine.includes(marker)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

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

describe('local stack', () => {
  const provided = inject('kansokuStack');
  const config = resolveStackConfig();

  it('exposes its endpoints to the tests through the environment and inject()', () => {
    expect(provided.kafkaBrokers.length).toBeGreaterThan(0);
    expect(process.env.KANSOKU_KAFKA_BROKERS).toBe(provided.kafkaBrokers.join(','));
    expect(process.env.KANSOKU_NATS_SERVERS).toBe(provided.natsServers.join(','));
  });

  it('starting again starts nothing: one broker and one nats-server', async () => {
    const before = await stackStatus();
    expect(before.map((s) => [s.name, s.healthy])).toEqual([
      ['kafka', true],
      ['nats', true],
      ['clickhouse', true],
    ]);
    const again = await startStack({ log: silentStackLog });
    expect(again.startedByUs).toEqual([]);
    expect(again.kafka?.brokers).toEqual(provided.kafkaBrokers);
    expect(again.nats?.servers).toEqual(provided.natsServers);
    const after = await stackStatus();
    expect(after.map((s) => s.pid)).toEqual(before.map((s) => s.pid));
    // A broker and a nats-server this launcher started are each alone on their data directory.
    expect(
      processesWith(`kafka.Kafka ${join(config.kafka.dataDir, 'server.properties')}`).length,
    ).toBeLessThanOrEqual(1);
    expect(processesWith(`-sd ${config.nats.dataDir}`).length).toBeLessThanOrEqual(1);
  });

  it('Kafka answers a metadata request (raw probe and kafkajs) with the single-node settings', async () => {
    const [host, port] = provided.kafkaBrokers[0]!.split(':');
    const probe = await probeKafka(host!, Number(port));
    expect(probe.brokers.length).toBe(1);
    expect(probe.brokers[0]!.port).toBe(Number(port));
    expect(probe.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const { Kafka, logLevel } = kitRequire('kafkajs') as KafkaJs;
    const admin = new Kafka({
      brokers: provided.kafkaBrokers,
      clientId: 'stack-test',
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.clusterId).toBe(probe.clusterId);
      expect(cluster.brokers.map((b) => b.nodeId)).toEqual([probe.brokers[0]!.nodeId]);
      expect(cluster.controller).not.toBeNull();

      const topic = `test-${randomUUID()}`;
      // Topics are never created by asking for them (auto.create.topics.enable=false) …
      await expect(admin.fetchTopicMetadata({ topics: [topic] })).rejects.toThrow();
      // … and an explicit one gets the broker's default of 3 partitions.
      expect(await admin.createTopics({ topics: [{ topic }], waitForLeaders: true })).toBe(true);
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(metadata.topics[0]!.partitions).toHaveLength(3);
      await admin.deleteTopics({ topics: [topic] });
    } finally {
      await admin.disconnect();
    }
  });

  it('NATS has JetStream enabled: the server says so and a stream takes a message', async () => {
    const [host, port] = provided.natsServers[0]!.split(':');
    const info = await natsInfo(host!, Number(port));
    expect(info.jetstream).toBe(true);

    const { connect } = kitRequire('@nats-io/transport-node') as NatsTransport;
    const { jetstreamManager, jetstream } = kitRequire('@nats-io/jetstream') as NatsJetStream;
    const nc = await connect({ servers: provided.natsServers });
    try {
      const jsm = await jetstreamManager(nc);
      const account = await jsm.getAccountInfo();
      expect(account.limits).toBeDefined();
      const name = `test_${randomUUID().replaceAll('-', '')}`;
      await jsm.streams.add({ name, subjects: [`${name}.>`] });
      const ack = await jetstream(nc).publish(`${name}.one`, 'hello');
      expect(ack.stream).toBe(name);
      expect(ack.seq).toBe(1);
      await jsm.streams.delete(name);
    } finally {
      await nc.close();
    }
  });

  it('chDB loads and answers SELECT 1', () => {
    if (provided.clickhouse.url !== undefined) return;
    expect(provided.clickhouse.path).toBe(config.clickhouse.path);
    const chdb = kitRequire('chdb') as { query(sql: string, format?: string): string };
    expect(chdb.query('SELECT 1', 'TabSeparated').trim()).toBe('1');
    expect(chdb.query('SELECT version()', 'TabSeparated').trim()).toMatch(/^\d+\.\d+/);
  });
});

describe('a second stack in a scratch directory', () => {
  let scratch: string;
  let options: StackConfigOptions;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'kansoku-stack-'));
    const kafkaPort = await freePort();
    // Same jars (cache) as the main stack, its own data directory and ports.
    options = {
      dataDir: scratch,
      cacheDir: resolveStackConfig().cacheDir,
      kafka: {
        brokers: [`127.0.0.1:${kafkaPort}`],
        controllerPort: await freePort(),
        heap: ['-Xms256m', '-Xmx512m'],
      },
      nats: { servers: [`127.0.0.1:${await freePort()}`], monitorPort: await freePort() },
    };
  });

  afterAll(async () => {
    await stopStack(['nats', 'kafka'], { ...options, log: silentStackLog });
    await rm(scratch, { recursive: true, force: true });
  });

  it('two concurrent starts make one nats-server; stop ends it', async () => {
    const [a, b] = await Promise.all([
      startStack({ ...options, only: ['nats'], log: silentStackLog }),
      startStack({ ...options, only: ['nats'], log: silentStackLog }),
    ]);
    expect([...a.startedByUs, ...b.startedByUs]).toEqual(['nats']);
    expect(processesWith(`-sd ${join(scratch, 'nats')}`)).toHaveLength(1);
    expect(await stopStack(['nats'], { ...options, log: silentStackLog })).toEqual({ nats: 'stopped' });
    expect(processesWith(`-sd ${join(scratch, 'nats')}`)).toHaveLength(0);
  });

  it('Kafka stops cleanly within 30 s, so the next start skips log recovery', async () => {
    const first = await startStack({ ...options, only: ['kafka'], log: silentStackLog });
    expect(first.startedByUs).toEqual(['kafka']);
    const marker = `kafka.Kafka ${join(scratch, 'kafka', 'server.properties')}`;
    expect(processesWith(marker)).toHaveLength(1);
    // A partition on disk, so that the restart has a log to recover or not.
    const { Kafka, logLevel } = kitRequire('kafkajs') as KafkaJs;
    const admin = new Kafka({
      brokers: first.kafka!.brokers,
      clientId: 'stack-test',
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: `test-${randomUUID()}` }], waitForLeaders: true });
    await admin.disconnect();

    const stopped = Date.now();
    expect(await stopStack(['kafka'], { ...options, log: silentStackLog })).toEqual({ kafka: 'stopped' });
    expect(Date.now() - stopped).toBeLessThan(30_000);
    expect(processesWith(marker)).toHaveLength(0);
    expect(existsSync(join(scratch, 'kafka', 'kraft', '.kafka_cleanshutdown'))).toBe(true);

    const second = await startStack({ ...options, only: ['kafka'], log: silentStackLog });
    expect(second.startedByUs).toEqual(['kafka']);
    const log = await readFile(join(scratch, 'kafka', 'broker.log'), 'utf8');
    expect(log).toMatch(/Skipping recovery of \d+ logs? .*clean shutdown file was found/);
    const [host, port] = second.kafka!.brokers[0]!.split(':');
    expect((await probeKafka(host!, Number(port))).brokers).toHaveLength(1);
  });
});
