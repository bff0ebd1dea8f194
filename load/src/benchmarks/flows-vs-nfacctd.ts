/**
 * Our flows collector against nfacctd (pmacct), each receiving the same replayed IPFIX stream at increasing
 * rates. The stream: simulator-made IPFIX packets (24 report-shaped records each, templates in the first),
 * sent by the UDP replayer from a child process at a paced rate. Both receivers get the same socket receive
 * buffer. At each rate ours runs first, then nfacctd, each alone on the machine apart from the sender (and,
 * for ours, the Kafka broker it publishes to).
 *
 * Loss: ours, records acknowledged by Kafka vs sent (publisher counts of the collector); nfacctd, flows its
 * print plugin counted vs sent. The highest rate each holds with loss < --max-loss (default 0.1%) — the first
 * rate that fails ends the climb (rates above it are still measured and shown).
 */
import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createKafkaAdmin } from '@kansoku/kit/kafka/index';
import { startStack } from '@kansoku/platform/stack/index';
import { BenchArgumentError, type Benchmark, intFlag, listFlag, type ResultTable } from '../benchmark.ts';
import { nfacctdVersion, startNfacctd } from '../flows/nfacctd.ts';
import { startOurCollector } from '../flows/our-collector.ts';
import { udpDrops } from '../flows/udp-drops.ts';
import { DEFAULT_REPLAY, type ReplayerReport, startReplayer } from '../flows/udp-replayer.ts';

const MIB = 1024 * 1024;

interface StepResult {
  receiver: 'ours' | 'nfacctd';
  rate: number;
  sent: number;
  counted: number;
  loss: number;
  kernelDrops: number | undefined;
  achievedRate: number;
  senderBehindMs: number;
  /** Ours only: records dropped by the full publish queue, and records Kafka refused. */
  queueDropped?: number;
  publishFailed?: number;
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

function rmemMax(): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
  } catch {
    return undefined;
  }
}

async function replay(
  port: number,
  rate: number,
  seconds: number,
  sourceAddress: string,
): Promise<ReplayerReport> {
  const replayer = await startReplayer({
    ...DEFAULT_REPLAY,
    protocol: 'ipfix',
    targets: [{ address: '127.0.0.1', port }],
    recordsPerSecond: rate,
    seconds,
    sourceAddress,
  });
  try {
    return await replayer.run();
  } finally {
    replayer.kill();
  }
}

function lossOf(sent: number, counted: number): number {
  return sent > 0 ? Math.max(0, sent - counted) / sent : 0;
}

/** The highest rate of the unbroken run of passing steps from the lowest rate up. */
export function maxHeldRate(steps: readonly { rate: number; loss: number }[], maxLoss: number): number {
  let held = 0;
  for (const step of [...steps].sort((a, b) => a.rate - b.rate)) {
    if (step.loss >= maxLoss) break;
    held = step.rate;
  }
  return held;
}

export const benchmark: Benchmark = {
  name: 'flows-vs-nfacctd',
  description: 'Flows collector vs nfacctd (pmacct): highest IPFIX records/s held with < 0.1% loss',
  flags: {
    rates: 'records/s steps, comma-separated (default 10000,25000,50000,100000,200000,400000,800000)',
    seconds: 'seconds per step (default 10)',
    'recv-buffer': 'socket receive buffer of both receivers in bytes (default 33554432)',
    'max-loss-ppm': 'loss a step may have and still pass, in parts per million (default 1000 = 0.1%)',
    brokers: 'Kafka bootstrap brokers, comma-separated (default: the local stack, started if needed)',
  },
  async run(args) {
    const rates = listFlag(args, 'rates', [
      '10000',
      '25000',
      '50000',
      '100000',
      '200000',
      '400000',
      '800000',
    ]).map(Number);
    if (rates.some((rate) => !Number.isInteger(rate) || rate <= 0)) {
      throw new BenchArgumentError('--rates must be positive integers');
    }
    const seconds = intFlag(args, 'seconds', 10);
    const recvBufferSize = intFlag(args, 'recv-buffer', 32 * MIB);
    const maxLoss = intFlag(args, 'max-loss-ppm', 1000) / 1e6;
    const kernelMax = rmemMax();
    const notes: string[] = [];
    if (kernelMax !== undefined && kernelMax < recvBufferSize) {
      notes.push(
        `net.core.rmem_max is ${kernelMax}: both receive buffers are capped to it (raise it with ` +
          `sysctl -w net.core.rmem_max=${recvBufferSize})`,
      );
    }

    let brokers = listFlag(args, 'brokers', []);
    if (brokers.length === 0) {
      const stack = await startStack({ only: ['kafka'] });
      brokers = stack.kafka?.brokers ?? ['127.0.0.1:9092'];
    }
    const connection = { brokers, clientId: `bench-flows-vs-nfacctd-${randomUUID().slice(0, 8)}` };
    const admin = createKafkaAdmin(connection);
    const topic = `bench-flows-${randomUUID()}`;
    await admin.ensureTopics([{ name: topic, partitions: 3, retentionMs: 3_600_000 }]);

    const ours = await startOurCollector({ kafka: connection, topic, recvBufferSize });
    const peerVersion = nfacctdVersion();
    const steps: StepResult[] = [];
    try {
      for (const [index, rate] of rates.entries()) {
        // Ours: one collector for every step, counts taken as differences.
        {
          const before = ours.collector.publisher.counts();
          const dropsBefore = udpDrops(ours.ipfixPort);
          const report = await replay(ours.ipfixPort, rate, seconds, `127.0.1.${index + 1}`);
          await ours.settle(30_000);
          const after = ours.collector.publisher.counts();
          const dropsAfter = udpDrops(ours.ipfixPort);
          const counted = after.published - before.published;
          steps.push({
            receiver: 'ours',
            rate,
            sent: report.records,
            counted,
            loss: lossOf(report.records, counted),
            kernelDrops:
              dropsBefore !== undefined && dropsAfter !== undefined ? dropsAfter - dropsBefore : undefined,
            achievedRate: report.achievedRecordsPerSecond,
            senderBehindMs: report.behindMs,
            queueDropped: after.dropped - before.dropped,
            publishFailed: after.failed - before.failed,
          });
          log(`ours    ${rate}/s: sent ${report.records}, published ${counted}`);
        }
        // nfacctd: a fresh daemon per step.
        {
          const port = await freeUdpPort();
          const peer = await startNfacctd({ port, recvBufferSize, refreshSeconds: 2 });
          const report = await replay(port, rate, seconds, `127.0.2.${index + 1}`);
          await new Promise((resolve) => setTimeout(resolve, 3_000));
          const drops = udpDrops(port);
          const counted = await peer.stop();
          steps.push({
            receiver: 'nfacctd',
            rate,
            sent: report.records,
            counted,
            loss: lossOf(report.records, counted),
            kernelDrops: drops,
            achievedRate: report.achievedRecordsPerSecond,
            senderBehindMs: report.behindMs,
          });
          log(`nfacctd ${rate}/s: sent ${report.records}, counted ${counted}`);
        }
      }
    } finally {
      await ours.stop();
      await admin.deleteTopics([topic]).catch(() => undefined);
      await admin.close();
    }

    const oursMax = maxHeldRate(
      steps.filter((s) => s.receiver === 'ours'),
      maxLoss,
    );
    const peerMax = maxHeldRate(
      steps.filter((s) => s.receiver === 'nfacctd'),
      maxLoss,
    );
    const ratio = peerMax > 0 ? oursMax / peerMax : Number.NaN;
    const topRate = Math.max(...rates);
    for (const [who, held] of [
      ['ours', oursMax],
      ['nfacctd', peerMax],
    ] as const) {
      if (held === topRate) {
        notes.push(
          `${who} held the top of the ladder (${topRate}/s): its maximum is at least that, not found`,
        );
      }
    }
    for (const step of steps) {
      if (step.senderBehindMs > 0) {
        notes.push(
          `${step.receiver} at ${step.rate}/s: the sender fell behind for ${step.senderBehindMs} ms ` +
            `(achieved ${Math.round(step.achievedRate)}/s)`,
        );
      }
    }
    const table: ResultTable = {
      title: `Loss per step (IPFIX, ${seconds} s per step, receive buffer ${recvBufferSize / MIB} MiB each)`,
      columns: [
        'records/s',
        'receiver',
        'sent',
        'counted',
        'loss',
        'kernel drops (datagrams)',
        'queue drops',
        'held',
      ],
      rows: steps.map((s) => [
        s.rate,
        s.receiver,
        s.sent,
        s.counted,
        `${(s.loss * 100).toFixed(3)}%`,
        s.kernelDrops ?? 'n/a',
        s.queueDropped ?? '—',
        s.loss < maxLoss ? 'yes' : 'no',
      ]),
    };
    const summary: ResultTable = {
      title: 'Highest rate held with loss < 0.1%',
      columns: ['receiver', 'records/s'],
      rows: [
        ['ours (collector → Kafka)', oursMax],
        [`nfacctd (${peerVersion})`, peerMax],
        ['ratio ours / nfacctd', Number.isFinite(ratio) ? Number(ratio.toFixed(2)) : 'n/a'],
      ],
    };
    return {
      tables: [summary, table],
      notes,
      ours_max_rate: oursMax,
      peer_max_rate: peerMax,
      ratio: Number.isFinite(ratio) ? ratio : null,
      ours_max_is_lower_bound: oursMax === topRate,
      peer_max_is_lower_bound: peerMax === topRate,
      peer: { name: 'nfacctd', version: peerVersion },
      settings: { rates, seconds, recvBufferSize, rmemMax: kernelMax, maxLoss, brokers, topic },
      steps,
    };
  },
};

export default benchmark;
