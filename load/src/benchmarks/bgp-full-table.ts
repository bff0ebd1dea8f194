/**
 * A synthetic full table (load/src/bgp/full-table-synthetic.ts: ~1.0M IPv4 routes in the report's Table 1 shape
 * scaled to today, ~230k IPv6) sent over BMP by a router in a second process (load/src/bgp/full-table-sender.ts)
 * to the BMP station, which publishes one RouteUpdate per prefix to Kafka, read by the bgp-processor into its
 * RIB. Both the station and the processor run in this process (as in `kansoku up`), on the real Kafka.
 *
 * `seconds_to_converge`: from the sender's first byte to the processor's RIB holding every route.
 * `bytes_per_route`: growth of this process's heap plus array buffers (after GC) from before the table to after,
 * per route: the RIB, plus whatever the station and the Kafka clients still hold. The processor's warehouse rows
 * (one origin row per prefix) are written after convergence, timed apart (`seconds_to_write_rows`), and before
 * the memory is read. `--via kafka` times the processor alone on updates already in Kafka.
 * Goal: ≥ 1.2M routes, ≤ 15 s, ≤ 150 B/route.
 */

import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import { encodeRouteUpdateBatch } from '@kansoku/contracts';
import {
  FeedSource,
  RibType,
  RouteAction,
  RouteUpdateSchema,
} from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { createLogger, createMetricsRegistry, migrate, silentLogger } from '@kansoku/kit';
import { createKafkaAdmin, createKafkaConsumer, createKafkaProducer } from '@kansoku/kit/kafka/index';
import { openTestWarehouse } from '@kansoku/kit/testing/warehouse';
import { Value } from '@sinclair/typebox/value';
import { type BgpProcessorConfig, bgpProcessorSchema } from '../../../services/bgp/src/processor/config.ts';
import { createBgpProcessor } from '../../../services/bgp/src/processor/processor.ts';
import { Rib } from '../../../services/bgp/src/rib/rib.ts';
import { type BgpStationConfig, bgpStationSchema } from '../../../services/bgp/src/station/config.ts';
import { createBgpStation } from '../../../services/bgp/src/station/station.ts';
import { bgpMigrations } from '../../../services/bgp/src/tables.ts';
import { BenchArgumentError, type Benchmark, intFlag, stringFlag } from '../benchmark.ts';
import type { SenderMessage } from '../bgp/full-table-sender.ts';
import { syntheticFullTable } from '../bgp/full-table-synthetic.ts';

const senderPath = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'bgp',
  'full-table-sender.ts',
);

function memoryNow(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** CPU seconds this process has used (user + system). */
function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** CPU seconds every core of the machine has spent busy (not idle), from /proc/stat through os.cpus(). */
function machineBusySeconds(): number {
  let ms = 0;
  for (const cpu of os.cpus()) ms += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq;
  return ms / 1000;
}

/**
 * CPU seconds of this process's threads by thread name (Linux /proc; empty elsewhere): the main thread (the
 * station, the processor and the Kafka clients share it) apart from V8's GC helpers, libuv's pool and the
 * embedded warehouse's threads.
 */
function threadCpuSeconds(): Map<string, number> {
  const out = new Map<string, number>();
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  const ticks = 100;
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = tid === String(process.pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / ticks;
      out.set(name, (out.get(name) ?? 0) + seconds);
    } catch {
      // The thread ended.
    }
  }
  return out;
}

function threadCpuDelta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, seconds] of after) {
    const delta = seconds - (before.get(name) ?? 0);
    if (delta >= 0.05) out[name] = Math.round(delta * 100) / 100;
  }
  return out;
}

async function settle(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * `--via kafka`: the table's RouteUpdates are produced to Kafka first (as the station would), then the processor
 * starts and is timed until its RIB holds them all: the processor's own rate, without the station's.
 */
async function processorAlone(ipv4: number, ipv6: number, timeoutSeconds: number) {
  const log = silentLogger();
  const metrics = createMetricsRegistry({ processMetrics: false });
  const brokers = (process.env.KANSOKU_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const connection = { brokers, clientId: `bench-bgp-${randomUUID().slice(0, 8)}` };
  const admin = createKafkaAdmin(connection);
  const updatesTopic = `bench-bgp-updates-${randomUUID()}`;
  const peersTopic = `bench-bgp-peers-${randomUUID()}`;
  await admin.ensureTopics([
    { name: updatesTopic, partitions: 6, retentionMs: 3_600_000 },
    { name: peersTopic, partitions: 1, retentionMs: 3_600_000 },
  ]);
  const store = await openTestWarehouse({ prefix: 'kansoku-bench-bgp-' });
  await migrate(store.warehouse, bgpMigrations, { log });
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'kansoku-bench-bgp-state-'));
  const producer = createKafkaProducer(connection, { maxBatchMessages: 4000, lingerMs: 5 }, { log, metrics });
  await producer.start();
  let routes = 0;
  try {
    const router = Uint8Array.of(192, 0, 2, 1);
    const peer = {
      address: Uint8Array.of(198, 51, 100, 1),
      asn: 64_496,
      bgpId: Uint8Array.of(198, 51, 100, 1),
    };
    const receivedNs = BigInt(Date.now()) * 1_000_000n;
    let batch: { key: string; value: Uint8Array }[] = [];
    let pendingRoutes: Uint8Array[] = [];
    const closeBatch = () => {
      if (pendingRoutes.length === 0) return;
      batch.push({ key: '192.0.2.1|0|198.51.100.1', value: encodeRouteUpdateBatch(pendingRoutes) });
      pendingRoutes = [];
    };
    for (const group of syntheticFullTable({ ipv4Routes: ipv4, ipv6Routes: ipv6, seed: 2017 })) {
      for (const prefix of group.prefixes) {
        const update = create(RouteUpdateSchema, {
          timeReceivedNs: receivedNs,
          routerAddress: router,
          peer,
          ribType: RibType.ADJ_RIB_IN_PRE_POLICY,
          source: FeedSource.BMP,
          action: RouteAction.ANNOUNCE,
          afi: group.family === 4 ? 1 : 2,
          safi: 1,
          prefix: prefix.address,
          prefixLength: prefix.length,
          asPath: [{ type: 2, asns: group.asPath }],
          originAs: group.asPath.at(-1) ?? 0,
          nextHopAddress: group.nextHop,
          communities: group.communities,
          med: group.med,
          origin: 1,
        });
        // As the station publishes them: RouteUpdateBatches of up to 500 routes of the peer.
        pendingRoutes.push(toBinary(RouteUpdateSchema, update));
        if (pendingRoutes.length === 500) closeBatch();
        routes++;
      }
      if (batch.length >= 100) {
        await producer.send(updatesTopic, batch);
        batch = [];
      }
    }
    closeBatch();
    if (batch.length > 0) await producer.send(updatesTopic, batch);
    await settle();
    const before = memoryNow();
    const rib = new Rib();
    const config: BgpProcessorConfig = {
      ...(Value.Default(bgpProcessorSchema, {}) as BgpProcessorConfig),
      updatesTopic,
      peersTopic,
      groupId: `bench-bgp-${randomUUID()}`,
      stateFile: path.join(stateDir, 'rib.snapshot'),
      flushIntervalMs: 3_600_000,
      snapshotIntervalMs: 3_600_000,
      snapshotRowsIntervalMs: 3_600_000,
    };
    const processor = createBgpProcessor(config, {
      createConsumer: (groupId) =>
        createKafkaConsumer(
          connection,
          { groupId, topics: [updatesTopic, peersTopic], fromBeginning: true, maxBytes: 16 * 1024 * 1024 },
          { log, metrics },
        ),
      warehouse: store.warehouse,
      rib,
      log,
      metrics,
    });
    const started = Date.now();
    const cpuStarted = cpuSeconds();
    await processor.start();
    const deadline = started + timeoutSeconds * 1000;
    while (rib.routeCount() < routes && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const seconds = (Date.now() - started) / 1000;
    const processorCpu = cpuSeconds() - cpuStarted;
    // The origin rows of every new prefix wait for the next flush (every 5 s by default): written first, so the
    // figure is the RIB's, not the pending rows'.
    await processor.flush();
    await settle();
    const bytesPerRoute = (memoryNow() - before) / Math.max(1, rib.routeCount());
    const converged = rib.routeCount();
    await processor.stop();
    return {
      via: 'kafka',
      routes: converged,
      routes_sent: routes,
      seconds_to_converge: Math.round(seconds * 100) / 100,
      bytes_per_route: Math.round(bytesPerRoute),
      routes_per_second: Math.round(converged / seconds),
      // This process (the processor and its Kafka consumer) while converging, and its rate per CPU-second.
      cpu_seconds: Math.round(processorCpu * 100) / 100,
      routes_per_cpu_second: Math.round(converged / Math.max(0.001, processorCpu)),
      rib_array_bytes_per_route: Math.round(rib.arrayBytes() / Math.max(1, converged)),
      load_average: os.loadavg().map((l) => Math.round(l * 100) / 100),
      tables: [
        {
          title: 'bgp-full-table --via kafka: the processor alone (updates already in Kafka)',
          columns: ['routes', 'converge (s)', 'routes/s', 'B/route (heap+buffers)'],
          rows: [
            [
              converged.toLocaleString('en'),
              seconds.toFixed(1),
              Math.round(converged / seconds).toLocaleString('en'),
              Math.round(bytesPerRoute),
            ],
          ],
        },
      ],
    };
  } finally {
    await producer.stop().catch(() => undefined);
    await admin.deleteTopics([updatesTopic, peersTopic]).catch(() => undefined);
    await admin.close();
    await store.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export const benchmark: Benchmark = {
  name: 'bgp-full-table',
  description:
    'Synthetic full table over BMP from a second process → station → Kafka → bgp-processor RIB (goal ≥ 1.2M routes, ≤ 15 s, ≤ 150 B/route)',
  flags: {
    ipv4: 'IPv4 routes (default 1,000,000)',
    ipv6: 'IPv6 routes (default 230,000)',
    timeout: 'seconds to wait for convergence (default 600)',
    via: 'bmp (default: the whole chain) or kafka (the RouteUpdates produced first, then the processor timed alone)',
  },
  async run(args) {
    const ipv4 = intFlag(args, 'ipv4', 1_000_000);
    const ipv6 = intFlag(args, 'ipv6', 230_000);
    const timeoutSeconds = intFlag(args, 'timeout', 600);
    const via = stringFlag(args, 'via', 'bmp');
    if (via !== 'bmp' && via !== 'kafka') throw new BenchArgumentError('--via must be bmp or kafka');
    if (via === 'kafka') return processorAlone(ipv4, ipv6, timeoutSeconds);
    const notes: string[] = [];
    if ((globalThis as { gc?: () => void }).gc === undefined) {
      notes.push('run with NODE_OPTIONS=--expose-gc for a settled memory figure');
    }
    const log = silentLogger();
    const metrics = createMetricsRegistry({ processMetrics: false });
    const brokers = (process.env.KANSOKU_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
    const connection = { brokers, clientId: `bench-bgp-${randomUUID().slice(0, 8)}` };
    const admin = createKafkaAdmin(connection);
    const updatesTopic = `bench-bgp-updates-${randomUUID()}`;
    const peersTopic = `bench-bgp-peers-${randomUUID()}`;
    await admin.ensureTopics([
      { name: updatesTopic, partitions: 6, retentionMs: 3_600_000 },
      { name: peersTopic, partitions: 1, retentionMs: 3_600_000 },
    ]);
    const store = await openTestWarehouse({ prefix: 'kansoku-bench-bgp-' });
    await migrate(store.warehouse, bgpMigrations, { log });
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'kansoku-bench-bgp-state-'));
    const producer = createKafkaProducer(
      connection,
      { maxBatchMessages: 4000, lingerMs: 5 },
      { log, metrics },
    );
    await producer.start();
    const stationConfig: BgpStationConfig = {
      ...(Value.Default(bgpStationSchema, {}) as BgpStationConfig),
      address: '127.0.0.1',
      port: 0,
      updatesTopic,
      peersTopic,
    };
    // The station's warnings (a closed router connection, a failed publish) go to stderr.
    const station = createBgpStation(stationConfig, {
      producer,
      log: createLogger({ level: 'warn' } as never, 'bgp-station'),
      metrics,
    });
    await station.start();
    const processorConfig: BgpProcessorConfig = {
      ...(Value.Default(bgpProcessorSchema, {}) as BgpProcessorConfig),
      updatesTopic,
      peersTopic,
      groupId: `bench-bgp-${randomUUID()}`,
      stateFile: path.join(stateDir, 'rib.snapshot'),
      // Rows and snapshots after convergence (timed apart), not during it.
      flushIntervalMs: 3_600_000,
      snapshotIntervalMs: 3_600_000,
      snapshotRowsIntervalMs: 3_600_000,
    };
    const rib = new Rib();
    const processor = createBgpProcessor(processorConfig, {
      createConsumer: (groupId) =>
        createKafkaConsumer(
          connection,
          { groupId, topics: [updatesTopic, peersTopic], fromBeginning: true, maxBytes: 16 * 1024 * 1024 },
          { log, metrics },
        ),
      warehouse: store.warehouse,
      rib,
      log,
      metrics,
    });
    await processor.start();

    const child = fork(senderPath, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const next = () =>
      new Promise<SenderMessage>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`sender exited with code ${code}`));
        child.once('exit', onExit);
        child.once('message', (message: SenderMessage) => {
          child.off('exit', onExit);
          resolve(message);
        });
      });
    try {
      const ready = next();
      const { address, port } = station.address();
      child.send({
        type: 'start',
        options: { host: address, port, ipv4Routes: ipv4, ipv6Routes: ipv6, seed: 2017 },
      } satisfies SenderMessage);
      const table = await ready;
      if (table.type !== 'ready')
        throw new Error(`sender: ${table.type === 'error' ? table.message : table.type}`);
      await settle();
      const before = memoryNow();
      const sent = next();
      const cpuStarted = cpuSeconds();
      const threadsStarted = threadCpuSeconds();
      const machineStarted = machineBusySeconds();
      const loadBefore = os.loadavg();
      const goAt = Date.now();
      child.send({ type: 'go' } satisfies SenderMessage);
      const deadline = Date.now() + timeoutSeconds * 1000;
      let sentReport: SenderMessage | undefined;
      void sent.then((m) => {
        sentReport = m;
      });
      let peakRss = 0;
      let stationDecodedAt = 0;
      let stationPublishedAt = 0;
      while (rib.routeCount() < table.routes && Date.now() < deadline && sentReport?.type !== 'error') {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        const decoded = station.routers().reduce((n, r) => n + r.announced, 0);
        if (stationDecodedAt === 0 && decoded >= table.routes) stationDecodedAt = Date.now();
        if (stationDecodedAt !== 0 && stationPublishedAt === 0 && station.queued() === 0)
          stationPublishedAt = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const convergedAt = Date.now();
      const mainCpu = cpuSeconds() - cpuStarted;
      const threadCpu = threadCpuDelta(threadsStarted, threadCpuSeconds());
      const machineCpu = machineBusySeconds() - machineStarted;
      const report = sentReport ?? (await sent);
      if (report.type !== 'sent')
        throw new Error(`sender: ${report.type === 'error' ? report.message : report.type}`);
      const routes = rib.routeCount();
      const secondsToConverge = (convergedAt - report.startedAtMs) / 1000;
      const secondsToSend = (report.finishedAtMs - report.startedAtMs) / 1000;
      // The origin rows of every new prefix wait for the next flush (every 5 s by default): written first (and
      // timed), so the memory figure is the RIB's and not the pending rows'.
      const rowsStarted = Date.now();
      await processor.writeSnapshotRows();
      await processor.flush();
      const secondsToWriteRows = (Date.now() - rowsStarted) / 1000;
      await settle();
      const bytesPerRoute = (memoryNow() - before) / Math.max(1, routes);
      const checkpointStarted = Date.now();
      await processor.checkpoint();
      const secondsToCheckpoint = (Date.now() - checkpointStarted) / 1000;
      if (routes < table.routes)
        notes.push(`timed out after ${timeoutSeconds} s with ${routes} of ${table.routes} routes`);
      const v4 = rib.prefixes4.lengthCounts;
      return {
        routes,
        routes_sent: table.routes,
        seconds_to_converge: Math.round(secondsToConverge * 100) / 100,
        bytes_per_route: Math.round(bytesPerRoute),
        goal: { routes: 1_200_000, seconds_to_converge: 15, bytes_per_route: 150 },
        meets_goal: routes >= 1_200_000 && secondsToConverge <= 15 && bytesPerRoute <= 150,
        routes_per_second: Math.round(routes / secondsToConverge),
        // CPU from 'go' to convergence: this process (station + processor + Kafka clients), and every process
        // of the machine together (sender, broker, anyone else), against the cores × seconds there were.
        cpu_seconds_station_and_processor: Math.round(mainCpu * 100) / 100,
        routes_per_cpu_second: Math.round(routes / Math.max(0.001, mainCpu)),
        cpu_seconds_by_thread: threadCpu,
        cpu_seconds_machine: Math.round(machineCpu * 100) / 100,
        cpu_seconds_available: Math.round(((convergedAt - goAt) / 1000) * os.cpus().length * 100) / 100,
        load_average_before: loadBefore.map((l) => Math.round(l * 100) / 100),
        seconds_to_send: Math.round(secondsToSend * 100) / 100,
        // When the station had decoded every route, and when Kafka had acknowledged them all (0: not seen).
        seconds_station_decoded: stationDecodedAt === 0 ? 0 : (stationDecodedAt - report.startedAtMs) / 1000,
        seconds_station_published:
          stationPublishedAt === 0 ? 0 : (stationPublishedAt - report.startedAtMs) / 1000,
        bmp_bytes: table.bytes,
        bmp_messages: table.messages,
        attribute_sets: rib.attributes.size,
        rib_array_bytes_per_route: Math.round(rib.arrayBytes() / Math.max(1, routes)),
        peak_rss_bytes: peakRss,
        seconds_to_write_rows: Math.round(secondsToWriteRows * 100) / 100,
        seconds_to_checkpoint: Math.round(secondsToCheckpoint * 100) / 100,
        ipv4_routes_by_length: Object.fromEntries([...v4.entries()].filter(([, n]) => n > 0)),
        load_average: os.loadavg().map((l) => Math.round(l * 100) / 100),
        notes,
        tables: [
          {
            title: 'bgp-full-table: BMP → station → Kafka → bgp-processor',
            columns: [
              'routes',
              'converge (s)',
              'send (s)',
              'routes/s',
              'B/route (heap+buffers)',
              'RIB arrays B/route',
            ],
            rows: [
              [
                routes.toLocaleString('en'),
                secondsToConverge.toFixed(1),
                secondsToSend.toFixed(1),
                Math.round(routes / secondsToConverge).toLocaleString('en'),
                Math.round(bytesPerRoute),
                Math.round(rib.arrayBytes() / Math.max(1, routes)),
              ],
            ],
          },
        ],
      };
    } finally {
      if (child.connected) child.disconnect();
      if (child.exitCode === null) child.kill();
      await processor.stop().catch(() => undefined);
      await station.stop().catch(() => undefined);
      await producer.stop().catch(() => undefined);
      await admin.deleteTopics([updatesTopic, peersTopic]).catch(() => undefined);
      await admin.close();
      await store.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  },
};

export default benchmark;
