/**
 * The station with the real Kafka: pmacct's BMP captures are replayed as TCP byte streams into the station
 * (one loopback address per router), both topics are read back from the broker and compared with pmacct's
 * output on the fields both have; and a router that disconnects has its routes followed by DOWN events, then
 * comes back with its routes (the initial dump after Peer Up).
 */

import { decode, topics } from '@kansoku/contracts';
import {
  type PeerEvent,
  PeerEventType,
  RouteAction,
  type RouteUpdate,
} from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBmpSession, parseBmpMessage } from '../../src/decoders/bmp/index.ts';
import { captureFiles, haveCaptures, readBmpStreams } from '../decoders/bmp/captures.ts';
import { open, peerUp, routeMonitoring, update } from '../decoders/bmp/messages.ts';
import { pmacctComparable, readPmacctOutput } from '../decoders/bmp/pmacct.ts';
import { contractsComparable, unicastOnly } from './contracts-comparable.ts';
import { metricValue, replayBytes, startStation, waitFor } from './harness.ts';
import { type BgpKafka, bgpKafka } from './kafka.ts';

let kafka: BgpKafka;
beforeAll(async () => {
  kafka = await bgpKafka();
});
afterAll(async () => {
  await kafka?.close();
});

async function stationOnKafka() {
  const updatesTopic = await kafka.newTopic(3);
  const peersTopic = await kafka.newTopic(1);
  const { station, metrics } = await startStation(kafka.producer, { updatesTopic, peersTopic });
  const read = async () => {
    await station.flush();
    const published = (topic: string) =>
      metricValue(metrics, 'kansoku_bgp_station_published_total', { topic });
    const updates = (await kafka.readRoutes(updatesTopic, await published(updatesTopic))).map(
      (r) => r.update,
    );
    const events = (await kafka.read(peersTopic, await published(peersTopic))).map((m) =>
      decode(topics.bgpPeers, m.value),
    );
    return { updates, events };
  };
  return { station, metrics, port: station.address().port, read };
}

const pmacctCases = [
  ...new Set(
    captureFiles(/__output-bmp-00\.json$/).map((name) => name.replace(/__output-bmp-00\.json$/, '')),
  ),
];

describe.skipIf(!haveCaptures)('BMP station → Kafka, against pmacct', () => {
  for (const caseName of pmacctCases) {
    it(`${caseName}: routes and peer events on Kafka match pmacct's`, { timeout: 120_000 }, async () => {
      const { station, port, read } = await stationOnKafka();
      try {
        const routers = new Map<string, string>();
        let n = 20;
        for (const file of captureFiles(new RegExp(`^${caseName}__traffic-\\d+\\.pcap$`))) {
          for (const stream of await readBmpStreams(file)) {
            const session = createBmpSession();
            const init = stream.messages
              .map((m) => parseBmpMessage(m, session))
              .find((m) => m.type === 'initiation');
            const address = `127.0.0.${n++}`;
            routers.set(address, init?.type === 'initiation' ? (init.information.sysName ?? file) : file);
            await replayBytes(port, stream.data, { localAddress: address, chunk: 1400 });
          }
        }
        await waitFor(() => station.routers().length === 0, 20_000, 'routers to disconnect');
        const { updates, events } = await read();
        const records = readPmacctOutput(caseName);
        const pmacctRouters = new Map<string, string>();
        for (const record of records) {
          if (record.bmp_msg_type === 'init') {
            pmacctRouters.set(String(record.bmp_init_info_sysname), String(record.bmp_router));
          }
        }
        expect(updates.length + events.length).toBeGreaterThan(0);
        for (const [address, sysName] of routers) {
          const ours = contractsComparable(
            updates.filter((u) => formatIpAddress(u.routerAddress) === address),
            // The station's own DOWNs (connection closed) have no router time; pmacct logs no such event.
            events.filter((e) => formatIpAddress(e.routerAddress) === address && e.timeObservedNs !== 0n),
          );
          const theirs = unicastOnly(pmacctComparable(records, pmacctRouters.get(sysName)!));
          expect(ours.peerUp, `${sysName} peer up`).toEqual(theirs.peerUp);
          expect(ours.peerDown, `${sysName} peer down`).toEqual(theirs.peerDown);
          expect(ours.stats, `${sysName} stats`).toEqual(theirs.stats);
          expect(ours.announce, `${sysName} announcements`).toEqual(theirs.announce);
          expect(ours.withdraw, `${sysName} withdrawals`).toEqual(theirs.withdraw);
        }
      } finally {
        await station.stop();
      }
    });
  }
});

describe('BMP station → Kafka, reconnecting router', () => {
  it('follows a disconnected router’s routes with DOWN events, then takes its new dump', async () => {
    const { station, port, read } = await stationOnKafka();
    try {
      const peers = [
        { address: [192, 0, 2, 9] as [number, number, number, number], asn: 65001 },
        { address: [192, 0, 2, 10] as [number, number, number, number], asn: 65002 },
      ];
      const session = (prefixes: number[]) =>
        Buffer.concat(
          peers.flatMap((peer) => [
            peerUp(peer, open(65000), open(peer.asn)),
            ...prefixes.map((n) => routeMonitoring(peer, update([peer.asn, 64500], { n }))),
          ]),
        );
      // First session: 10.0-9.0.0/16 from both peers; the router goes away without a word.
      await replayBytes(port, session([...Array(10).keys()]), { localAddress: '127.0.0.5' });
      await waitFor(() => station.routers().length === 0);
      // It comes back and dumps a smaller table.
      await replayBytes(port, session([0, 1, 2]), { localAddress: '127.0.0.5', keepOpen: false });
      await waitFor(() => station.routers().length === 0);
      const { updates, events } = await read();

      const byPeer = (list: (RouteUpdate | PeerEvent)[], address: string) =>
        list.filter((m) => formatIpAddress(m.peer!.address) === address);
      for (const peer of ['192.0.2.9', '192.0.2.10']) {
        const peerEvents = byPeer(events, peer) as PeerEvent[];
        expect(peerEvents.map((e) => e.type)).toEqual([
          PeerEventType.UP,
          PeerEventType.DOWN,
          PeerEventType.UP,
          PeerEventType.DOWN,
        ]);
        const routes = byPeer(updates, peer) as RouteUpdate[];
        expect(routes).toHaveLength(13);
        expect(routes.every((r) => r.action === RouteAction.ANNOUNCE)).toBe(true);
        // Fold per session: the routes received between an UP and its DOWN.
        const [, firstDown, secondUp] = peerEvents;
        const first = routes.filter((r) => r.timeReceivedNs <= firstDown!.timeReceivedNs);
        const second = routes.filter((r) => r.timeReceivedNs >= secondUp!.timeReceivedNs);
        expect(first.map((r) => r.prefix[1])).toEqual([...Array(10).keys()]);
        expect(second.map((r) => r.prefix[1])).toEqual([0, 1, 2]);
        // The connection-lost DOWNs say so: no router time, no reason.
        expect(firstDown!.timeObservedNs).toBe(0n);
        expect(firstDown!.detail.case).toBe('down');
        for (const e of peerEvents) expect(formatIpAddress(e.routerAddress)).toBe('127.0.0.5');
      }
    } finally {
      await station.stop();
    }
  });
});
