/**
 * bgp-processor on the real Kafka and an embedded ClickHouse, fed by the MRT replay of a real RIPE RIS updates
 * file (39k announcements, 2k withdrawals, peer state changes): the RIB equals a naive fold of the same
 * messages (per peer, per prefix length, and IP → origin AS on addresses inside the announced prefixes), the
 * gateway queries return the same counts, a Peer Down empties that peer, and a restart resumes from the
 * snapshot and the committed offsets (it does not read the topics again).
 */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { decode, encode, topics } from '@kansoku/contracts';
import {
  PeerEventSchema,
  PeerEventType,
  RibType,
  RouteAction,
  type RouteUpdate,
  RouteUpdateSchema,
} from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { RouteUpdateBatchSchema } from '@kansoku/contracts/gen/kansoku/bgp/v2/bgp_pb';
import { formatIpAddress, parseIpAddress } from '@kansoku/contracts/ip-address';
import { createMetricsRegistry, type Detection, migrate, silentLogger } from '@kansoku/kit';
import { createKafkaConsumer } from '@kansoku/kit/kafka/index';
import { openTestWarehouse, type TestWarehouse } from '@kansoku/kit/testing/warehouse';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BgpProcessorConfig, bgpProcessorSchema } from '../../src/processor/config.ts';
import { type BgpProcessor, createBgpProcessor } from '../../src/processor/processor.ts';
import {
  peers,
  peerTimeline,
  prefixOrigin,
  routesByPrefixLength,
  routesByPrefixLengthOverTime,
  topOrigins,
  updateRates,
} from '../../src/queries.ts';
import { mrtReplayOptionsSchema, replayMrtFile } from '../../src/replay/mrt-replay.ts';
import { Rib } from '../../src/rib/rib.ts';
import { bgpMigrations } from '../../src/tables.ts';
import { haveMrtCaptures, mrtCaptures } from '../replay/bgpdump.ts';
import { type BgpKafka, bgpKafka, kafkaConnection } from '../station/kafka.ts';

const FILE = 'updates.20160811.1600.gz';
// A day ago: recent enough for the tables' TTLs, the file's ~41k records (one second each) end before now.
const T0_NS = BigInt(Date.now() - 86_400_000) * 1_000_000n;

interface OracleRoute {
  origin: number;
  timeMs: number;
}

/** The naive RIB: maps of maps, Peer Down by receive time, exactly as the contract's semantics say. */
class OracleRib {
  readonly ribs = new Map<string, Map<string, OracleRoute>>();
  readonly downAt = new Map<string, number>();

  private identity(u: { routerAddress: Uint8Array; peer?: { address: Uint8Array; distinguisher: bigint } }) {
    const address = u.peer !== undefined && u.peer.address.length > 0 ? formatIpAddress(u.peer.address) : '';
    return `${formatIpAddress(u.routerAddress)}|${u.peer?.distinguisher ?? 0n}|${address}`;
  }

  update(u: RouteUpdate): void {
    const id = this.identity(u);
    const timeMs = Number(u.timeReceivedNs / 1_000_000n);
    if (timeMs < (this.downAt.get(id) ?? 0)) return;
    const key = `${id}|${u.ribType}`;
    const rib = this.ribs.get(key) ?? new Map<string, OracleRoute>();
    this.ribs.set(key, rib);
    const route = `${formatIpAddress(u.prefix)}/${u.prefixLength}#${u.pathId}`;
    if (u.action === RouteAction.ANNOUNCE) rib.set(route, { origin: u.originAs, timeMs });
    else rib.delete(route);
  }

  down(identity: string, timeMs: number): void {
    this.downAt.set(identity, Math.max(timeMs, this.downAt.get(identity) ?? 0));
    for (const [key, rib] of this.ribs) {
      if (!key.startsWith(`${identity}|`)) continue;
      for (const [route, r] of rib) if (r.timeMs < timeMs) rib.delete(route);
    }
  }

  /** Prefix → origin → routes, over every peer. */
  prefixes(): Map<string, Map<number, number>> {
    const out = new Map<string, Map<number, number>>();
    for (const rib of this.ribs.values()) {
      for (const [route, r] of rib) {
        const prefix = route.slice(0, route.indexOf('#'));
        const origins = out.get(prefix) ?? new Map<number, number>();
        origins.set(r.origin, (origins.get(r.origin) ?? 0) + 1);
        out.set(prefix, origins);
      }
    }
    return out;
  }
}

function majority(origins: Map<number, number>): number {
  let best = 0;
  let bestRoutes = -1;
  for (const [asn, routes] of origins) {
    if (routes > bestRoutes || (routes === bestRoutes && asn < best)) {
      best = asn;
      bestRoutes = routes;
    }
  }
  return best;
}

function covers(prefix: string, address: Uint8Array): number {
  const [text = '', lengthText = ''] = prefix.split('/');
  const bytes = parseIpAddress(text);
  const length = Number(lengthText);
  if (bytes.length !== address.length) return -1;
  for (let bit = 0; bit < length; bit++) {
    const mask = 0x80 >> (bit & 7);
    if ((bytes[bit >> 3]! & mask) !== (address[bit >> 3]! & mask)) return -1;
  }
  return length;
}

async function until(what: string, predicate: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let kafka: BgpKafka;
let store: TestWarehouse;
let stateDir: string;
beforeAll(async () => {
  kafka = await bgpKafka();
  store = await openTestWarehouse({ prefix: 'kansoku-bgp-processor-' });
  await migrate(store.warehouse, bgpMigrations, { log: silentLogger() });
  stateDir = mkdtempSync(join(tmpdir(), 'kansoku-bgp-state-'));
}, 120_000);
afterAll(async () => {
  await kafka?.close();
  await store?.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe.skipIf(!haveMrtCaptures)('bgp-processor on Kafka and ClickHouse', () => {
  it('keeps the RIB of a replayed MRT file, writes its tables, takes a Peer Down and resumes after a restart', {
    timeout: 300_000,
  }, async () => {
    const updatesTopic = await kafka.newTopic(3);
    const peersTopic = await kafka.newTopic(1);
    let tick = 0n;
    // One second per record: receive times are distinct and ordered across the two topics.
    const summary = await replayMrtFile(
      join(mrtCaptures, FILE),
      { ...(Value.Default(mrtReplayOptionsSchema, {}) as object), updatesTopic, peersTopic } as never,
      { producer: kafka.producer, log: silentLogger(), nowNs: () => T0_NS + 1_000_000_000n * tick++ },
    );
    const updates = (await kafka.readRoutes(updatesTopic, summary.announced + summary.withdrawn)).map(
      (r) => r.update,
    );
    const events =
      summary.peerUp + summary.peerDown > 0
        ? (await kafka.read(peersTopic, summary.peerUp + summary.peerDown)).map((m) =>
            decode(topics.bgpPeers, m.value),
          )
        : [];
    const oracle = new OracleRib();
    const merged = [
      ...updates.map((u) => ({ t: u.timeReceivedNs, apply: () => oracle.update(u) })),
      ...events.map((e) => ({
        t: e.timeReceivedNs,
        apply: () => {
          if (e.type !== PeerEventType.DOWN) return;
          const address =
            e.peer !== undefined && e.peer.address.length > 0 ? formatIpAddress(e.peer.address) : '';
          oracle.down(
            `${formatIpAddress(e.routerAddress)}|${e.peer?.distinguisher ?? 0n}|${address}`,
            Number(e.timeReceivedNs / 1_000_000n),
          );
        },
      })),
    ].sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
    for (const m of merged) m.apply();

    const config: BgpProcessorConfig = {
      ...(Value.Default(bgpProcessorSchema, {}) as BgpProcessorConfig),
      updatesTopic,
      peersTopic,
      groupId: `test-${randomUUID()}`,
      stateFile: join(stateDir, 'rib.snapshot'),
      flushIntervalMs: 3_600_000,
      snapshotIntervalMs: 3_600_000,
      snapshotRowsIntervalMs: 3_600_000,
    };
    const detections: Detection[] = [];
    const build = (rib: Rib): BgpProcessor =>
      createBgpProcessor(config, {
        createConsumer: (groupId) =>
          createKafkaConsumer(
            kafkaConnection(),
            { groupId, topics: [updatesTopic, peersTopic], fromBeginning: true, maxBytes: 10 * 1024 * 1024 },
            { log: silentLogger(), metrics: createMetricsRegistry({ processMetrics: false }) },
          ),
        warehouse: store.warehouse,
        rib,
        log: silentLogger(),
        metrics: createMetricsRegistry({ processMetrics: false }),
        emitter: { emit: (d) => detections.push(d) },
      });

    const rib = new Rib();
    const processor = build(rib);
    await processor.start();
    await until('every message applied', () => {
      const a = processor.applied();
      return a.updates === updates.length && a.peerEvents === events.length;
    });

    // Per peer RIB and prefix length, the RIB equals the naive fold.
    const expectedPerPeer = new Map<string, Map<number, number>>();
    for (const [key, routes] of oracle.ribs) {
      const counts = new Map<number, number>();
      for (const route of routes.keys()) {
        const length = Number(route.slice(route.indexOf('/') + 1, route.indexOf('#')));
        counts.set(length, (counts.get(length) ?? 0) + 1);
      }
      if (routes.size > 0) expectedPerPeer.set(key, counts);
    }
    const actualPerPeer = new Map<string, Map<number, number>>();
    for (const s of rib.peerSummaries()) {
      const counts = new Map<number, number>();
      s.lengths.ipv4.forEach((n, length) => {
        if (n > 0) counts.set(length, n);
      });
      s.lengths.ipv6.forEach((n, length) => {
        if (n > 0) counts.set(length, (counts.get(length) ?? 0) + n);
      });
      if (counts.size > 0) actualPerPeer.set(s.info.key, counts);
    }
    expect(actualPerPeer).toEqual(expectedPerPeer);
    const oraclePrefixes = oracle.prefixes();
    expect(rib.prefixes4.size + rib.prefixes6.size).toBe(oraclePrefixes.size);
    // Most of the file's routes are dropped again by its Peer Downs; what is left is still a real table.
    expect(oraclePrefixes.size).toBeGreaterThan(1000);

    // IP → origin AS: addresses inside announced prefixes, against a brute-force longest match.
    const prefixList = [...oraclePrefixes.keys()];
    for (let i = 0; i < 400; i++) {
      const prefix = prefixList[(i * 7919) % prefixList.length]!;
      const address = parseIpAddress(prefix.split('/')[0] ?? '');
      address[address.length - 1] = address[address.length - 1]! | 1;
      let best: string | undefined;
      let bestLength = -1;
      for (const p of prefixList) {
        const l = covers(p, address);
        if (l > bestLength) {
          best = p;
          bestLength = l;
        }
      }
      const expected = best === undefined ? undefined : majority(oraclePrefixes.get(best)!) || undefined;
      expect(rib.originAs(address), formatIpAddress(address)).toBe(expected);
    }

    // The tables and the gateway queries.
    await processor.writeSnapshotRows();
    await processor.flush();
    const context = { warehouse: store.warehouse };
    const table1 = await routesByPrefixLength.run({ family: 4 } as never, context);
    const expectedV4 = new Map<number, number>();
    for (const prefix of prefixList) {
      if (prefix.includes(':')) continue;
      const length = Number(prefix.split('/')[1]);
      expectedV4.set(length, (expectedV4.get(length) ?? 0) + 1);
    }
    expect(new Map(table1.rows.map((r) => [Number(r.prefix_length), Number(r.routes)]))).toEqual(expectedV4);
    const shares = table1.rows.reduce((s, r) => s + Number(r.share), 0);
    expect(shares).toBeCloseTo(1, 6);
    const sample = prefixList.find((p) => !p.includes(':'))!;
    const origin = await prefixOrigin.run({ prefix: sample } as never, context);
    expect(origin.rows[0]?.origin_as).toBe(majority(oraclePrefixes.get(sample)!));
    const byIp = await prefixOrigin.run(
      { ip: formatIpAddress(parseIpAddress(sample.split('/')[0] ?? '')) } as never,
      context,
    );
    expect(byIp.rows[0]?.origin_as).toBe(rib.originAs(parseIpAddress(sample.split('/')[0] ?? '')));
    const top = await topOrigins.run({ family: 4, limit: 5 } as never, context);
    expect(top.rows.length).toBe(5);
    const overTime = await routesByPrefixLengthOverTime.run(
      { family: 4, from: Date.now() - 3_600_000, to: Date.now() + 60_000, step: 60 } as never,
      context,
    );
    expect(overTime.rows.reduce((n, r) => n + Number(r.routes), 0)).toBe(
      [...expectedV4.values()].reduce((a, b) => a + b, 0),
    );
    expect(overTime.rows.every((r) => Number(r.total) === Number(overTime.rows[0]?.total))).toBe(true);
    // Rates: every message counted once, in the minutes of its receive time.
    const rates = await updateRates.run(
      { from: Number(T0_NS / 1_000_000n) - 60_000, to: Date.now(), step: 3600 } as never,
      context,
    );
    const announced = updates.filter((u) => u.action === RouteAction.ANNOUNCE).length;
    expect(Math.round(rates.rows.reduce((n, r) => n + Number(r.announcements) * 3600, 0))).toBe(announced);
    expect(Math.round(rates.rows.reduce((n, r) => n + Number(r.withdrawals) * 3600, 0))).toBe(
      updates.length - announced,
    );

    // A Peer Down empties that peer (and only it), and shows in the timeline and the peers table.
    const biggest = rib
      .peerSummaries()
      .sort((a, b) => b.routes.ipv4 + b.routes.ipv6 - (a.routes.ipv4 + a.routes.ipv6))[0]!;
    const biggestRoutes = biggest.routes.ipv4 + biggest.routes.ipv6;
    const totalBefore = rib.routeCount();
    for (const d of [0, 1]) processor.detectors?.tick(Date.now() + d, rib.peerSummaries());
    const downTime = T0_NS + 1_000_000_000n * (tick + 10n);
    const down = create(PeerEventSchema, {
      timeReceivedNs: downTime,
      routerAddress: parseIpAddress(biggest.info.router),
      peer: { address: parseIpAddress(biggest.info.address), asn: biggest.info.asn },
      type: PeerEventType.DOWN,
      detail: { case: 'down', value: { reason: 4 } },
    });
    await kafka.producer.send(peersTopic, [{ key: 'k', value: encode(topics.bgpPeers, down) }]);
    await until('the Peer Down applied', () => processor.applied().peerEvents === events.length + 1);
    expect(rib.routeCount()).toBe(totalBefore - biggestRoutes);
    processor.detectors?.tick(Date.now() + 2, rib.peerSummaries());
    expect(
      detections.filter((d) => d.name === 'rib-drop' && d.labels.peer === biggest.info.address),
    ).toHaveLength(1);
    await processor.writeSnapshotRows();
    await processor.flush();
    const timeline = await peerTimeline.run(
      { from: Number(T0_NS / 1_000_000n), to: Number(downTime / 1_000_000n) + 1, limit: 10 } as never,
      context,
    );
    expect(timeline.rows[0]).toMatchObject({
      event: 'down',
      peer: biggest.info.address,
      routes_dropped: biggestRoutes,
      reason: 4,
    });
    const peerRows = await peers.run({} as never, context);
    expect(peerRows.rows.find((r) => r.peer === biggest.info.address)).toMatchObject({
      state: 'down',
      routes_ipv4: 0,
      routes_ipv6: 0,
    });

    // Restart: the snapshot is loaded and the group resumes after the committed offsets.
    const routesAtStop = rib.routeCount();
    await processor.stop();
    const rib2 = new Rib();
    const restarted = build(rib2);
    await restarted.start();
    expect(restarted.groupId()).toBe(processor.groupId());
    expect(rib2.routeCount()).toBe(routesAtStop);
    expect(rib2.originAs(parseIpAddress(sample.split('/')[0] ?? ''))).toBe(
      rib.originAs(parseIpAddress(sample.split('/')[0] ?? '')),
    );
    const fresh = create(RouteUpdateSchema, {
      timeReceivedNs: downTime + 5_000_000_000n,
      routerAddress: parseIpAddress('192.0.2.200'),
      peer: { address: parseIpAddress('198.51.100.200'), asn: 64_999 },
      ribType: RibType.ADJ_RIB_IN_PRE_POLICY,
      action: RouteAction.ANNOUNCE,
      afi: 1,
      safi: 1,
      prefix: parseIpAddress('203.0.113.0'),
      prefixLength: 24,
      asPath: [{ type: 2, asns: [64_999, 64_998] }],
      originAs: 64_998,
    });
    await kafka.producer.send(updatesTopic, [
      { key: 'k', value: encode(topics.bgpUpdates, create(RouteUpdateBatchSchema, { updates: [fresh] })) },
    ]);
    await until('the new update applied', () => restarted.applied().updates >= 1);
    // Give a re-read from the beginning time to show itself: only the one new message may arrive.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(restarted.applied()).toEqual({ updates: 1, peerEvents: 0 });
    expect(rib2.originAs(parseIpAddress('203.0.113.9'))).toBe(64_998);
    await restarted.stop();
  });
});
