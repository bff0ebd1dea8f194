/**
 * The simulator against the real DNS collector: dnstap over Frame Streams (TCP and the unix socket) with the
 * bidirectional handshake, paired by the collector into DnsQuery records. What the collector publishes must be
 * exactly what the simulator says it sent, with the report's query-type mix per transport.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DnsQuery, IpVersion } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { createMetricsRegistry, silentLogger } from '@kansoku/kit';
import { afterAll, describe, expect, it } from 'vitest';
import { createDnsCollector } from '../../src/collector/collector.ts';
import { decodeDnsQueryBatch } from '../../src/processor/dns-query-decoder.ts';
import { createDnsSimulator, type DnsSimulatorConfig } from '../../src/simulator/simulator.ts';

const log = silentLogger();
const dir = mkdtempSync(join(tmpdir(), 'kansoku-dns-sim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base: DnsSimulatorConfig = {
  address: '',
  socket: '',
  sources: 5000,
  ipv6Share: 0.4,
  speed: 3600,
  seconds: 0,
  maxQueries: 40_000,
  startMs: 0,
  timezone: 'Asia/Tokyo',
  identity: 'sim-test',
  nxdomainShare: 0.03,
  servfailShare: 0.002,
  unansweredShare: 0,
  activitySigma: 1,
  zones: 500,
  attack: 'none',
  attackQps: 200,
  attackAfterSeconds: 0,
  attackZone: 'victim.example.jp.',
  seed: 3,
};

async function collect(config: Partial<DnsSimulatorConfig>) {
  const records: DnsQuery[] = [];
  const producer = {
    send: async (_topic: string, messages: { value: Buffer | Uint8Array }[]) => {
      for (const m of messages) records.push(...decodeDnsQueryBatch(Buffer.from(m.value)));
    },
  };
  const socketPath = join(dir, `c-${Math.random().toString(36).slice(2)}.sock`);
  const collector = createDnsCollector(
    {
      address: '127.0.0.1',
      port: 0,
      unixSocketPath: socketPath,
      maxConnections: 16,
      maxFrameBytes: 256 * 1024,
      handshakeTimeoutMs: 10_000,
      pairingTimeoutMs: 10_000,
      maxPendingQueries: 200_000,
      queryLogFile: '',
      queryLogFromStart: false,
      syslogPort: -1,
      topic: 'unused',
      maxQueuedRecords: 200_000,
      maxSendRecords: 10_000,
    },
    { producer, log, metrics: createMetricsRegistry({ processMetrics: false }) },
  );
  await collector.start();
  const simulator = createDnsSimulator(
    {
      ...base,
      ...config,
      ...(config.socket === 'collector'
        ? { socket: socketPath }
        : { address: `127.0.0.1:${collector.tcpPort()}` }),
    },
    { log },
  );
  await simulator.start();
  await simulator.done();
  const deadline = Date.now() + 20_000;
  while (
    records.length < simulator.sent().queries + simulator.sent().attackQueries &&
    Date.now() < deadline
  ) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await collector.stop();
  return { records, sent: simulator.sent() };
}

describe('dns simulator → collector', () => {
  it('sends the report’s mix over TCP; every query arrives paired with its response', async () => {
    const { records, sent } = await collect({});
    expect(sent.queries).toBe(40_000);
    expect(sent.frames).toBe(80_000);
    expect(records).toHaveLength(40_000);
    expect(records.every((r) => r.responseSeen && r.resolverIdentity === 'sim-test')).toBe(true);
    for (const [v, a, aaaa] of [
      [IpVersion.V4, 0.64, 0.33],
      [IpVersion.V6, 0.56, 0.43],
    ] as const) {
      const mine = records.filter((r) => r.ipVersion === v);
      expect(Math.abs(mine.filter((r) => r.qtype === 1).length / mine.length - a)).toBeLessThan(0.03);
      expect(Math.abs(mine.filter((r) => r.qtype === 28).length / mine.length - aaaa)).toBeLessThan(0.03);
    }
  }, 60_000);

  it('sends a random-subdomain attack over the unix socket', async () => {
    const { records, sent } = await collect({
      socket: 'collector',
      maxQueries: 5000,
      attack: 'random-subdomain',
      attackQps: 50_000,
      sources: 500,
      speed: 1,
    });
    expect(records).toHaveLength(sent.queries + sent.attackQueries);
    const flood = records.filter((r) => r.qname.endsWith('.victim.example.jp.'));
    expect(flood.length).toBe(sent.attackQueries);
    expect(flood.length).toBeGreaterThan(1000);
    expect(flood.every((r) => r.rcode === 3)).toBe(true);
    expect(new Set(flood.map((r) => r.qname)).size).toBeGreaterThan(flood.length * 0.99);
  }, 60_000);
});
