/**
 * `kansoku replay mrt` through its ReplayerDefinition with the real Kafka: what lands on the topics is, message
 * for message, the MRT file's routes (as bgpdump -m counts them) and its peer state changes.
 */

import { join } from 'node:path';
import { decode, topics } from '@kansoku/contracts';
import { PeerEventType, RouteAction } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { createMetricsRegistry, type ServiceRuntime, silentLogger } from '@kansoku/kit';
import { createKafkaProducer } from '@kansoku/kit/kafka/index';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mrtReplayer } from '../../src/replay/replayer.ts';
import { type BgpKafka, bgpKafka, kafkaConnection } from '../station/kafka.ts';
import { haveMrtCaptures, mrtCaptures, ourRouteLines, readBgpdump } from './bgpdump.ts';

let kafka: BgpKafka;
beforeAll(async () => {
  kafka = await bgpKafka();
});
afterAll(async () => {
  await kafka?.close();
});

/** The part of the process runtime a replayer uses: log and a Kafka producer with the stack's brokers. */
function runtime(): ServiceRuntime {
  const log = silentLogger();
  return {
    log,
    metrics: createMetricsRegistry({ processMetrics: false }),
    kafkaProducer: () =>
      createKafkaProducer(
        kafkaConnection(),
        { maxBatchMessages: 5000, lingerMs: 5 },
        { log, metrics: createMetricsRegistry({ processMetrics: false }) },
      ),
  } as unknown as ServiceRuntime;
}

describe.skipIf(!haveMrtCaptures)('kansoku replay mrt → Kafka', () => {
  for (const file of ['updates.20160811.1600.gz', 'bview.ipv6_unicast_add_path.gz']) {
    it(`${file}: the topics hold the file's routes and peer changes`, { timeout: 120_000 }, async () => {
      const updatesTopic = await kafka.newTopic(3);
      const peersTopic = await kafka.newTopic(1);
      const expected = readBgpdump(file);
      let total = 0;
      let items = 0;
      const summary = await mrtReplayer.run(
        join(mrtCaptures, file),
        { ...(Value.Default(mrtReplayer.options, {}) as object), updatesTopic, peersTopic },
        {
          runtime: runtime(),
          progress: {
            setTotal: (bytes) => {
              total = bytes;
            },
            update: (_bytes, n) => {
              items = n;
            },
          },
          signal: new AbortController().signal,
        },
      );
      const routes = expected.announces + expected.withdrawals;
      const updates = (await kafka.readRoutes(updatesTopic, routes)).map((r) => r.update);
      expect(updates).toHaveLength(routes);
      expect(ourRouteLines(updates, expected.addPath)).toEqual(expected.routes);
      expect(updates.filter((u) => u.action === RouteAction.WITHDRAW)).toHaveLength(expected.withdrawals);
      if (expected.establishedChanges > 0) {
        const events = (await kafka.read(peersTopic, expected.establishedChanges)).map((m) =>
          decode(topics.bgpPeers, m.value),
        );
        expect(events).toHaveLength(expected.establishedChanges);
        expect(events.every((e) => e.type === PeerEventType.UP || e.type === PeerEventType.DOWN)).toBe(true);
      } else {
        expect(await kafka.admin.topicMessageCount(peersTopic)).toBe(0n);
      }
      expect(summary.published).toBe(routes + expected.establishedChanges);
      expect(summary.failed).toBe(0);
      expect(total).toBeGreaterThan(0);
      expect(items).toBe(routes + expected.establishedChanges);
      // Keyed by peer: one peer's messages are all on one partition, so its order holds.
      const routed = await kafka.readRoutes(updatesTopic, routes);
      const partitionOf = new Map<string, number>();
      for (const { update: u, partition } of routed) {
        const peer = formatIpAddress(u.peer!.address);
        expect(partitionOf.get(peer) ?? partition).toBe(partition);
        partitionOf.set(peer, partition);
      }
    });
  }
});
