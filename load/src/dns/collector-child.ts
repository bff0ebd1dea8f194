/**
 * The DNS collector in a process of its own, as a deployment at hundreds of thousands of dnstap messages a
 * second runs it (`kansoku run dns-collector` on one host, `kansoku run dns-processor` on another, or two
 * Deployments): built as the platform's dns-collector service builds it (kit's producer, the collector), so
 * the processor's synchronous warehouse inserts never stall the receive loop. `startCollectorProcess(options)`
 * forks it and resolves once it listens; `stats()` asks it for its counters and CPU time, `stop()` drains it
 * (the collector flushes into the producer, the producer into Kafka) and waits for it to exit.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createMetricsRegistry, silentLogger } from '@kansoku/kit';
import { createKafkaProducer } from '@kansoku/kit/kafka/index';
import { createDnsCollector } from '../../../services/dns/src/index.ts';
import { startProfiler } from '../flows/cpu-profile.ts';

export interface CollectorProcessOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  /** Write a CPU profile of the child's main thread (node:inspector) to this file when it stops. */
  profileFile?: string;
}

export interface CollectorStats {
  frames: number;
  records: number;
  accepted: number;
  published: number;
  dropped: number;
  failed: number;
  /** CPU seconds the child has used so far (user + system). */
  cpuSeconds: number;
  rss: number;
}

type Message =
  | { type: 'start'; options: CollectorProcessOptions }
  | { type: 'listening'; port: number }
  | { type: 'stats'; id: number }
  | { type: 'stats-reply'; id: number; stats: CollectorStats }
  | { type: 'stop' }
  | { type: 'stopped' }
  | { type: 'error'; message: string };

async function child(): Promise<void> {
  const options = await new Promise<CollectorProcessOptions>((resolve) => {
    process.once('message', (m: Message) => {
      if (m.type === 'start') resolve(m.options);
    });
  });
  const logger = silentLogger();
  const registry = createMetricsRegistry({ processMetrics: false });
  const connection = { brokers: options.brokers, clientId: options.clientId };
  // The dnsCollector section's and the producer's defaults, as `kansoku run dns-collector` has them.
  const producer = createKafkaProducer(
    connection,
    { maxBatchMessages: 1000, lingerMs: 5 },
    { log: logger, metrics: registry },
  );
  await producer.start();
  const collector = createDnsCollector(
    {
      address: '127.0.0.1',
      port: 0,
      unixSocketPath: '',
      maxConnections: 256,
      maxFrameBytes: 256 * 1024,
      handshakeTimeoutMs: 10_000,
      pairingTimeoutMs: 10_000,
      maxPendingQueries: 200_000,
      queryLogFile: '',
      queryLogFromStart: false,
      syslogPort: -1,
      topic: options.topic,
      maxQueuedRecords: 200_000,
      maxSendRecords: 10_000,
    },
    { producer, log: logger, metrics: registry },
  );
  await collector.start();
  const profiler = options.profileFile === undefined ? undefined : await startProfiler();
  process.on('message', (m: Message) => {
    if (m.type === 'stats') {
      const counts = collector.publisher.counts();
      const assembler = collector.assembler.stats();
      const cpu = process.cpuUsage();
      process.send?.({
        type: 'stats-reply',
        id: m.id,
        stats: {
          frames: assembler.frames,
          records: assembler.records,
          accepted: counts.accepted,
          published: counts.published,
          dropped: counts.dropped,
          failed: counts.failed,
          cpuSeconds: (cpu.user + cpu.system) / 1e6,
          rss: process.memoryUsage().rss,
        },
      } satisfies Message);
    } else if (m.type === 'stop') {
      void (async () => {
        await profiler?.stop(options.profileFile);
        await collector.stop();
        await producer.stop();
        process.send?.({ type: 'stopped' } satisfies Message, () => process.exit(0));
      })();
    }
  });
  process.send?.({ type: 'listening', port: collector.tcpPort() } satisfies Message);
}

export interface CollectorProcess {
  port: number;
  pid: number;
  stats(): Promise<CollectorStats>;
  stop(): Promise<void>;
}

export async function startCollectorProcess(options: CollectorProcessOptions): Promise<CollectorProcess> {
  const childPath = fileURLToPath(import.meta.url);
  const proc = fork(childPath, ['--child'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: process.execArgv,
  });
  const exited = new Promise<never>((_, reject) => {
    proc.on('message', (m: Message) => {
      if (m.type === 'error') reject(new Error(`DNS collector process: ${m.message}`));
    });
    proc.once('exit', (code) => reject(new Error(`DNS collector process exited with ${code}`)));
  });
  exited.catch(() => undefined);
  const listening = new Promise<number>((resolve) => {
    proc.on('message', (m: Message) => {
      if (m.type === 'listening') resolve(m.port);
    });
  });
  proc.send({ type: 'start', options } satisfies Message);
  const port = await Promise.race([listening, exited]);
  let nextId = 0;
  return {
    port,
    pid: proc.pid ?? -1,
    stats() {
      const id = nextId++;
      const reply = new Promise<CollectorStats>((resolve) => {
        const onMessage = (m: Message) => {
          if (m.type === 'stats-reply' && m.id === id) {
            proc.off('message', onMessage);
            resolve(m.stats);
          }
        };
        proc.on('message', onMessage);
      });
      proc.send({ type: 'stats', id } satisfies Message);
      return Promise.race([reply, exited]);
    },
    async stop() {
      if (proc.exitCode !== null) return;
      const done = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.send({ type: 'stop' } satisfies Message);
      const timeout = setTimeout(() => proc.kill(), 60_000);
      await done;
      clearTimeout(timeout);
    },
  };
}

if (process.argv.includes('--child')) {
  child().catch((error: unknown) => {
    process.send?.({ type: 'error', message: String(error) } satisfies Message);
    process.exit(1);
  });
}
