/**
 * A real exporter through the whole platform: softflowd (Debian; code no one here wrote) reads a capture this
 * test writes and exports IPFIX to `kansoku run flows-collector flows-processor gateway`; the totals the gateway
 * reads from ClickHouse must equal what softflowd says it exported, and what the capture holds.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createKafkaAdmin } from '@kansoku/kit/kafka/index';
import { afterAll, describe, expect, it } from 'vitest';
import {
  syntheticTraffic,
  trafficTotals,
  writeTrafficPcap,
} from '../../services/flows/test/collector/traffic-pcap.ts';
import {
  freePort,
  type PlatformProcess,
  startPlatformProcess,
  waitFor,
} from '../support/platform-process.ts';

const run = promisify(execFile);

async function softflowdInstalled(): Promise<boolean> {
  try {
    await run('softflowd', ['-h']);
    return true;
  } catch (error) {
    // softflowd -h prints its usage and exits non-zero; only a missing binary is ENOENT.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
const haveSoftflowd = await softflowdInstalled();
if (!haveSoftflowd)
  console.warn('softflowd not installed (apt-get install softflowd): the real-exporter e2e test is skipped');

describe.skipIf(!haveSoftflowd)('softflowd → collector → Kafka → processor → ClickHouse → gateway', () => {
  const token = `viewer-${randomUUID()}`;
  const dir = mkdtempSync(join(tmpdir(), 'kansoku-e2e-exporter-'));
  const brokers = (process.env.KANSOKU_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const admin = createKafkaAdmin({ brokers, clientId: 'kansoku-e2e-exporter' });
  const topic = `test-${randomUUID()}`;
  let platform: PlatformProcess | undefined;

  afterAll(async () => {
    if (platform && platform.child.exitCode === null) {
      platform.child.kill('SIGTERM');
      await platform.exited;
    }
    await admin.deleteTopics([topic]);
    await admin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores exactly the flows, bytes and packets softflowd exported', async () => {
    await admin.ensureTopics([{ name: topic, partitions: 3, retentionMs: 3_600_000 }]);
    const [gatewayPort, ipfixPort, netflowPort, sflowPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    platform = startPlatformProcess(['run', 'flows-collector', 'flows-processor', 'gateway'], {
      KANSOKU_CLICKHOUSE_PATH: join(dir, 'clickhouse'),
      KANSOKU_GATEWAY_PORT: String(gatewayPort),
      KANSOKU_GATEWAY_TOKENS: `viewer:${token}`,
      // The test polls a fixed past range while it fills: a cached answer would hide the arriving rows.
      KANSOKU_GATEWAY_CACHE_ENABLED: 'false',
      KANSOKU_FLOWS_COLLECTOR_TOPIC: topic,
      KANSOKU_FLOWS_COLLECTOR_IPFIX_PORT: String(ipfixPort),
      KANSOKU_FLOWS_COLLECTOR_IPFIX_TCP_PORT: String(ipfixPort),
      KANSOKU_FLOWS_COLLECTOR_NETFLOW_PORT: String(netflowPort),
      KANSOKU_FLOWS_COLLECTOR_SFLOW_PORT: String(sflowPort),
      KANSOKU_FLOWS_COLLECTOR_STATE_FILE: join(dir, 'templates.json'),
      KANSOKU_FLOWS_PROCESSOR_TOPIC: topic,
      KANSOKU_FLOWS_PROCESSOR_GROUP_ID: `test-${randomUUID()}`,
      KANSOKU_FLOWS_PROCESSOR_MAX_BATCH_DELAY_MS: '200',
    });
    const base = `http://127.0.0.1:${gatewayPort}`;
    const child = platform;
    await waitFor(
      'the platform to be ready',
      async () => ((await fetch(`${base}/ready`)).status === 200 ? true : undefined),
      {
        timeoutMs: 90_000,
        context: () => child.output(),
      },
    );

    const traffic = syntheticTraffic(150);
    const expected = trafficTotals(traffic);
    const pcap = join(dir, 'traffic.pcap');
    writeTrafficPcap(pcap, traffic);
    const from = Date.now() - 60_000;
    const { stdout, stderr } = await run(
      'softflowd',
      ['-d', '-r', pcap, '-n', `127.0.0.1:${ipfixPort}`, '-v', '10'],
      {
        timeout: 60_000,
      },
    );
    const report = /Flows exported: (\d+) \((\d+) records\)/.exec(`${stdout}\n${stderr}`);
    expect(Number(report?.[2])).toBe(expected.flows);

    const range = `from=${from}&to=${Date.now() + 3_600_000}`;
    const totals = await waitFor(
      'the exported flows in ClickHouse',
      async () => {
        const res = await fetch(`${base}/api/v1/flows/totals?${range}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const body = (await res.json()) as { rows: { flows: number; bytes: number; packets: number }[] };
        const row = body.rows[0];
        return row && row.flows >= expected.flows ? row : undefined;
      },
      { timeoutMs: 60_000, context: () => child.output() },
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(totals).toEqual({ flows: expected.flows, bytes: expected.bytes, packets: expected.packets });

    // The same traffic through the report's protocol/port mix: the shares of TCP and UDP add up to all of it.
    const mix = await fetch(`${base}/api/v1/flows/protocol-port-mix?${range}&limit=10`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const rows = ((await mix.json()) as { rows: { protocol: number | null; bytes: number; share: number }[] })
      .rows;
    expect(rows.reduce((sum, r) => sum + r.bytes, 0)).toBe(expected.bytes);
    expect(rows.reduce((sum, r) => sum + r.share, 0)).toBeCloseTo(1, 9);
  });
});
