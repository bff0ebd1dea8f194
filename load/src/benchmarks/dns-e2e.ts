/**
 * The DNS pipeline end to end on one machine: dnstap over Frame Streams (TCP) from a second process → the DNS
 * collector → Kafka (the real broker) → the DNS processor → ClickHouse (embedded chDB in a temporary folder),
 * sustained for --seconds at --rate dnstap messages/s.
 *
 * The collector runs in a child process of its own (load/src/dns/collector-child.ts, built as `kansoku run
 * dns-collector` builds it), as a deployment at these rates runs it: the processor's warehouse inserts are
 * synchronous and would stall the collector's receive loop in a shared process. The processor runs here (chDB is
 * embedded: only the writing process can read it) with the high-rate settings of docs/04-scaling.md: inserts of
 * up to --max-batch messages or --batch-delay-ms (larger inserts cost the engine less per query; queries wait up
 * to that delay before they are queryable). `--collector in-process` puts the collector back in this
 * process, as `kansoku up` runs everything. The load comes from the paced dnstap sender in a child process: query/response pairs
 * (CLIENT_QUERY + CLIENT_RESPONSE, two messages each, one DnsQuery record after pairing), the simulator's mix.
 * Without --rate, a probe ladder of --probe-seconds steps finds the highest rate at which nothing is lost
 * (< 0.1%) and no backlog builds (the step's records are all in ClickHouse within --held-drain-seconds of the
 * send's end); the sustained run then runs at it. Each step sends under its own dnstap identity (the resolver
 * column), so steps are counted apart.
 *
 * Counted: the queries column of the 1-minute rollup for the step's resolver; messages = 2 × queries.
 * messages_per_second = dnstap messages that reached ClickHouse ÷ (send time + catch-up). Latency: every second
 * a marker query (its own connection and identity) is sent; the raw table is polled every 250 ms, and the time
 * from send to first seen is the dnstap → queryable latency. Peak RSS and CPU are given per process: this one
 * (processor, its Kafka consumer, chDB) and the collector's (collector, its producer); the sender and the broker
 * are not included. CPU per process is also given per record (µs of CPU per DnsQuery), which a shared machine
 * distorts less than the wall rate; the load average at the start and end is recorded.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createMetricsRegistry,
  ingestLedgerMigration,
  migrate,
  silentLogger,
  type Warehouse,
} from '@kansoku/kit';
import { createKafkaAdmin, createKafkaConsumer, createKafkaProducer } from '@kansoku/kit/kafka/index';
import { openTestWarehouse } from '@kansoku/kit/testing/warehouse';
import { startStack } from '@kansoku/platform/stack/index';
import {
  createDnsCollector,
  createDnsProcessor,
  dataFrames,
  dnsMigrations,
  encodeQueryFrames,
  openFrameStreamClient,
} from '../../../services/dns/src/index.ts';
import { BenchArgumentError, type Benchmark, intFlag, listFlag, type ResultTable } from '../benchmark.ts';
import { startCollectorProcess } from '../dns/collector-child.ts';
import { startDnstapSender } from '../dns/dnstap-sender.ts';
import { hotFiles, hotFunctions, startProfiler } from '../flows/cpu-profile.ts';

const MIB = 1024 * 1024;
const POLL_MS = 250;
const MARKER_IDENTITY = 'bench-marker';
const DEFAULT_PROBE_RATES = ['20000', '40000', '60000', '80000', '100000', '150000', '200000', '300000'];
const here = path.dirname(fileURLToPath(import.meta.url));

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function cpuPerQuery(cpuSeconds: number | null, queries: number): string {
  return cpuSeconds === null || queries === 0 ? '-' : ((cpuSeconds * 1e6) / queries).toFixed(2);
}

async function countQueries(warehouse: Warehouse, resolver: string): Promise<number> {
  const rows = await warehouse.query<{ n: string }>(
    'SELECT sum(queries) AS n FROM {{db}}.dns_queries_1m WHERE resolver = {resolver:String}',
    { resolver },
  );
  return Number(rows[0]?.n ?? 0);
}

async function drain(
  warehouse: Warehouse,
  resolver: string,
  expected: number,
  stallMs: number,
  limitMs: number,
): Promise<{ counted: number; drainSeconds: number }> {
  const started = performance.now();
  let counted = -1;
  let lastChange = started;
  for (;;) {
    const now = await countQueries(warehouse, resolver);
    if (now !== counted) {
      counted = now;
      lastChange = performance.now();
    }
    const elapsed = performance.now() - started;
    if (counted >= expected || performance.now() - lastChange > stallMs || elapsed > limitMs) {
      return { counted, drainSeconds: (lastChange - started) / 1000 };
    }
    await sleep(200);
  }
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

interface StepOutcome {
  phase: 'probe' | 'run';
  rate: number;
  seconds: number;
  resolver: string;
  sentMessages: number;
  sentQueries: number;
  countedQueries: number;
  loss: number;
  drainSeconds: number;
  achievedSendRate: number;
  messagesPerSecond: number;
  senderBehindMs: number;
  /** CPU seconds of the sender process during its send. */
  senderCpuSeconds: number;
  publisherDropped: number;
  /** Records whose Kafka send failed (the producer gave up on their request). */
  publishFailed: number;
  /** What the collector saw in the step: frames decoded, records made, records acknowledged by Kafka. */
  collectorFrames: number;
  collectorRecords: number;
  published: number;
  /** CPU seconds in the step (send and drain): the collector's process (null in-process) and this one. */
  collectorCpuSeconds: number | null;
  processorCpuSeconds: number;
}

interface CollectorCounts {
  frames: number;
  records: number;
  published: number;
  dropped: number;
  failed: number;
  /** CPU seconds of the collector's own process; null when it shares this one. */
  cpuSeconds: number | null;
  rss: number | null;
}

/** The collector under test, in this process or its own. */
interface CollectorUnderTest {
  port: number;
  counts(): Promise<CollectorCounts>;
  stop(): Promise<void>;
}

export const benchmark: Benchmark = {
  name: 'dns-e2e',
  description:
    'DNS end to end: dnstap over TCP → collector → Kafka → processor → ClickHouse, messages/s, loss, latency, RSS',
  flags: {
    seconds: 'length of the sustained run (default 300)',
    rate: 'dnstap messages/s of the sustained run (default: the highest rate the probe ladder holds)',
    'probe-rates': `dnstap messages/s steps of the probe ladder (default ${DEFAULT_PROBE_RATES.join(',')})`,
    'probe-seconds': 'seconds per probe step (default 20)',
    'drain-seconds': 'longest wait after a probe step for its records to reach ClickHouse (default 15)',
    'held-drain-seconds':
      'a probe step holds its rate when its records are all in ClickHouse this soon after the send (default 5 + the batch delay)',
    'run-drain-seconds': 'longest wait after the sustained run for its records (default 60)',
    'raw-sample': 'raw rows kept 1 in N (the dnsProcessor.rawSampleOneIn setting; default 1 = every query)',
    'max-batch':
      'Kafka messages (query batches of ~8 queries) per warehouse insert at most (dnsProcessor.maxBatchMessages; default 8000, the high-rate setting of docs/04-scaling.md)',
    'cpu-prof': 'profile this process during the sustained run; the top functions go into the result',
    partitions: 'partitions of the benchmark topic (default 3)',
    'batch-delay-ms':
      'longest a query waits in the processor before its insert (dnsProcessor.maxBatchDelayMs; default 3000, the high-rate setting of docs/04-scaling.md)',
    collector:
      'process (default: the collector in a child process of its own) or in-process (collector and processor share this process)',
  },
  async run(args) {
    const seconds = intFlag(args, 'seconds', 300);
    const fixedRate = args.rate === undefined ? undefined : intFlag(args, 'rate', 1);
    const probeRates = listFlag(args, 'probe-rates', DEFAULT_PROBE_RATES).map(Number);
    if (probeRates.some((rate) => !Number.isInteger(rate) || rate <= 0)) {
      throw new BenchArgumentError('--probe-rates must be positive integers');
    }
    const probeSeconds = intFlag(args, 'probe-seconds', 20);
    const drainSeconds = intFlag(args, 'drain-seconds', 15);
    const maxBatchDelayMs = intFlag(args, 'batch-delay-ms', 3000);
    // A held step's records are all queryable within 5 s of the send's end, beyond the processor's batch delay.
    const heldDrainSeconds = intFlag(args, 'held-drain-seconds', 5 + Math.ceil(maxBatchDelayMs / 1000));
    const runDrainSeconds = intFlag(args, 'run-drain-seconds', 60);
    const rawSampleOneIn = intFlag(args, 'raw-sample', 1);
    const maxBatchMessages = intFlag(args, 'max-batch', 8000);
    const partitions = intFlag(args, 'partitions', 3);
    const profile = args['cpu-prof'] === true;
    const collectorMode = String(args.collector ?? 'process');
    if (collectorMode !== 'process' && collectorMode !== 'in-process') {
      throw new BenchArgumentError('--collector must be process or in-process');
    }
    const maxLoss = 0.001;
    const loadBefore = loadavg();
    const collectorProfileDir = mkdtempSync(path.join(tmpdir(), 'kansoku-dns-collector-prof-'));

    const stack = await startStack({ only: ['kafka'] });
    const brokers = stack.kafka?.brokers ?? ['127.0.0.1:9092'];
    const connection = { brokers, clientId: `bench-dns-e2e-${randomUUID().slice(0, 8)}` };
    const admin = createKafkaAdmin(connection);
    const topic = `bench-dns-e2e-${randomUUID()}`;
    await admin.ensureTopics([{ name: topic, partitions, retentionMs: 3_600_000 }]);
    const wh = await openTestWarehouse({ prefix: 'kansoku-bench-dns-', processMetrics: false });
    const logger = silentLogger();
    await migrate(wh.warehouse, [ingestLedgerMigration, ...dnsMigrations], { log: logger });

    const registry = createMetricsRegistry({ processMetrics: false });
    let collector: CollectorUnderTest;
    if (collectorMode === 'process') {
      const child = await startCollectorProcess({
        brokers,
        clientId: `${connection.clientId}-collector`,
        topic,
        // The collector's whole life (probe steps included) when profiling: written as it stops.
        ...(profile ? { profileFile: path.join(collectorProfileDir, 'collector.cpuprofile') } : {}),
      });
      collector = {
        port: child.port,
        async counts() {
          const s = await child.stats();
          return { ...s, cpuSeconds: s.cpuSeconds, rss: s.rss };
        },
        stop: () => child.stop(),
      };
    } else {
      // The collector as `kansoku run dns-collector` builds it: kit's producer, the section's defaults.
      const producer = createKafkaProducer(
        connection,
        { maxBatchMessages: 1000, lingerMs: 5 },
        { log: logger, metrics: registry },
      );
      await producer.start();
      const inProcess = createDnsCollector(
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
          topic,
          maxQueuedRecords: 200_000,
          maxSendRecords: 10_000,
        },
        { producer, log: logger, metrics: registry },
      );
      await inProcess.start();
      collector = {
        port: inProcess.tcpPort(),
        async counts() {
          const counts = inProcess.publisher.counts();
          const stats = inProcess.assembler.stats();
          return {
            frames: stats.frames,
            records: stats.records,
            published: counts.published,
            dropped: counts.dropped,
            failed: counts.failed,
            cpuSeconds: null,
            rss: null,
          };
        },
        async stop() {
          await inProcess.stop();
          await producer.stop();
        },
      };
    }
    const port = collector.port;
    const groupId = `bench-dns-e2e-${randomUUID()}`;
    const consumer = createKafkaConsumer(
      connection,
      { groupId, topics: [topic], fromBeginning: true, maxBytes: 10 * MIB },
      { log: logger, metrics: registry },
    );
    const processor = createDnsProcessor(
      { groupId, maxBatchMessages, maxBatchDelayMs, rawSampleOneIn },
      { consumer, warehouse: wh.warehouse, log: logger, metrics: registry },
    );
    await processor.start();

    let peakRss = process.memoryUsage().rss;
    let collectorPeakRss = 0;
    const memoryTimer = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      collector.counts().then(
        (c) => {
          collectorPeakRss = Math.max(collectorPeakRss, c.rss ?? 0);
        },
        () => undefined,
      );
    }, 500);

    const steps: StepOutcome[] = [];
    let stepIndex = 0;
    const runStep = async (
      phase: 'probe' | 'run',
      rate: number,
      stepSeconds: number,
      drainLimitSeconds: number,
    ): Promise<StepOutcome> => {
      stepIndex++;
      const resolver = `bench-${phase}-${stepIndex}`;
      const before = await collector.counts();
      const cpuBefore = process.cpuUsage();
      const sender = await startDnstapSender({
        host: '127.0.0.1',
        port,
        messagesPerSecond: rate,
        seconds: stepSeconds,
        identity: resolver,
        poolQueries: 50_000,
        sources: 100_000,
        seed: stepIndex,
      });
      let report: Awaited<ReturnType<typeof sender.run>>;
      try {
        report = await sender.run();
      } finally {
        sender.kill();
      }
      const drained = await drain(wh.warehouse, resolver, report.queries, 15_000, drainLimitSeconds * 1000);
      const after = await collector.counts();
      const cpuUsed = process.cpuUsage(cpuBefore);
      const loss = report.queries > 0 ? Math.max(0, report.queries - drained.counted) / report.queries : 0;
      const outcome: StepOutcome = {
        phase,
        rate,
        seconds: stepSeconds,
        resolver,
        sentMessages: report.messages,
        sentQueries: report.queries,
        countedQueries: drained.counted,
        loss,
        drainSeconds: drained.drainSeconds,
        achievedSendRate: report.achievedMessagesPerSecond,
        messagesPerSecond: (drained.counted * 2) / (report.seconds + drained.drainSeconds),
        senderBehindMs: report.behindMs,
        senderCpuSeconds: report.cpuSeconds,
        publisherDropped: after.dropped - before.dropped,
        publishFailed: after.failed - before.failed,
        collectorFrames: after.frames - before.frames,
        collectorRecords: after.records - before.records,
        published: after.published - before.published,
        collectorCpuSeconds:
          after.cpuSeconds === null || before.cpuSeconds === null
            ? null
            : after.cpuSeconds - before.cpuSeconds,
        processorCpuSeconds: (cpuUsed.user + cpuUsed.system) / 1e6,
      };
      steps.push(outcome);
      log(
        `${phase} ${rate} msg/s: sent ${outcome.sentMessages} messages (${outcome.sentQueries} queries, achieved ` +
          `${Math.round(outcome.achievedSendRate)}/s), in ClickHouse ${outcome.countedQueries} queries ` +
          `(loss ${(loss * 100).toFixed(3)}%, drained ${outcome.drainSeconds.toFixed(1)} s after the send); collector ` +
          `${outcome.collectorFrames} frames → ${outcome.collectorRecords} records, ${outcome.published} published, ` +
          `${outcome.publishFailed} failed; ` +
          `CPU µs/query: collector ${cpuPerQuery(outcome.collectorCpuSeconds, outcome.countedQueries)}, ` +
          `processor ${cpuPerQuery(outcome.processorCpuSeconds, outcome.countedQueries)}, ` +
          `sender ${cpuPerQuery(outcome.senderCpuSeconds, outcome.sentQueries)}; load ${loadavg()[0]?.toFixed(2)}`,
      );
      return outcome;
    };

    const notes: string[] = [];
    let runRate = fixedRate;
    let latencies: number[] = [];
    let cpu = { userSeconds: 0, systemSeconds: 0, cores: 0, collectorCores: null as number | null };
    let hot: { functions: ReturnType<typeof hotFunctions>; files: ReturnType<typeof hotFiles> } | undefined;
    let run: StepOutcome | undefined;
    try {
      if (runRate === undefined) {
        let held = 0;
        for (const rate of probeRates) {
          const step = await runStep('probe', rate, probeSeconds, drainSeconds);
          if (step.loss >= maxLoss || step.drainSeconds > heldDrainSeconds) break;
          held = rate;
        }
        if (held === 0) {
          notes.push(`no probe rate held; the sustained run uses the lowest, ${probeRates[0]}/s`);
          held = Math.min(...probeRates);
        }
        runRate = held;
      }

      // Latency markers: one answered query a second on a connection of its own.
      const markers = await openFrameStreamClient({ host: '127.0.0.1', port });
      const markerIdentity = Buffer.from(MARKER_IDENTITY);
      const sentAt = new Map<number, number>();
      let markerId = 0;
      const sendMarker = () => {
        const id = markerId++;
        sentAt.set(id, performance.now());
        void markers.write(
          dataFrames(
            encodeQueryFrames(
              {
                timeMs: Date.now(),
                responseUs: 100,
                client: Uint8Array.from([127, 0, 0, 9]),
                clientPort: 40_000 + (id % 20_000),
                server: Uint8Array.from([127, 0, 0, 1]),
                serverPort: 53,
                protocol: 1,
                id: id & 0xffff,
                qname: `m${id}.marker.bench.example.`,
                qtype: 1,
                rcode: 0,
                answers: 1,
              },
              markerIdentity,
            ),
          ),
        );
      };
      let polling = true;
      const seen = new Set<number>();
      const poll = async () => {
        while (polling) {
          const rows = await wh.warehouse.query<{ qname: string }>(
            'SELECT DISTINCT qname FROM {{db}}.dns_queries_raw WHERE resolver = {resolver:String}',
            { resolver: MARKER_IDENTITY },
          );
          const now = performance.now();
          for (const row of rows) {
            const id = Number(/^m(\d+)\./.exec(row.qname)?.[1] ?? -1);
            const at = sentAt.get(id);
            if (at === undefined || seen.has(id)) continue;
            seen.add(id);
            latencies.push((now - at) / 1000);
          }
          await sleep(POLL_MS);
        }
      };
      const markerTimer = setInterval(sendMarker, 1000);
      const polling$ = poll();
      const profiler = profile ? await startProfiler() : undefined;
      const cpuBefore = process.cpuUsage();
      const collectorCpuBefore = (await collector.counts()).cpuSeconds;
      const wallBefore = performance.now();
      run = await runStep('run', runRate, seconds, runDrainSeconds);
      const cpuUsed = process.cpuUsage(cpuBefore);
      const collectorCpuAfter = (await collector.counts()).cpuSeconds;
      const wall = (performance.now() - wallBefore) / 1000;
      cpu = {
        userSeconds: cpuUsed.user / 1e6,
        systemSeconds: cpuUsed.system / 1e6,
        cores: (cpuUsed.user + cpuUsed.system) / 1e6 / wall,
        collectorCores:
          collectorCpuBefore === null || collectorCpuAfter === null
            ? null
            : (collectorCpuAfter - collectorCpuBefore) / wall,
      };
      if (profiler) {
        const file = path.join(here, '..', '..', 'results', 'dns-e2e.cpuprofile');
        const cpuProfile = await profiler.stop(process.env.KANSOKU_BENCH_KEEP_PROFILE ? file : undefined);
        hot = { functions: hotFunctions(cpuProfile, 20), files: hotFiles(cpuProfile, 15) };
      }
      clearInterval(markerTimer);
      const markerDeadline = Date.now() + 5000;
      while (seen.size < sentAt.size && Date.now() < markerDeadline) await sleep(POLL_MS);
      polling = false;
      await polling$;
      await markers.close().catch(() => undefined);
      const missing = sentAt.size - seen.size;
      if (missing > 0) notes.push(`${missing} of ${sentAt.size} latency markers never became queryable`);
      latencies = latencies.sort((a, b) => a - b);
    } finally {
      clearInterval(memoryTimer);
      await collector.stop();
      await processor.stop();
      await wh.close();
      await admin.deleteTopics([topic]).catch(() => undefined);
      await admin.close();
    }
    const done = run as StepOutcome;
    let collectorHot:
      | { functions: ReturnType<typeof hotFunctions>; files: ReturnType<typeof hotFiles> }
      | undefined;
    for (const file of readdirSync(collectorProfileDir)) {
      const cpuProfile = JSON.parse(readFileSync(path.join(collectorProfileDir, file), 'utf8'));
      collectorHot = { functions: hotFunctions(cpuProfile, 25), files: hotFiles(cpuProfile, 15) };
    }
    rmSync(collectorProfileDir, { recursive: true, force: true });
    for (const step of steps) {
      if (step.senderBehindMs > 0) {
        notes.push(
          `${step.phase} at ${step.rate}/s: the sender fell behind for ${step.senderBehindMs} ms ` +
            `(achieved ${Math.round(step.achievedSendRate)}/s)`,
        );
      }
    }
    const stepTable: ResultTable = {
      title: 'Steps (probe ladder, then the sustained run); messages = dnstap frames, 2 per query',
      columns: [
        'phase',
        'msg/s asked',
        'seconds',
        'msg/s sent',
        'queries sent',
        'in ClickHouse',
        'loss',
        'drain s',
        'queue drops',
        'collector CPU µs/query',
        'processor CPU µs/query',
      ],
      rows: steps.map((s) => [
        s.phase,
        s.rate,
        s.seconds,
        Math.round(s.achievedSendRate),
        s.sentQueries,
        s.countedQueries,
        `${(s.loss * 100).toFixed(3)}%`,
        Number(s.drainSeconds.toFixed(1)),
        s.publisherDropped,
        cpuPerQuery(s.collectorCpuSeconds, s.countedQueries),
        cpuPerQuery(s.processorCpuSeconds, s.countedQueries),
      ]),
    };
    const p99 = percentile(latencies, 99);
    const summary: ResultTable = {
      title: `Sustained run: ${seconds} s at ${runRate} dnstap messages/s asked`,
      columns: ['metric', 'value'],
      rows: [
        ['dnstap messages/s into ClickHouse', Math.round(done.messagesPerSecond)],
        ['DnsQuery records/s into ClickHouse', Math.round(done.messagesPerSecond / 2)],
        ['loss (sent vs rollup totals)', `${(done.loss * 100).toFixed(3)}%`],
        ['latency p50 (s)', Number(percentile(latencies, 50).toFixed(2))],
        ['latency p99 (s)', Number(p99.toFixed(2))],
        ['peak RSS (MB), processor + collector processes', Math.round((peakRss + collectorPeakRss) / 1e6)],
        ['CPU (cores), processor process (consumer, aggregation, chDB)', Number(cpu.cores.toFixed(2))],
        [
          'CPU (cores), collector process (dnstap, pairing, producer)',
          cpu.collectorCores === null ? 'in-process' : Number(cpu.collectorCores.toFixed(2)),
        ],
        ['CPU µs per query, processor process', cpuPerQuery(done.processorCpuSeconds, done.countedQueries)],
        ['CPU µs per query, collector process', cpuPerQuery(done.collectorCpuSeconds, done.countedQueries)],
        [
          'CPU µs per query, dnstap sender process (load, not pipeline)',
          cpuPerQuery(done.senderCpuSeconds, done.sentQueries),
        ],
        ['load average (1 min) at start / end', `${loadBefore[0]?.toFixed(2)} / ${loadavg()[0]?.toFixed(2)}`],
      ],
    };
    const tables = [summary, stepTable];
    if (hot) {
      tables.push({
        title: 'CPU profile of the sustained run: self time by function',
        columns: ['self %', 'function', 'where'],
        rows: hot.functions.map((f) => [Number(f.selfPercent.toFixed(1)), f.function, f.where]),
      });
      tables.push({
        title: 'Self time by file or package',
        columns: ['self %', 'file'],
        rows: hot.files.map((f) => [Number(f.selfPercent.toFixed(1)), f.file]),
      });
    }
    if (collectorHot) {
      tables.push({
        title: 'CPU profile of the collector process (its whole life): self time by function',
        columns: ['self %', 'function', 'where'],
        rows: collectorHot.functions.map((f) => [Number(f.selfPercent.toFixed(1)), f.function, f.where]),
      });
    }
    return {
      tables,
      notes,
      messages_per_second: Math.round(done.messagesPerSecond),
      queries_per_second: Math.round(done.messagesPerSecond / 2),
      loss_ratio: done.loss,
      p99_latency_s: Number.isFinite(p99) ? p99 : null,
      peak_rss_mb: Math.round((peakRss + collectorPeakRss) / 1e6),
      peak_rss_mb_by_process: {
        processor: Math.round(peakRss / 1e6),
        collector: collectorMode === 'process' ? Math.round(collectorPeakRss / 1e6) : 'in-process',
      },
      collector: collectorMode,
      load_average: { start: loadBefore, end: loadavg() },
      goal: {
        messages_per_second: 300_000,
        loss_ratio: maxLoss,
        met: done.messagesPerSecond >= 300_000 && done.loss < maxLoss,
      },
      cpu,
      rate: runRate,
      rate_source: fixedRate === undefined ? 'probe ladder' : '--rate',
      latency: {
        method: `marker query every 1 s (identity ${MARKER_IDENTITY}), raw table polled every ${POLL_MS} ms`,
        markers: latencies.length,
        p50_s: percentile(latencies, 50),
        p99_s: p99,
        max_s: latencies[latencies.length - 1] ?? null,
      },
      settings: {
        seconds,
        probeRates,
        probeSeconds,
        drainSeconds,
        heldDrainSeconds,
        runDrainSeconds,
        rawSampleOneIn,
        maxBatchMessages,
        maxBatchDelayMs,
        partitions,
        brokers,
        topic,
      },
      steps,
      ...(hot ? { profile: hot } : {}),
      ...(collectorHot ? { collector_profile: collectorHot } : {}),
    };
  },
};

export default benchmark;
