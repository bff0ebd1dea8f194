/**
 * The platform end to end on real parts: contract messages produced to a real Kafka broker, the
 * flows processor (a separate `kansoku run` process) writing rollups to the embedded ClickHouse,
 * and the gateway answering over HTTP. The second test kills the processor with SIGKILL in the
 * middle of the stream, several times, and checks that ClickHouse ends with exactly what was
 * produced: offsets are committed only after the insert is acknowledged, and a replayed range is
 * deduplicated (kit's ingest ledger).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { encode, flows, flowsV2, keyOf, topics } from '@kansoku/contracts';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { createMetricsRegistry, type KafkaAdmin, type KafkaProducer, silentLogger } from '@kansoku/kit';
import { createKafkaAdmin, createKafkaProducer } from '@kansoku/kit/kafka/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  type PlatformProcess,
  startPlatformProcess,
  waitFor,
} from '../support/platform-process.ts';

const TOKEN = `viewer-${randomUUID()}`;
/** 2026-01-05 00:00 UTC, a Monday: every record falls in the hour after it. */
const BASE_MS = Date.UTC(2026, 0, 5);
const RANGE = `from=${BASE_MS}&to=${BASE_MS + 3_600_000}&step=60`;

interface Totals {
  flows: number;
  bytes: number;
  packets: number;
}

function flowRecord(i: number): flows.FlowRecord {
  const v6 = i % 25 === 0;
  return create(flows.FlowRecordSchema, {
    timeReceivedNs: BigInt(BASE_MS + (i % 3_600_000)) * 1_000_000n,
    exporterAddress: parseIpAddress(`192.0.2.${(i % 4) + 1}`),
    flowProtocol: flows.FlowProtocol.IPFIX,
    ipVersion: v6 ? flows.IpVersion.V6 : flows.IpVersion.V4,
    srcAddress: parseIpAddress(v6 ? '2001:db8::10' : '198.51.100.10'),
    dstAddress: parseIpAddress(v6 ? '2001:db8::20' : '203.0.113.20'),
    protocol: i % 3 === 0 ? 17 : 6,
    srcPort: 443,
    dstPort: 50_000 + (i % 1000),
    applicationName: i % 3 === 0 ? 'QUIC' : 'HTTPS',
    bytes: BigInt(40 + (i % 1460)),
    packets: BigInt(1 + (i % 3)),
    samplingRate: 1,
  });
}

function expectedTotals(from: number, count: number): Totals {
  const totals = { flows: 0, bytes: 0, packets: 0 };
  for (let i = from; i < from + count; i++) {
    totals.flows += 1;
    totals.bytes += 40 + (i % 1460);
    totals.packets += 1 + (i % 3);
  }
  return totals;
}

/** Ledger ranges a processor re-read when it started (its /metrics, before it is killed). */
async function replaysDone(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = /^kansoku_sink_flushes_total\{[^}]*kind="replay"[^}]*\} (\d+)/m.exec(text);
  return Number(line?.[1] ?? 0);
}

async function produceRange(
  producer: KafkaProducer,
  topic: string,
  from: number,
  count: number,
  batch = 1000,
) {
  for (let start = from; start < from + count; start += batch) {
    // Records grouped per exporter into FlowRecordBatch messages of up to 10, as the collector sends them.
    const byExporter = new Map<string, flows.FlowRecord[]>();
    for (let i = start; i < Math.min(from + count, start + batch); i++) {
      const record = flowRecord(i);
      const exporter = `192.0.2.${(i % 4) + 1}`;
      byExporter.set(exporter, [...(byExporter.get(exporter) ?? []), record]);
    }
    const messages = [];
    for (const records of byExporter.values()) {
      for (let at = 0; at < records.length; at += 10) {
        const message = create(flowsV2.FlowRecordBatchSchema, { records: records.slice(at, at + 10) });
        messages.push({
          key: keyOf(topics.flowRecords, message),
          value: encode(topics.flowRecords, message),
        });
      }
    }
    await producer.send(topic, messages);
  }
}

describe('flows pipeline end to end', () => {
  const log = silentLogger();
  const brokers = (process.env.KANSOKU_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const connection = { brokers, clientId: 'kansoku-e2e-test' };
  const dirs: string[] = [];
  const children: PlatformProcess[] = [];
  const topicsCreated: string[] = [];
  let admin: KafkaAdmin;
  let producer: KafkaProducer;

  beforeAll(async () => {
    admin = createKafkaAdmin(connection);
    producer = createKafkaProducer(
      connection,
      { maxBatchMessages: 1000, lingerMs: 5 },
      { log, metrics: createMetricsRegistry({ processMetrics: false }) },
    );
    await producer.start();
  });

  afterAll(async () => {
    for (const child of children) {
      if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
    }
    await producer?.stop();
    if (topicsCreated.length > 0) await admin?.deleteTopics(topicsCreated);
    await admin?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function newPipeline(maxBatchMessages: number) {
    const topic = `test-${randomUUID()}`;
    await admin.ensureTopics([{ name: topic, partitions: 3, retentionMs: 3_600_000 }]);
    topicsCreated.push(topic);
    const dataDir = mkdtempSync(join(tmpdir(), 'kansoku-e2e-'));
    dirs.push(dataDir);
    const port = await freePort();
    const env = {
      KANSOKU_CLICKHOUSE_PATH: dataDir,
      KANSOKU_GATEWAY_PORT: String(port),
      KANSOKU_GATEWAY_TOKENS: `viewer:${TOKEN}`,
      // The test polls a fixed past range while it fills: a cached answer would hide the arriving rows.
      KANSOKU_GATEWAY_CACHE_ENABLED: 'false',
      KANSOKU_FLOWS_PROCESSOR_TOPIC: topic,
      KANSOKU_FLOWS_PROCESSOR_GROUP_ID: `test-${randomUUID()}`,
      KANSOKU_FLOWS_PROCESSOR_MAX_BATCH_MESSAGES: String(maxBatchMessages),
      KANSOKU_FLOWS_PROCESSOR_MAX_BATCH_DELAY_MS: '200',
      // The broker's minimum: a killed processor's partitions move to its successor after 6 s, not 30.
      KANSOKU_KAFKA_CONSUMER_SESSION_TIMEOUT_MS: '6000',
    };
    const base = `http://127.0.0.1:${port}`;
    let current: PlatformProcess | undefined;
    const start = async () => {
      current = startPlatformProcess(['run', 'flows-processor', 'gateway'], env);
      children.push(current);
      const child = current;
      await waitFor(
        'the gateway to be ready',
        async () => ((await fetch(`${base}/ready`)).status === 200 ? true : undefined),
        { timeoutMs: 90_000, context: () => child.output() },
      );
    };
    const totals = async (): Promise<Totals> => {
      const res = await fetch(`${base}/api/v1/flows/totals?${RANGE}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      if (res.status !== 200) throw new Error(`totals: HTTP ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { rows: Totals[] };
      return body.rows[0]!;
    };
    return { topic, base, start, totals, current: () => current!, output: () => current?.output() ?? '' };
  }

  it('counts produced records exactly in the rollup the gateway serves, with every dependency healthy', async () => {
    const pipeline = await newPipeline(5000);
    await pipeline.start();

    const health = (await (await fetch(`${pipeline.base}/health`)).json()) as {
      status: string;
      dependencies: Record<string, { ok: boolean }>;
    };
    expect(health.status).toBe('ok');
    expect(Object.keys(health.dependencies).sort()).toEqual(['clickhouse', 'kafka', 'nats']);
    for (const dependency of Object.values(health.dependencies)) expect(dependency.ok).toBe(true);

    const count = 20_000;
    await produceRange(producer, pipeline.topic, 0, count);
    const expected = expectedTotals(0, count);
    const seen = await waitFor(
      'all records in ClickHouse',
      async () => {
        const t = await pipeline.totals();
        return t.flows >= count ? t : undefined;
      },
      { timeoutMs: 60_000, context: pipeline.output },
    );
    expect(seen).toEqual(expected);

    // The same data by IP version: every 25th record is IPv6.
    const res = await fetch(`${pipeline.base}/api/v1/flows/traffic-by-ip-version?${RANGE}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const byVersion = (await res.json()) as { rows: { ip_version: string; flows: number }[] };
    const flowsOf = (v: string) =>
      byVersion.rows.filter((r) => r.ip_version === v).reduce((n, r) => n + r.flows, 0);
    expect(flowsOf('IPv6')).toBe(count / 25);
    expect(flowsOf('IPv4')).toBe(count - count / 25);

    pipeline.current().child.kill('SIGTERM');
    expect((await pipeline.current().exited).code).toBe(0);
  });

  it('loses nothing and counts nothing twice when the processor is killed with SIGKILL mid-stream', async () => {
    // Small batches: flushes (ledger, insert, commit) happen all the time, so kills land inside them.
    const pipeline = await newPipeline(300);
    await pipeline.start();

    // The stream goes on for as long as the kills take, so every kill lands while records are arriving.
    const chunk = 1_000;
    let produced = 0;
    let killing = true;
    const producing = (async () => {
      while (killing || produced < 20_000) {
        await produceRange(producer, pipeline.topic, produced, chunk, 500);
        produced += chunk;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    let replays = 0;
    for (let kill = 0; kill < 3; kill++) {
      // Let the processor write part of the stream, then kill it without warning.
      const before = (await pipeline.totals()).flows;
      await waitFor(
        'progress before the kill',
        async () => ((await pipeline.totals()).flows > before ? true : undefined),
        { timeoutMs: 60_000, context: pipeline.output },
      );
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.floor(Math.random() * 300)));
      const victim = pipeline.current();
      replays += await replaysDone(pipeline.base);
      victim.child.kill('SIGKILL');
      expect((await victim.exited).signal).toBe('SIGKILL');
      // Really gone: nothing answers on its port any more (no wrapper process left a survivor behind).
      await expect(fetch(`${pipeline.base}/ready`)).rejects.toThrow();
      await pipeline.start();
    }
    killing = false;
    await producing;
    const total = produced;

    const expected = expectedTotals(0, total);
    const final = await waitFor(
      'every record in ClickHouse',
      async () => {
        const t = await pipeline.totals();
        return t.flows >= total ? t : undefined;
      },
      { timeoutMs: 90_000, context: pipeline.output },
    );
    // Settle: a duplicate would show up as a count above the total.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await pipeline.totals()).toEqual(expected);
    expect(final).toEqual(expected);

    replays += await replaysDone(pipeline.base);
    // How many ranges the successors re-read (a kill between intent and commit); informative, timing decides.
    console.info(`SIGKILL test: ${replays} ledger range(s) replayed by restarted processors`);

    pipeline.current().child.kill('SIGTERM');
    await pipeline.current().exited;
  });
});
