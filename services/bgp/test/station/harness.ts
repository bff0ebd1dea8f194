/** Test helpers: a station on a free port, a producer that keeps what it is sent, a router that replays bytes. */

import { connect, type Socket } from 'node:net';
import { decode, forEachRouteUpdate, topics } from '@kansoku/contracts';
import type { PeerEvent, RouteUpdate } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import type { KafkaProducer, OutgoingMessage } from '@kansoku/kit';
import { createMetricsRegistry, silentLogger } from '@kansoku/kit';
import { Value } from '@sinclair/typebox/value';
import { type BgpStationConfig, bgpStationSchema } from '../../src/station/config.ts';
import { type BgpStation, createBgpStation } from '../../src/station/station.ts';

export const UPDATES = 'test-updates';
export const PEERS = 'test-peers';

export interface SentMessage {
  topic: string;
  key: string;
  value: Uint8Array;
}

/** A producer that acknowledges at once (or when `gate` resolves) and keeps every message in order. */
export function captureProducer(): Pick<KafkaProducer, 'send'> & {
  sent: SentMessage[];
  gate?: Promise<void>;
  failNext?: boolean;
  updates(): RouteUpdate[];
  events(): PeerEvent[];
  /** Routes (in their batches) and peer events sent: what the station and the replay count as published. */
  items(): number;
} {
  const producer = {
    sent: [] as SentMessage[],
    gate: undefined as Promise<void> | undefined,
    failNext: false,
    async send(topic: string, messages: OutgoingMessage[]) {
      if (producer.gate) await producer.gate;
      if (producer.failNext) {
        producer.failNext = false;
        throw new Error('broker gone');
      }
      for (const message of messages) {
        producer.sent.push({ topic, key: String(message.key), value: message.value as Uint8Array });
      }
    },
    updates() {
      return producer.sent
        .filter((m) => m.topic === UPDATES)
        .flatMap((m) => decode(topics.bgpUpdates, m.value).updates);
    },
    items() {
      let items = 0;
      for (const m of producer.sent) items += m.topic === UPDATES ? forEachRouteUpdate(m.value, () => {}) : 1;
      return items;
    },
    events() {
      return producer.sent.filter((m) => m.topic === PEERS).map((m) => decode(topics.bgpPeers, m.value));
    },
  };
  return producer;
}

export function stationConfig(overrides: Partial<BgpStationConfig> = {}): BgpStationConfig {
  return {
    ...(Value.Default(bgpStationSchema, {}) as BgpStationConfig),
    address: '127.0.0.1',
    port: 0,
    updatesTopic: UPDATES,
    peersTopic: PEERS,
    gracePeriodMs: 500,
    ...overrides,
  } as BgpStationConfig;
}

export async function startStation(
  producer: Pick<KafkaProducer, 'send'>,
  overrides: Partial<BgpStationConfig> = {},
): Promise<{ station: BgpStation; metrics: ReturnType<typeof createMetricsRegistry> }> {
  const metrics = createMetricsRegistry();
  const station = createBgpStation(stationConfig(overrides), {
    producer,
    log: silentLogger(),
    metrics,
  });
  await station.start();
  return { station, metrics };
}

/** A router connection from `localAddress` (127.0.0.x, so several routers are told apart). */
export async function routerConnection(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return socket;
}

/** Writes `data` in chunks of `chunk` bytes (so messages straddle reads), then closes and waits for the close. */
export async function replayBytes(
  port: number,
  data: Buffer,
  options: { localAddress?: string; chunk?: number; keepOpen?: boolean } = {},
): Promise<Socket> {
  const socket = await routerConnection(port, options.localAddress);
  const chunk = options.chunk ?? 4096;
  for (let at = 0; at < data.length; at += chunk) {
    if (!socket.write(data.subarray(at, at + chunk))) {
      await new Promise((resolve) => socket.once('drain', resolve));
    }
  }
  if (!options.keepOpen) await closeSocket(socket);
  return socket;
}

export async function closeSocket(socket: Socket): Promise<void> {
  if (socket.destroyed) return;
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.end();
  // The station may have closed first; either way wait for the close event.
  socket.resume();
  await closed;
}

export async function waitFor(
  condition: () => boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function metricValue(
  metrics: ReturnType<typeof createMetricsRegistry>,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = await metrics.getSingleMetric(name)?.get();
  if (!metric) return 0;
  return metric.values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}
