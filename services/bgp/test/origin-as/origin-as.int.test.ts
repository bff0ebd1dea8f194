/**
 * IP → origin AS from a RIB loaded from a real MRT capture, as the flows collector gets it:
 * - in one process: the flows module's collector, built by its own `build`, reads the bgp-processor's lookup off
 *   the process slot; NetFlow v5 records sent over UDP come out with the RIB's AS numbers;
 * - across processes: the NATS responder answers batched requests, the kit client caches by uniform block, and
 *   the flows collector (slot empty) enriches from it once the first answers are in.
 * The flows package is reached by path: domains do not depend on each other, this test checks them together.
 */

import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import type { FlowRecord } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { FlowRecordBatchSchema } from '@kansoku/contracts/gen/kansoku/flows/v2/flows_pb';
import { formatIpAddress, parseIpAddress } from '@kansoku/contracts/ip-address';
import {
  type Component,
  type ConfigSection,
  createMetricsRegistry,
  createNats,
  type Nats,
  type OutgoingMessage,
  type ServiceRuntime,
  silentLogger,
} from '@kansoku/kit';
import { createNatsOriginAsClient, originAsClientSection, originAsSlot } from '@kansoku/kit/enrichment';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { flowsModule } from '../../../flows/src/module.ts';
import { createOriginAsResponder } from '../../src/origin-as/responder.ts';
import { loadRibFromMrt } from '../../src/rib/mrt-load.ts';
import { Rib } from '../../src/rib/rib.ts';
import { haveMrtCaptures, mrtCaptures } from '../replay/bgpdump.ts';

const FILE = 'updates.20160811.1600.gz';
const log = silentLogger();

function natsServers(): string[] {
  try {
    const servers = inject('kansokuStack')?.natsServers ?? [];
    if (servers.length > 0) return servers;
  } catch {
    // Outside the integration project.
  }
  return (process.env.KANSOKU_NATS_SERVERS ?? 'nats://127.0.0.1:4222').split(',');
}

/** One NetFlow v5 datagram (RFC-less, Cisco's layout) with the given address pairs and AS fields zero. */
function netflowV5(pairs: readonly [Uint8Array, Uint8Array][]): Buffer {
  const packet = Buffer.alloc(24 + 48 * pairs.length);
  packet.writeUInt16BE(5, 0);
  packet.writeUInt16BE(pairs.length, 2);
  packet.writeUInt32BE(1000, 4);
  packet.writeUInt32BE(Math.floor(Date.now() / 1000), 8);
  pairs.forEach(([src, dst], i) => {
    const at = 24 + 48 * i;
    packet.set(src, at);
    packet.set(dst, at + 4);
    packet.writeUInt32BE(10, at + 16);
    packet.writeUInt32BE(15_000, at + 20);
    packet.writeUInt32BE(500, at + 24);
    packet.writeUInt32BE(900, at + 28);
    packet.writeUInt16BE(443, at + 32);
    packet.writeUInt16BE(50_000, at + 34);
    packet[at + 38] = 6;
  });
  return packet;
}

interface Harness {
  components: Component[];
  records: FlowRecord[];
  port: number;
  send(pairs: readonly [Uint8Array, Uint8Array][]): Promise<void>;
  stop(): Promise<void>;
}

/** Builds and starts the flows collector through the flows module, with a runtime that records what it sends. */
async function flowsCollector(
  runtime: Partial<ServiceRuntime>,
  clientConfig: Record<string, unknown>,
): Promise<Harness> {
  const records: FlowRecord[] = [];
  const producer = {
    start: async () => undefined,
    stop: async () => undefined,
    send: async (_topic: string, messages: OutgoingMessage[]) => {
      for (const m of messages) records.push(...fromBinary(FlowRecordBatchSchema, m.value).records);
    },
  };
  const sections = new Map<string, unknown>([[originAsClientSection.name, clientConfig]]);
  const full = Object.assign(runtime, {
    log,
    metrics: createMetricsRegistry({ processMetrics: false }),
    config: {
      get: (section: ConfigSection) => {
        const value = sections.get(section.name) ?? {};
        const defaults = Value.Default(section.schema, structuredClone(value)) as Record<string, unknown>;
        // Listeners on free ports.
        return section.name === 'flowsCollector'
          ? {
              ...defaults,
              netflowPort: 0,
              ipfixPort: 0,
              ipfixTcpPort: 0,
              sflowPort: 0,
              address: '127.0.0.1',
              stateFile: '',
            }
          : defaults;
      },
    },
    kafkaProducer: () => producer,
  }) as unknown as ServiceRuntime;
  const service = flowsModule.services.find((s) => s.name === 'flows-collector')!;
  const components = service.build(full);
  for (const c of components) await c.start();
  const collector = components.at(-1) as unknown as { endpoints(): { kind: string; port: number }[] };
  const port = collector.endpoints().find((e) => e.kind === 'netflow')!.port;
  const socket = createSocket('udp4');
  return {
    components,
    records,
    port,
    send: (pairs) =>
      new Promise((resolve, reject) =>
        socket.send(netflowV5(pairs), port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
      ),
    async stop() {
      socket.close();
      for (const c of [...components].reverse()) await c.stop();
    },
  };
}

async function until(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let rib: Rib;
/** IPv4 addresses inside the RIB's prefixes, with the AS the RIB answers. */
let known: { address: Uint8Array; asn: number }[] = [];
let nats: Nats;

beforeAll(async () => {
  if (!haveMrtCaptures) return;
  rib = new Rib();
  const summary = await loadRibFromMrt(rib, join(mrtCaptures, FILE));
  expect(summary.applied).toBeGreaterThan(40_000);
  rib.prefixes4.forEach((id) => {
    if (known.length >= 200) return;
    const address = rib.prefixes4.address(id);
    address[3] = address[3]! | 7;
    const asn = rib.originAs(address);
    if (asn !== undefined) known.push({ address, asn });
  });
  nats = createNats(
    { servers: natsServers(), name: 'bgp-origin-as-test', token: '', connectTimeoutMs: 5000 },
    { log },
  );
  await nats.start();
}, 120_000);
afterAll(async () => {
  await nats?.stop();
  known = [];
});

describe.skipIf(!haveMrtCaptures)('IP → origin AS for the flows collector', () => {
  it('in one process: the collector enriches from the bgp-processor lookup on the process slot', async () => {
    expect(known.length).toBe(200);
    const runtime: Partial<ServiceRuntime> = {};
    originAsSlot(runtime).provide({ originAs: (a) => rib.originAs(a) });
    const harness = await flowsCollector(runtime, { nats: false });
    try {
      const pairs = known
        .slice(0, 20)
        .map((k, i) => [k.address, known[i + 20]!.address] as [Uint8Array, Uint8Array]);
      await harness.send(pairs);
      await until('20 records', () => harness.records.length >= 20);
      const bySource = new Map(harness.records.map((r) => [formatIpAddress(r.srcAddress), r]));
      pairs.forEach(([src, dst]) => {
        const record = bySource.get(formatIpAddress(src))!;
        expect(record.srcAs).toBe(rib.originAs(src));
        expect(record.dstAs).toBe(rib.originAs(dst));
        expect(record.srcAs).toBeGreaterThan(0);
      });
      // An address no prefix covers stays 0.
      await harness.send([[parseIpAddress('10.1.2.3'), parseIpAddress('192.168.9.9')]]);
      await until('one more record', () => harness.records.length >= 21);
      expect(harness.records.at(-1)).toMatchObject({ srcAs: 0, dstAs: 0 });
    } finally {
      await harness.stop();
    }
  });

  it('over NATS: batched requests, a block cache, and the collector enriching once answers are in', async () => {
    const subject = `test.origin-as.${randomUUID()}`;
    const metrics = createMetricsRegistry({ processMetrics: false });
    const responder = createOriginAsResponder({ subject }, { rib, nats, log, metrics });
    await responder.start();
    try {
      const config = { ...(Value.Default(originAsClientSection.schema, {}) as never as object), subject };
      const client = createNatsOriginAsClient(config as never, { nats, log, metrics });
      await client.start();
      for (const k of known) expect(client.originAs(k.address)).toBeUndefined();
      await client.settled();
      for (const k of known) expect(client.originAs(k.address)).toBe(k.asn);
      const sent = (await metrics.getSingleMetricAsString('kansoku_bgp_origin_as_requests_total')).match(
        /outcome="ok"} (\d+)/,
      )?.[1];
      // 200 addresses asked within one batch delay: one request.
      expect(Number(sent)).toBe(1);
      // A neighbour address in the same uniform block is a cache hit (no new request).
      const neighbour = Uint8Array.from(known[0]!.address);
      neighbour[3] = neighbour[3]! ^ 1;
      expect(client.originAs(neighbour)).toBe(rib.originAs(neighbour));
      await client.settled();
      const after = (await metrics.getSingleMetricAsString('kansoku_bgp_origin_as_requests_total')).match(
        /outcome="ok"} (\d+)/,
      )?.[1];
      expect(Number(after)).toBe(1);
      await client.stop();

      // The flows collector in a process of its own (slot empty): the first records may lack AS, later ones not.
      const harness = await flowsCollector({ nats: () => nats }, { nats: true, subject, batchDelayMs: 5 });
      try {
        const pairs = known
          .slice(100, 120)
          .map((k, i) => [k.address, known[i + 120]!.address] as [Uint8Array, Uint8Array]);
        await harness.send(pairs);
        await until('first records', () => harness.records.length >= 20);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await harness.send(pairs);
        await until('second records', () => harness.records.length >= 40);
        for (const [i, record] of harness.records.slice(20).entries()) {
          const [src, dst] = pairs[i]!;
          expect(record.srcAs).toBe(rib.originAs(src));
          expect(record.dstAs).toBe(rib.originAs(dst));
        }
      } finally {
        await harness.stop();
      }
    } finally {
      await responder.stop();
    }
  });
});
