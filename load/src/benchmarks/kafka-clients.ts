/**
 * kafkajs vs @platformatic/kafka against the real broker: produce rate with acks=all, then a consumer group
 * reading the topic from the beginning. Every case runs on a fresh topic, is repeated, and reports the median.
 * After each produce the topic's message count is checked against what was sent, so a client that acknowledges
 * messages it did not write cannot win by it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafkaAdmin, describeError } from '@kansoku/kit/kafka/index';
import {
  BenchArgumentError,
  type Benchmark,
  intFlag,
  listFlag,
  median,
  type ResultTable,
  stringFlag,
} from '../benchmark.ts';
import { type BenchMessage, type ClientDriver, kafkajsDriver, platformaticDriver } from '../kafka/drivers.ts';
import { kitDriver } from '../kafka/kit-driver.ts';

const DRIVERS: Record<string, ClientDriver> = {
  kafkajs: kafkajsDriver,
  platformatic: platformaticDriver,
  kit: kitDriver,
};

interface ProducerMode {
  name: string;
  idempotent: boolean;
  /** Sends in flight: the --inflight flag, or one. */
  pipelined: boolean;
  description: string;
}

const MODES: Record<string, ProducerMode> = {
  'idempotent-pipelined': {
    name: 'idempotent-pipelined',
    idempotent: true,
    pipelined: true,
    description: 'acks=all, idempotent, --inflight sends awaited concurrently',
  },
  idempotent: {
    name: 'idempotent',
    idempotent: true,
    pipelined: false,
    description: 'acks=all, idempotent, one send at a time',
  },
  pipelined: {
    name: 'pipelined',
    idempotent: false,
    pipelined: true,
    description: 'acks=all, not idempotent, --inflight sends awaited concurrently',
  },
};

const DEFAULT_MESSAGES: Record<number, number> = { 200: 200_000, 1024: 100_000 };
const MB = 1_000_000;

interface ProduceSample {
  run: number;
  topic: string;
  seconds: number;
  messagesPerSecond: number;
  megabytesPerSecond: number;
  /** Messages the topic holds after the produce (sum of high − low watermarks). */
  written: number;
  /** The topic holds exactly the messages sent: none lost, none written twice. Only such runs are rated. */
  complete: boolean;
}

/** A produce run that threw: what its resolved sends acknowledged, and what the topic holds. */
interface FailedProduce {
  run: number;
  topic: string;
  error: string;
  acknowledged: number;
  written: number;
}

interface ConsumeSample {
  run: number;
  topic: string;
  firstMessageSeconds: number;
  seconds: number;
  messagesPerSecond: number;
  megabytesPerSecond: number;
}

interface CaseResult {
  client: string;
  clientVersion: string;
  size: number;
  messages: number;
  produce: Record<string, { samples: ProduceSample[]; failures: FailedProduce[]; error?: string }>;
  consume: { samples: ConsumeSample[]; error?: string };
}

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..');

/** The broker version from the Maven jar the stack launcher runs (…/kafka_2.13-4.1.0.jar), if found. */
async function brokerVersion(): Promise<string | null> {
  const walk = async (dir: string, depth: number): Promise<string | null> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return null;
    }
    for (const entry of entries) {
      const match = /^kafka_2\.13-(\d+\.\d+\.\d+[^/]*?)\.jar$/.exec(entry.name);
      if (entry.isFile() && match?.[1] && !match[1].includes('test')) return match[1];
    }
    if (depth === 0) return null;
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const found = await walk(path.join(dir, entry.name), depth - 1);
      if (found) return found;
    }
    return null;
  };
  return walk(path.join(repoRoot, '.cache', 'kafka'), 4);
}

/** kit always produces idempotently: it has no non-idempotent mode to measure. */
function runsMode(driver: ClientDriver, mode: ProducerMode): boolean {
  return mode.idempotent || !driver.alwaysIdempotent;
}

function makeBatches(count: number, size: number, batchSize: number): BenchMessage[][] {
  // One random block sliced per message: incompressible values without allocating `count` buffers.
  const pool = randomBytes(size * 1024);
  const batches: BenchMessage[][] = [];
  for (let start = 0; start < count; start += batchSize) {
    const batch: BenchMessage[] = [];
    for (let i = start; i < Math.min(start + batchSize, count); i++) {
      const offset = (i % 1024) * size;
      batch.push({ key: Buffer.from(`key-${i}`), value: pool.subarray(offset, offset + size) });
    }
    batches.push(batch);
  }
  return batches;
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

const benchmark: Benchmark = {
  name: 'kafka-clients',
  description:
    'kafkajs vs @platformatic/kafka (and kit on top of it): produce acks=all and group consume rates',
  flags: {
    brokers: 'bootstrap brokers, comma-separated (default $KANSOKU_KAFKA_BROKERS or 127.0.0.1:9092)',
    clients: 'clients to compare (default kafkajs,platformatic; also: kit)',
    sizes: 'message value sizes in bytes (default 200,1024)',
    messages: 'messages per run for every size (default 200000 for 200 B, 100000 for 1 KiB)',
    runs: 'runs per case; the median is reported (default 3)',
    batch: 'messages per send (default 1000)',
    inflight: 'sends in flight in the pipelined modes (default 4)',
    modes: `producer modes (default ${Object.keys(MODES).join(',')}): ${Object.values(MODES)
      .map((mode) => `${mode.name} = ${mode.description}`)
      .join('; ')}`,
    partitions: 'partitions of each fresh topic (default 3)',
    'timeout-ms': 'longest wait for a consumer to read every message (default 120000)',
  },

  async run(args) {
    const brokers = stringFlag(args, 'brokers', process.env.KANSOKU_KAFKA_BROKERS ?? '127.0.0.1:9092').split(
      ',',
    );
    const clients = listFlag(args, 'clients', ['kafkajs', 'platformatic']);
    const sizes = listFlag(args, 'sizes', ['200', '1024']).map(Number);
    const runs = intFlag(args, 'runs', 3);
    const batchSize = intFlag(args, 'batch', 1000);
    const inflight = intFlag(args, 'inflight', 4);
    const partitions = intFlag(args, 'partitions', 3);
    const timeoutMs = intFlag(args, 'timeout-ms', 120_000);
    const modes = listFlag(args, 'modes', Object.keys(MODES)).map((name) => {
      const mode = MODES[name];
      if (!mode)
        throw new BenchArgumentError(`unknown mode ${name}; known: ${Object.keys(MODES).join(', ')}`);
      return mode;
    });
    for (const client of clients) {
      if (!DRIVERS[client]) {
        throw new BenchArgumentError(`unknown client ${client}; known: ${Object.keys(DRIVERS).join(', ')}`);
      }
    }
    for (const size of sizes) {
      if (!Number.isInteger(size) || size <= 0) throw new BenchArgumentError(`bad size ${size}`);
    }

    const admin = createKafkaAdmin({ brokers, clientId: 'bench-admin' });
    const cluster = await admin.describeCluster();
    const version = await brokerVersion();
    log(`broker(s) ${brokers.join(',')}: ${cluster.brokers} node(s), Kafka ${version ?? 'version unknown'}`);

    const results: CaseResult[] = [];
    const notes: string[] = [];
    try {
      for (const size of sizes) {
        const count =
          args.messages !== undefined ? intFlag(args, 'messages', 0) : (DEFAULT_MESSAGES[size] ?? 100_000);
        const batches = makeBatches(count, size, batchSize);
        const bytes = count * size;
        const cases = new Map<string, CaseResult>();
        for (const client of clients) {
          const driver = DRIVERS[client]!;
          const entry: CaseResult = {
            client: driver.name,
            clientVersion: driver.version,
            size,
            messages: count,
            produce: Object.fromEntries(
              modes
                .filter((mode) => runsMode(driver, mode))
                .map((mode) => [mode.name, { samples: [], failures: [] }]),
            ),
            consume: { samples: [] },
          };
          cases.set(client, entry);
          results.push(entry);
        }

        for (let run = 1; run <= runs; run++) {
          // Alternate which client goes first so neither always meets a warmer broker.
          const order = run % 2 === 1 ? clients : [...clients].reverse();
          for (const client of order) {
            const driver = DRIVERS[client]!;
            const entry = cases.get(client)!;
            let consumeTopic: string | undefined;
            const topics: string[] = [];
            for (const mode of modes) {
              if (!runsMode(driver, mode)) continue;
              const topic = `bench-${client}-${size}-${mode.name}-${randomUUID()}`;
              topics.push(topic);
              await admin.ensureTopics([{ name: topic, partitions, retentionMs: 3_600_000 }]);
              const slot = entry.produce[mode.name]!;
              const progress = { acknowledged: 0 };
              try {
                const timing = await driver.produce({
                  brokers,
                  topic,
                  batches,
                  inflight: mode.pipelined ? inflight : 1,
                  idempotent: mode.idempotent,
                  progress,
                });
                const written = Number(await admin.topicMessageCount(topic));
                const sample: ProduceSample = {
                  run,
                  topic,
                  seconds: timing.seconds,
                  messagesPerSecond: count / timing.seconds,
                  megabytesPerSecond: bytes / MB / timing.seconds,
                  written,
                  complete: written === count,
                };
                slot.samples.push(sample);
                log(
                  `${client} ${size} B ${mode.name} run ${run}: ${Math.round(sample.messagesPerSecond)} msg/s` +
                    `${sample.complete ? '' : ` — topic holds ${written} of ${count} acknowledged messages`}`,
                );
                if (sample.complete && consumeTopic === undefined) consumeTopic = topic;
              } catch (error) {
                slot.error = describeError(error);
                const written = Number(await admin.topicMessageCount(topic));
                slot.failures.push({
                  run,
                  topic,
                  error: slot.error,
                  acknowledged: progress.acknowledged,
                  written,
                });
                log(
                  `${client} ${size} B ${mode.name} run ${run}: failed after ${progress.acknowledged} acknowledged ` +
                    `messages (topic holds ${written}): ${slot.error}`,
                );
              }
            }
            if (consumeTopic !== undefined) {
              try {
                const timing = await driver.consume({
                  brokers,
                  topic: consumeTopic,
                  groupId: `bench-${client}-${randomUUID()}`,
                  expected: count,
                  maxBytes: 10 * 1024 * 1024,
                  maxBytesPerPartition: 1024 * 1024,
                  maxWaitMs: 500,
                  timeoutMs,
                });
                const sample: ConsumeSample = {
                  run,
                  topic: consumeTopic,
                  firstMessageSeconds: timing.firstMessageSeconds,
                  seconds: timing.seconds,
                  messagesPerSecond: timing.messages / timing.seconds,
                  megabytesPerSecond: timing.bytes / MB / timing.seconds,
                };
                entry.consume.samples.push(sample);
                log(`${client} ${size} B consume run ${run}: ${Math.round(sample.messagesPerSecond)} msg/s`);
              } catch (error) {
                entry.consume.error = describeError(error);
                log(`${client} ${size} B consume run ${run}: failed: ${entry.consume.error}`);
              }
            }
            await admin.deleteTopics(topics);
          }
        }
      }
    } finally {
      await admin.close();
    }

    const produceTable: ResultTable = {
      title:
        `Produce (acks=all, ${batchSize} messages per send, ${partitions} partitions; median of the exact runs ` +
        `(topic holds exactly what was sent) out of ${runs}; MB = 10^6 B of values)`,
      columns: ['client', 'size', 'mode', 'in flight', 'msgs/s', 'MB/s', 'exact runs'],
      rows: [],
    };
    const consumeTable: ResultTable = {
      title: `Consume (new group from the beginning until all N read; rate from first to last message; median of ${runs} runs)`,
      columns: ['client', 'size', 'N', 'msgs/s', 'MB/s', 's to 1st msg'],
      rows: [],
    };
    for (const entry of results) {
      for (const mode of modes) {
        const slot = entry.produce[mode.name];
        if (!slot) continue;
        const complete = slot.samples.filter((sample) => sample.complete);
        const incomplete = slot.samples.filter((sample) => !sample.complete);
        const rate = median(complete.map((sample) => sample.messagesPerSecond));
        produceTable.rows.push([
          entry.client,
          `${entry.size} B`,
          mode.name,
          mode.pipelined ? inflight : 1,
          complete.length > 0 ? Math.round(rate) : 'n/a',
          complete.length > 0 ? median(complete.map((sample) => sample.megabytesPerSecond)) : 'n/a',
          `${complete.length}/${slot.samples.length + slot.failures.length}` +
            `${slot.failures.length > 0 ? ` (${slot.failures.length} failed)` : ''}`,
        ]);
        for (const sample of incomplete) {
          notes.push(
            `${entry.client} ${entry.size} B ${mode.name} run ${sample.run}: every send resolved, but the topic ` +
              `holds ${sample.written} messages for ${entry.messages} sent (${
                sample.written < entry.messages
                  ? `${entry.messages - sample.written} lost`
                  : `${sample.written - entry.messages} written twice`
              })`,
          );
        }
        for (const failure of slot.failures) {
          const lost = failure.acknowledged - failure.written;
          notes.push(
            `${entry.client} ${entry.size} B ${mode.name} run ${failure.run}: failed (${failure.error}) after sends ` +
              `that resolved had acknowledged ${failure.acknowledged} messages; the topic holds ${failure.written}` +
              `${lost > 0 ? ` — ${lost} acknowledged messages are not on the topic` : ''}`,
          );
        }
      }
      const consumed = entry.consume.samples;
      consumeTable.rows.push([
        entry.client,
        `${entry.size} B`,
        entry.messages,
        consumed.length > 0 ? Math.round(median(consumed.map((sample) => sample.messagesPerSecond))) : 'n/a',
        consumed.length > 0 ? median(consumed.map((sample) => sample.megabytesPerSecond)) : 'n/a',
        consumed.length > 0 ? median(consumed.map((sample) => sample.firstMessageSeconds)) : 'n/a',
      ]);
      if (entry.consume.error) notes.push(`${entry.client} ${entry.size} B consume: ${entry.consume.error}`);
    }

    return {
      tables: [produceTable, consumeTable],
      notes,
      broker: { bootstrap: brokers, nodes: cluster.brokers, version },
      settings: { sizes, runs, batchSize, inflight, partitions, modes: modes.map((mode) => mode.name) },
      cases: results,
    };
  },
};

export default benchmark;
