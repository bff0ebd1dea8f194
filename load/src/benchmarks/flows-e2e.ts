/**
 * The flows pipeline end to end on one machine: IPFIX over UDP → collector → Kafka (the real broker) →
 * processor → ClickHouse (embedded chDB in a temporary folder), sustained for --seconds at --rate flows/s.
 *
 * The collector runs in a process of its own by default (`--collector child`), as a deployment at this rate
 * runs it (docs/04-scaling.md): embedded chDB inserts are synchronous, and a receive loop that waits behind them
 * loses datagrams. `--collector in-process` runs it beside the processor, as `kansoku up` does. The processor
 * runs in this process (chDB is embedded: the process that writes the warehouse is the only one that can read
 * it, so the counts and the latency markers are read here).
 * The load comes from the UDP replayer in a child process. Without --rate, a probe ladder of 20 s steps finds
 * the highest rate at which nothing is lost (< 0.1%) and no backlog builds (the step's last records are in
 * ClickHouse within --held-drain-seconds of the send's end); the long run then runs at it. After the long run
 * the pipeline gets up to --run-drain-seconds to catch up: flows/s into ClickHouse is what it counted over
 * the send time plus that catch-up, and what is still missing then counts as lost.
 *
 * Counted: the flows column of the 1-minute rollup summed per exporter (each step sends from its own
 * loopback address, so each step is counted apart). Latency: every second a marker IPFIX packet with one flow
 * (in_interface = marker number) is sent from another exporter address (127.0.0.2); the raw flows table is
 * polled every 250 ms for markers, and the time from send to first seen is the received → queryable latency
 * (resolution: the poll interval). Peak RSS and CPU: this process's (processor, its Kafka consumer, chDB) plus
 * the collector process's; the replayer and the broker are not included.
 */
import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFlowsProcessor, flowsMigrations } from '@kansoku/flows';
import { createFlowGenerator } from '@kansoku/flows/simulator/flow-generator';
import { createNetflowExporterState, encodeExportPacket } from '@kansoku/flows/simulator/netflow-encoder';
import {
  createLogger,
  createMetricsRegistry,
  ingestLedgerMigration,
  migrate,
  silentLogger,
  type Warehouse,
} from '@kansoku/kit';
import { createKafkaAdmin, createKafkaConsumer } from '@kansoku/kit/kafka/index';
import { openTestWarehouse } from '@kansoku/kit/testing/warehouse';
import { startStack } from '@kansoku/platform/stack/index';
import { BenchArgumentError, type Benchmark, intFlag, listFlag, type ResultTable } from '../benchmark.ts';
import { startCollectorProcess } from '../flows/collector-process.ts';
import { hotFiles, hotFunctions, startProfiler } from '../flows/cpu-profile.ts';
import { startOurCollector } from '../flows/our-collector.ts';
import { udpDrops } from '../flows/udp-drops.ts';
import { DEFAULT_REPLAY, type ReplayerReport, startReplayer } from '../flows/udp-replayer.ts';

const MIB = 1024 * 1024;
const MARKER_EXPORTER = '127.0.0.2';
const MARKER_INTERFACE_BASE = 1_000_000;
const POLL_MS = 250;
const DEFAULT_PROBE_RATES = [
  '10000',
  '20000',
  '30000',
  '40000',
  '60000',
  '80000',
  '100000',
  '150000',
  '200000',
];
const here = path.dirname(fileURLToPath(import.meta.url));

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function countFlows(warehouse: Warehouse, exporter: string): Promise<number> {
  const rows = await warehouse.query<{ flows: string }>(
    'SELECT sum(flows) AS flows FROM {{db}}.flows_traffic_1m WHERE exporter = {exporter:String}',
    { exporter },
  );
  return Number(rows[0]?.flows ?? 0);
}

/** Waits until the exporter's count reaches `expected` or stops growing for `stallMs`; returns it and when. */
async function drain(
  warehouse: Warehouse,
  exporter: string,
  expected: number,
  stallMs: number,
  limitMs: number,
): Promise<{ counted: number; drainSeconds: number }> {
  const started = performance.now();
  let counted = -1;
  let lastChange = started;
  for (;;) {
    const now = await countFlows(warehouse, exporter);
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
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The collector as the benchmark uses it, wherever it runs. */
interface BenchCollector {
  ipfixPort: number;
  counts(): Promise<{ dropped: number }>;
  usage(): Promise<{ peakRss: number; cpuUserUs: number; cpuSystemUs: number }>;
  stop(): Promise<unknown>;
}

async function startCollector(
  mode: 'child' | 'in-process',
  options: Parameters<typeof startOurCollector>[0],
): Promise<BenchCollector> {
  if (mode === 'child') {
    const { registry: _registry, ...childOptions } = options;
    return startCollectorProcess(childOptions);
  }
  const ours = await startOurCollector(options);
  return {
    ipfixPort: ours.ipfixPort,
    counts: async () => ours.collector.publisher.counts(),
    // In this process: its usage is this process's, counted there.
    usage: async () => ({ peakRss: 0, cpuUserUs: 0, cpuSystemUs: 0 }),
    stop: () => ours.stop(),
  };
}

interface StepOutcome {
  phase: 'probe' | 'run';
  rate: number;
  seconds: number;
  exporter: string;
  sent: number;
  counted: number;
  loss: number;
  drainSeconds: number;
  achievedSendRate: number;
  flowsPerSecond: number;
  senderBehindMs: number;
  kernelDrops: number | undefined;
  queueDropped: number;
}

export const benchmark: Benchmark = {
  name: 'flows-e2e',
  description:
    'Flows end to end: UDP → collector → Kafka → processor → ClickHouse, flows/s, loss, latency, RSS',
  flags: {
    seconds: 'length of the sustained run (default 300)',
    rate: 'flows/s of the sustained run (default: the highest rate the probe ladder holds)',
    'probe-rates':
      'flows/s steps of the probe ladder (default 10000,20000,30000,40000,60000,80000,100000,150000,200000)',
    'probe-seconds': 'seconds per probe step (default 20)',
    'drain-seconds': 'longest wait after a probe step for its records to reach ClickHouse (default 10)',
    'held-drain-seconds':
      'a probe step holds its rate when its records are all in ClickHouse this soon after the send (default 5)',
    'run-drain-seconds': 'longest wait after the sustained run for its records (default 60)',
    'recv-buffer': 'socket receive buffer of the collector in bytes (default 33554432)',
    'cpu-prof': 'profile this process during the sustained run; the top functions go into the result',
    collector: "'child' (default: the collector in its own process) or 'in-process' (beside the processor)",
    'max-batch': "Kafka messages (export packets) per warehouse insert at most (default 4000: the service's)",
    'batch-delay-ms': "longest a record waits for its insert (default 1000: the service's)",
  },
  async run(args) {
    const seconds = intFlag(args, 'seconds', 300);
    const fixedRate = args.rate === undefined ? undefined : intFlag(args, 'rate', 1);
    const probeRates = listFlag(args, 'probe-rates', DEFAULT_PROBE_RATES).map(Number);
    if (probeRates.some((rate) => !Number.isInteger(rate) || rate <= 0)) {
      throw new BenchArgumentError('--probe-rates must be positive integers');
    }
    const probeSeconds = intFlag(args, 'probe-seconds', 20);
    const drainSeconds = intFlag(args, 'drain-seconds', 10);
    const heldDrainSeconds = intFlag(args, 'held-drain-seconds', 5);
    const runDrainSeconds = intFlag(args, 'run-drain-seconds', 60);
    const recvBufferSize = intFlag(args, 'recv-buffer', 32 * MIB);
    const profile = args['cpu-prof'] === true;
    const collectorMode = args.collector ?? 'child';
    if (collectorMode !== 'child' && collectorMode !== 'in-process') {
      throw new BenchArgumentError("--collector must be 'child' or 'in-process'");
    }
    const maxLoss = 0.001;
    // Larger inserts cost the engine less per record, and records wait longer (docs/04-scaling.md).
    const maxBatchMessages = intFlag(args, 'max-batch', 4_000);
    const maxBatchDelayMs = intFlag(args, 'batch-delay-ms', 1_000);

    const stack = await startStack({ only: ['kafka'] });
    const brokers = stack.kafka?.brokers ?? ['127.0.0.1:9092'];
    const connection = { brokers, clientId: `bench-flows-e2e-${randomUUID().slice(0, 8)}` };
    const admin = createKafkaAdmin(connection);
    const topic = `bench-flows-e2e-${randomUUID()}`;
    await admin.ensureTopics([{ name: topic, partitions: 3, retentionMs: 3_600_000 }]);
    const wh = await openTestWarehouse({ prefix: 'kansoku-bench-e2e-', processMetrics: false });
    // KANSOKU_BENCH_LOG=warn (or info): the processor's log on stderr, to see retries and errors.
    const logLevel = process.env.KANSOKU_BENCH_LOG;
    const logger = logLevel
      ? createLogger({ level: logLevel } as Parameters<typeof createLogger>[0], 'bench')
      : silentLogger();
    await migrate(wh.warehouse, [ingestLedgerMigration, ...flowsMigrations], { log: logger });

    const registry = createMetricsRegistry({ processMetrics: false });
    const ours = await startCollector(collectorMode, { kafka: connection, topic, recvBufferSize, registry });
    const consumer = createKafkaConsumer(
      connection,
      {
        groupId: `bench-flows-e2e-${randomUUID()}`,
        topics: [topic],
        fromBeginning: true,
        maxBytes: 10 * MIB,
      },
      { log: logger, metrics: registry },
    );
    const processor = createFlowsProcessor(
      { groupId: `bench-flows-e2e-${randomUUID()}`, maxBatchMessages, maxBatchDelayMs },
      { consumer, warehouse: wh.warehouse, log: logger, metrics: registry },
    );
    await processor.start();

    // Memory and CPU of this process, sampled twice a second.
    let peakRss = process.memoryUsage().rss;
    const memoryTimer = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 500);

    const steps: StepOutcome[] = [];
    let exporterIndex = 0;
    const runStep = async (
      phase: 'probe' | 'run',
      rate: number,
      stepSeconds: number,
      drainLimitSeconds: number,
    ): Promise<StepOutcome> => {
      exporterIndex++;
      const exporter = `127.0.1.${exporterIndex}`;
      const before = await ours.counts();
      const dropsBefore = udpDrops(ours.ipfixPort);
      const replayer = await startReplayer({
        ...DEFAULT_REPLAY,
        protocol: 'ipfix',
        targets: [{ address: '127.0.0.1', port: ours.ipfixPort }],
        recordsPerSecond: rate,
        seconds: stepSeconds,
        sourceAddress: exporter,
      });
      let report: ReplayerReport;
      try {
        report = await replayer.run();
      } finally {
        replayer.kill();
      }
      // Given up only after 10 s without a new row (a batch of 4,000 export packets can take seconds to write
      // on a busy machine) or at the step's limit: a short stall would count records still on their way as lost.
      const drained = await drain(wh.warehouse, exporter, report.records, 10_000, drainLimitSeconds * 1000);
      const after = await ours.counts();
      const dropsAfter = udpDrops(ours.ipfixPort);
      const loss = report.records > 0 ? Math.max(0, report.records - drained.counted) / report.records : 0;
      const outcome: StepOutcome = {
        phase,
        rate,
        seconds: stepSeconds,
        exporter,
        sent: report.records,
        counted: drained.counted,
        loss,
        drainSeconds: drained.drainSeconds,
        achievedSendRate: report.achievedRecordsPerSecond,
        flowsPerSecond: drained.counted / (report.seconds + drained.drainSeconds),
        senderBehindMs: report.behindMs,
        kernelDrops:
          dropsBefore !== undefined && dropsAfter !== undefined ? dropsAfter - dropsBefore : undefined,
        queueDropped: after.dropped - before.dropped,
      };
      steps.push(outcome);
      log(
        `${phase} ${rate}/s: sent ${outcome.sent}, in ClickHouse ${outcome.counted} ` +
          `(loss ${(loss * 100).toFixed(3)}%, drained ${outcome.drainSeconds.toFixed(1)} s after the send)`,
      );
      return outcome;
    };

    const notes: string[] = [];
    let runRate = fixedRate;
    let latencies: number[] = [];
    let cpu = { userSeconds: 0, systemSeconds: 0, cores: 0, collectorCores: 0 };
    let collectorPeakRss = 0;
    let hot: { functions: ReturnType<typeof hotFunctions>; files: ReturnType<typeof hotFiles> } | undefined;
    let run: StepOutcome | undefined;
    try {
      if (runRate === undefined) {
        let held = 0;
        for (const rate of probeRates) {
          const step = await runStep('probe', rate, probeSeconds, drainSeconds);
          // Held: nothing lost, and no backlog (the last records were in ClickHouse soon after the send).
          if (step.loss >= maxLoss || step.drainSeconds > heldDrainSeconds) break;
          held = rate;
        }
        if (held === 0) {
          notes.push(`no probe rate held; the sustained run uses the lowest, ${probeRates[0]}/s`);
          held = Math.min(...probeRates);
        }
        runRate = held;
      }

      // The sustained run, with latency markers and (optionally) the profiler.
      const markers = createSocket('udp4');
      await new Promise<void>((resolve) => markers.bind(0, MARKER_EXPORTER, () => resolve()));
      const markerState = createNetflowExporterState(
        'ipfix',
        7,
        Date.now() - 60_000,
        Number.MAX_SAFE_INTEGER,
      );
      const markerFlows = createFlowGenerator(7);
      const sentAt = new Map<number, number>();
      let markerId = 0;
      const sendMarker = () => {
        const flow = markerFlows.next(Date.now());
        flow.inInterface = MARKER_INTERFACE_BASE + markerId;
        sentAt.set(markerId, performance.now());
        markerId++;
        markers.send(encodeExportPacket(markerState, [flow], Date.now()), ours.ipfixPort, '127.0.0.1');
      };
      let polling = true;
      const seen = new Set<number>();
      const poll = async () => {
        while (polling) {
          // Only the last minute of the raw table (its sort key starts with the time): the poll must not
          // grow with the table and take the engine from the inserts it measures.
          const rows = await wh.warehouse.query<{ id: number }>(
            'SELECT DISTINCT in_interface - {base:UInt32} AS id FROM {{db}}.flows_raw ' +
              'WHERE time_received >= now64(3) - INTERVAL 60 SECOND ' +
              'AND exporter = {exporter:String} AND in_interface >= {base:UInt32}',
            { exporter: MARKER_EXPORTER, base: MARKER_INTERFACE_BASE },
          );
          const now = performance.now();
          for (const row of rows) {
            const id = Number(row.id);
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
      const collectorBefore = await ours.usage();
      const wallBefore = performance.now();
      run = await runStep('run', runRate, seconds, runDrainSeconds);
      const cpuUsed = process.cpuUsage(cpuBefore);
      const collectorAfter = await ours.usage();
      const wall = (performance.now() - wallBefore) / 1000;
      const collectorUs =
        collectorAfter.cpuUserUs -
        collectorBefore.cpuUserUs +
        collectorAfter.cpuSystemUs -
        collectorBefore.cpuSystemUs;
      collectorPeakRss = collectorAfter.peakRss;
      cpu = {
        userSeconds: cpuUsed.user / 1e6,
        systemSeconds: cpuUsed.system / 1e6,
        cores: (cpuUsed.user + cpuUsed.system) / 1e6 / wall,
        collectorCores: collectorMode === 'child' ? collectorUs / 1e6 / wall : 0,
      };
      if (profiler) {
        const file = path.join(here, '..', '..', 'results', 'flows-e2e.cpuprofile');
        const cpuProfile = await profiler.stop(process.env.KANSOKU_BENCH_KEEP_PROFILE ? file : undefined);
        hot = { functions: hotFunctions(cpuProfile, 20), files: hotFiles(cpuProfile, 15) };
      }
      clearInterval(markerTimer);
      // Markers still in flight get a few seconds more.
      const markerDeadline = Date.now() + 5000;
      while (seen.size < sentAt.size && Date.now() < markerDeadline) await sleep(POLL_MS);
      polling = false;
      await polling$;
      markers.close();
      const missing = sentAt.size - seen.size;
      if (missing > 0) notes.push(`${missing} of ${sentAt.size} latency markers never became queryable`);
      latencies = latencies.sort((a, b) => a - b);
    } finally {
      clearInterval(memoryTimer);
      await ours.stop();
      await processor.stop();
      await wh.close();
      await admin.deleteTopics([topic]).catch(() => undefined);
      await admin.close();
    }
    const done = run!;
    for (const step of steps) {
      if (step.senderBehindMs > 0) {
        notes.push(
          `${step.phase} at ${step.rate}/s: the sender fell behind for ${step.senderBehindMs} ms ` +
            `(achieved ${Math.round(step.achievedSendRate)}/s)`,
        );
      }
    }
    const stepTable: ResultTable = {
      title: 'Steps (probe ladder, then the sustained run)',
      columns: [
        'phase',
        'flows/s sent',
        'seconds',
        'sent',
        'in ClickHouse',
        'loss',
        'drain s',
        'kernel drops',
        'queue drops',
      ],
      rows: steps.map((s) => [
        s.phase,
        s.rate,
        s.seconds,
        s.sent,
        s.counted,
        `${(s.loss * 100).toFixed(3)}%`,
        Number(s.drainSeconds.toFixed(1)),
        s.kernelDrops ?? 'n/a',
        s.queueDropped,
      ]),
    };
    const p99 = percentile(latencies, 99);
    // Both processes' peaks, added: an upper bound of what the two held at once.
    const totalPeakRss = peakRss + (collectorMode === 'child' ? collectorPeakRss : 0);
    const summary: ResultTable = {
      title: `Sustained run: ${seconds} s at ${runRate} flows/s`,
      columns: ['metric', 'value'],
      rows: [
        ['flows/s into ClickHouse', Math.round(done.flowsPerSecond)],
        ['loss (sent vs rollup totals)', `${(done.loss * 100).toFixed(3)}%`],
        ['latency p50 (s)', Number(percentile(latencies, 50).toFixed(2))],
        ['latency p99 (s)', Number(p99.toFixed(2))],
        ['latency max (s)', Number((latencies[latencies.length - 1] ?? Number.NaN).toFixed(2))],
        ['peak RSS (MB), processor + collector processes', Math.round(totalPeakRss / 1e6)],
        [
          collectorMode === 'child' ? 'CPU (cores), processor process' : 'CPU (cores), collector + processor',
          Number(cpu.cores.toFixed(2)),
        ],
        ...(collectorMode === 'child'
          ? [['CPU (cores), collector process', Number(cpu.collectorCores.toFixed(2))] as [string, number]]
          : []),
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
    return {
      tables,
      notes,
      flows_per_second: Math.round(done.flowsPerSecond),
      loss_ratio: done.loss,
      p99_latency_s: Number.isFinite(p99) ? p99 : null,
      peak_rss_mb: Math.round(totalPeakRss / 1e6),
      rss_mb: { processor: Math.round(peakRss / 1e6), collector: Math.round(collectorPeakRss / 1e6) },
      collector: collectorMode,
      cpu,
      rate: runRate,
      rate_source: fixedRate === undefined ? 'probe ladder' : '--rate',
      latency: {
        method: `marker flow every 1 s from ${MARKER_EXPORTER}, raw table polled every ${POLL_MS} ms`,
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
        recvBufferSize,
        collector: collectorMode,
        maxBatchMessages,
        maxBatchDelayMs,
        brokers,
        topic,
      },
      steps,
      ...(hot ? { profile: hot } : {}),
    };
  },
};

export default benchmark;
