/**
 * The station over a real TCP socket with a producer that keeps what it is sent: pmacct's BMP cases give the
 * routes and peer events pmacct logged (fields both have), other families are counted, a router that goes
 * away has its peers taken down, malformed input is counted and the stream closed only when it must be, and
 * a slow Kafka pauses the routers instead of losing routes.
 */

import { decode, topics } from '@kansoku/contracts';
import { PeerEventType, PeerType, RibType, RouteAction } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { afterEach, describe, expect, it } from 'vitest';
import { createBmpSession, parseBmpMessage } from '../../src/decoders/bmp/index.ts';
import type { BgpStation } from '../../src/station/station.ts';
import { captureFiles, haveCaptures, readBmpStreams, readTcpStreams } from '../decoders/bmp/captures.ts';
import { bmp, open, peerHeader, peerUp, routeMonitoring, tlv, update } from '../decoders/bmp/messages.ts';
import { pmacctComparable, readPmacctOutput } from '../decoders/bmp/pmacct.ts';
import { contractsComparable, unicastOnly } from './contracts-comparable.ts';
import {
  captureProducer,
  closeSocket,
  metricValue,
  replayBytes,
  routerConnection,
  startStation,
  waitFor,
} from './harness.ts';

const stations: BgpStation[] = [];
afterEach(async () => {
  await Promise.all(stations.splice(0).map((station) => station.stop()));
});

async function station(producer = captureProducer(), overrides = {}) {
  const started = await startStation(producer, overrides);
  stations.push(started.station);
  return { ...started, producer, port: started.station.address().port };
}

const pmacctCases = [
  ...new Set(
    captureFiles(/__output-bmp-00\.json$/).map((name) => name.replace(/__output-bmp-00\.json$/, '')),
  ),
];

describe.skipIf(!haveCaptures)('station against pmacct (captures replayed over TCP)', () => {
  for (const caseName of pmacctCases) {
    it(`publishes what pmacct logs for ${caseName}`, async () => {
      const { producer, port, station: s } = await station();
      // One loopback address per router, so the published router address tells them apart.
      const routers = new Map<string, string>();
      let n = 10;
      for (const file of captureFiles(new RegExp(`^${caseName}__traffic-\\d+\\.pcap$`))) {
        for (const stream of await readBmpStreams(file)) {
          const session = createBmpSession();
          const init = stream.messages
            .map((m) => parseBmpMessage(m, session))
            .find((m) => m.type === 'initiation');
          const address = `127.0.0.${n++}`;
          routers.set(address, init?.type === 'initiation' ? (init.information.sysName ?? file) : file);
          await replayBytes(port, stream.data, { localAddress: address, chunk: 1000 });
        }
      }
      await waitFor(() => s.routers().length === 0, 10_000, 'routers to disconnect');
      await s.flush();
      const records = readPmacctOutput(caseName);
      const pmacctRouters = new Map<string, string>();
      for (const record of records) {
        if (record.bmp_msg_type === 'init') {
          pmacctRouters.set(String(record.bmp_init_info_sysname), String(record.bmp_router));
        }
      }
      const updates = producer.updates();
      // DOWN events the station adds when a connection closes are not in pmacct's log (it has no such event).
      const events = producer.events().filter((e) => e.timeObservedNs !== 0n);
      for (const [address, sysName] of routers) {
        const ours = contractsComparable(
          updates.filter((u) => formatIpAddress(u.routerAddress) === address),
          events.filter((e) => formatIpAddress(e.routerAddress) === address),
        );
        const theirs = unicastOnly(pmacctComparable(records, pmacctRouters.get(sysName)!));
        expect(ours.peerUp, `${sysName} peer up`).toEqual(theirs.peerUp);
        expect(ours.peerDown, `${sysName} peer down`).toEqual(theirs.peerDown);
        expect(ours.stats, `${sysName} stats`).toEqual(theirs.stats);
        expect(ours.announce, `${sysName} announcements`).toEqual(theirs.announce);
        expect(ours.withdraw, `${sysName} withdrawals`).toEqual(theirs.withdraw);
        expect(ours.announce.length + ours.peerUp.length).toBeGreaterThan(0);
      }
      // Every message is keyed by its peer, as the topic registry says.
      for (const sent of producer.sent) expect(sent.key).toMatch(/^127\.0\.0\.\d+\|\d+\|/);
    });
  }
});

describe.skipIf(!haveCaptures)('station on the other BMP captures', () => {
  it('counts families other than IPv4/IPv6 unicast instead of publishing them', async () => {
    const { producer, port, station: s, metrics } = await station();
    for (const file of ['bmp-reach-unknown-family.pcap', 'bmp-reach-vpls.pcap', 'bmp-l3vpn.pcap']) {
      for (const stream of await readTcpStreams(file)) await replayBytes(port, stream.data);
    }
    await waitFor(() => s.routers().length === 0);
    await s.flush();
    const unknown = await metricValue(metrics, 'kansoku_bgp_station_unknown_family_total');
    expect(unknown).toBeGreaterThan(0);
    // L3VPN (SAFI 128) and VPLS (AFI 25) routes are not unicast: none of them is published.
    for (const u of producer.updates()) {
      expect(u.safi).toBe(1);
      expect([1, 2]).toContain(u.afi);
    }
    // VPLS is AFI 25 / SAFI 65; the "unknown family" capture is AFI 57 / SAFI 65.
    for (const afi of ['25', '57']) {
      expect(
        await metricValue(metrics, 'kansoku_bgp_station_unknown_family_total', { afi, safi: '65' }),
      ).toBe(1);
    }
  });

  it('publishes ADD-PATH path identifiers', async () => {
    const { producer, port, station: s } = await station();
    // akvorado's captures are cuts of one router connection: the peers (one with ADD-PATH for IPv4 unicast)
    // come up in bmp-peers-up.pcap, so it goes first on the same connection.
    const [peersUp] = await readTcpStreams('bmp-peers-up.pcap');
    const [reach] = await readTcpStreams('bmp-reach-addpath.pcap');
    await replayBytes(port, Buffer.concat([peersUp!.data, reach!.data]));
    await waitFor(() => s.routers().length === 0);
    await s.flush();
    const updates = producer.updates();
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.some((u) => u.pathId !== 0)).toBe(true);
  });

  it('decodes every BMP capture without a decode error', async () => {
    const { port, station: s, metrics } = await station();
    let n = 10;
    for (const file of captureFiles(/\.pcap$/)) {
      for (const stream of await readTcpStreams(file)) {
        await replayBytes(port, stream.data, { localAddress: `127.0.0.${n++}` });
      }
    }
    await waitFor(() => s.routers().length === 0);
    expect(await metricValue(metrics, 'kansoku_bgp_station_decode_errors_total')).toBe(0);
    expect(await metricValue(metrics, 'kansoku_bgp_station_messages_total')).toBeGreaterThan(1000);
  });
});

const PEER = { address: [192, 0, 2, 9] as [number, number, number, number], asn: 65001 };
const peerUpMessage = () => peerUp(PEER, open(65000), open(65001));

describe('station with hand-built messages', () => {
  it('maps a route: AS path, origin AS, next hop, origin, RIB type, time, key', async () => {
    const { producer, port, station: s } = await station();
    await replayBytes(
      port,
      Buffer.concat([peerUpMessage(), routeMonitoring(PEER, update([65001, 64500, 64511], { n: 7 }))]),
    );
    await waitFor(() => s.routers().length === 0);
    await s.flush();
    const [route] = producer.updates();
    expect(route).toBeDefined();
    expect(route!.action).toBe(RouteAction.ANNOUNCE);
    expect(formatIpAddress(route!.prefix)).toBe('10.7.0.0');
    expect(route!.prefixLength).toBe(16);
    expect(route!.asPath.map((seg) => [seg.type, seg.asns])).toEqual([[2, [65001, 64500, 64511]]]);
    expect(route!.originAs).toBe(64511);
    expect(formatIpAddress(route!.nextHopAddress)).toBe('192.0.2.1');
    expect(route!.origin).toBe(1);
    expect(route!.ribType).toBe(RibType.ADJ_RIB_IN_PRE_POLICY);
    expect(route!.timeObservedNs).toBe(1_700_000_000n * 1_000_000_000n + 5000n);
    expect(formatIpAddress(route!.routerAddress)).toBe('127.0.0.1');
    expect(formatIpAddress(route!.peer!.address)).toBe('192.0.2.9');
    expect(route!.peer!.asn).toBe(65001);
    expect(route!.peer!.type).toBe(PeerType.GLOBAL_INSTANCE);
    expect(producer.sent.find((m) => m.topic === 'test-updates')!.key).toBe('127.0.0.1|0|192.0.2.9');
  });

  it('gives origin AS 0 to a path ending in an AS_SET', async () => {
    const { producer, port, station: s } = await station();
    // AS_PATH: SEQUENCE (65001) then SET {64500, 64501}, as an aggregate has.
    const asPath = [0x40, 2, 2 + 4 + 2 + 8, 2, 1, 0, 0, 0xfd, 0xe9, 1, 2, 0, 0, 0xfb, 0xf4, 0, 0, 0xfb, 0xf5];
    const attributes = Buffer.from([0x40, 1, 1, 2, ...asPath, 0x40, 3, 4, 192, 0, 2, 1]);
    const lengths = Buffer.alloc(4);
    lengths.writeUInt16BE(attributes.length, 2);
    const header = Buffer.alloc(19, 0xff);
    const body = Buffer.concat([lengths, attributes, Buffer.from([24, 198, 51, 100])]);
    header.writeUInt16BE(19 + body.length, 16);
    header[18] = 2;
    await replayBytes(
      port,
      Buffer.concat([peerUpMessage(), routeMonitoring(PEER, Buffer.concat([header, body]))]),
    );
    await waitFor(() => s.routers().length === 0);
    await s.flush();
    const [route] = producer.updates();
    expect(route!.asPath.map((seg) => seg.type)).toEqual([2, 1]);
    expect(route!.originAs).toBe(0);
    expect(route!.origin).toBe(3);
  });

  it('takes the peers of a router down when its connection closes, and only those', async () => {
    const { producer, port, station: s, metrics } = await station();
    const other = { address: [192, 0, 2, 10] as [number, number, number, number], asn: 65002 };
    const a = await replayBytes(
      port,
      Buffer.concat([
        peerUpMessage(),
        peerUp(other, open(65000), open(65002)),
        routeMonitoring(PEER, update([65001], { n: 1 })),
      ]),
      { keepOpen: true, localAddress: '127.0.0.2' },
    );
    const b = await replayBytes(port, peerUpMessage(), { keepOpen: true, localAddress: '127.0.0.3' });
    await waitFor(() => s.routers().reduce((sum, r) => sum + r.peersUp, 0) === 3);
    expect(await metricValue(metrics, 'kansoku_bgp_station_peers_up')).toBe(3);
    await closeSocket(a);
    await waitFor(() => s.routers().length === 1);
    await s.flush();
    const downs = producer.events().filter((e) => e.type === PeerEventType.DOWN);
    expect(downs.map((e) => formatIpAddress(e.peer!.address)).sort()).toEqual(['192.0.2.10', '192.0.2.9']);
    for (const down of downs) expect(formatIpAddress(down.routerAddress)).toBe('127.0.0.2');
    // The DOWNs come after the router's routes in publish order.
    const lastRoute = producer.sent.findLastIndex((m) => m.topic === 'test-updates');
    const firstDown = producer.sent.findIndex(
      (m) => m.topic === 'test-peers' && decode(topics.bgpPeers, m.value).type === PeerEventType.DOWN,
    );
    expect(lastRoute).toBeGreaterThanOrEqual(0);
    expect(firstDown).toBeGreaterThan(lastRoute);
    expect(await metricValue(metrics, 'kansoku_bgp_station_peers_up')).toBe(1);
    expect(await metricValue(metrics, 'kansoku_bgp_station_connection_lost_downs_total')).toBe(2);
    await closeSocket(b);
    await waitFor(() => s.routers().length === 0);
  });

  it('takes down a peer that sent routes without a Peer Up (a Loc-RIB some routers never bring up)', async () => {
    const { producer, port, station: s } = await station();
    const locRib = { peerType: 3, address: [0, 0, 0, 0] as [number, number, number, number], asn: 64512 };
    await replayBytes(port, routeMonitoring(locRib, update([64500], { n: 4 })));
    await waitFor(() => s.routers().length === 0);
    await s.flush();
    const [route] = producer.updates();
    expect(route!.ribType).toBe(RibType.LOC_RIB);
    expect(route!.peer!.address).toHaveLength(0);
    const events = producer.events();
    expect(events.map((e) => e.type)).toEqual([PeerEventType.DOWN]);
    expect(events[0]!.peer!.type).toBe(PeerType.LOC_RIB_INSTANCE);
    expect(events[0]!.peer!.address).toHaveLength(0);
  });

  it('a Peer Down from the router is not repeated when the connection closes', async () => {
    const { producer, port, station: s } = await station();
    const peerDown = bmp(2, Buffer.concat([peerHeader(PEER), Buffer.from([2, 0, 6])]));
    await replayBytes(port, Buffer.concat([peerUpMessage(), peerDown]));
    await waitFor(() => s.routers().length === 0);
    await s.flush();
    const events = producer.events();
    expect(events.map((e) => e.type)).toEqual([PeerEventType.UP, PeerEventType.DOWN]);
    const down = events[1]!;
    expect(down.detail.case).toBe('down');
    if (down.detail.case === 'down') {
      expect(down.detail.value.reason).toBe(2);
      expect(down.detail.value.fsmEventCode).toBe(6);
    }
  });

  it('closes the session on Termination, after taking its peers down', async () => {
    const { producer, port, station: s } = await station();
    const termination = bmp(5, tlv(1, Buffer.from([0, 0])));
    const socket = await replayBytes(port, Buffer.concat([peerUpMessage(), termination]), { keepOpen: true });
    // The station ends the connection itself.
    await new Promise((resolve) => socket.once('end', resolve));
    socket.destroy();
    await waitFor(() => s.routers().length === 0);
    await s.flush();
    expect(producer.events().map((e) => e.type)).toEqual([PeerEventType.UP, PeerEventType.DOWN]);
  });

  it('skips a malformed message, counts it per router, and goes on', async () => {
    const { producer, port, station: s, metrics } = await station();
    // A Route Monitoring whose BGP PDU has a broken marker.
    const broken = update([65001], { n: 2 });
    broken[0] = 0;
    await replayBytes(
      port,
      Buffer.concat([
        peerUpMessage(),
        routeMonitoring(PEER, broken),
        routeMonitoring(PEER, update([65001], { n: 3 })),
      ]),
    );
    await waitFor(() => s.routers().length === 0);
    await s.flush();
    expect(producer.updates().map((u) => formatIpAddress(u.prefix))).toEqual(['10.3.0.0']);
    expect(
      await metricValue(metrics, 'kansoku_bgp_station_decode_errors_total', { router: '127.0.0.1' }),
    ).toBe(1);
  });

  it('closes a stream that cannot be resynchronised (bad version), counted, peers down', async () => {
    const { producer, port, station: s, metrics } = await station();
    const bad = Buffer.from([1, 0, 0, 0, 6, 4]);
    const socket = await replayBytes(port, peerUpMessage(), { keepOpen: true });
    await waitFor(() => s.routers()[0]?.peersUp === 1);
    socket.write(Buffer.concat([bad, peerUpMessage()]));
    await new Promise((resolve) => socket.once('end', resolve));
    socket.destroy();
    await waitFor(() => s.routers().length === 0);
    await s.flush();
    expect(producer.events().map((e) => e.type)).toEqual([PeerEventType.UP, PeerEventType.DOWN]);
    expect(
      await metricValue(metrics, 'kansoku_bgp_station_decode_errors_total', {
        code: 'KANSOKU_BMP_BAD_VERSION',
      }),
    ).toBe(1);
  });

  it('pauses the routers while Kafka is behind and loses nothing', { timeout: 20_000 }, async () => {
    const producer = captureProducer();
    let open_: () => void = () => {};
    producer.gate = new Promise<void>((resolve) => {
      open_ = resolve;
    });
    const { port, station: s, metrics } = await station(producer, { maxQueuedMessages: 100 });
    const messages = [peerUpMessage()];
    // About 900 kB: many socket reads, so the pause shows (the bound is soft by one read's messages).
    for (let i = 0; i < 10_000; i++) messages.push(routeMonitoring(PEER, update([65001], { n: i & 0xff })));
    // Written without waiting for 'drain': the station stops reading, so the socket's buffer fills.
    const socket = await routerConnection(port);
    socket.write(Buffer.concat(messages));
    await waitFor(() => s.queued() >= 100);
    expect(await metricValue(metrics, 'kansoku_bgp_station_backpressure_pauses_total')).toBe(1);
    // Paused: the queue stays put while Kafka does not answer.
    const queued = s.queued();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(s.queued()).toBe(queued);
    expect(queued).toBeLessThan(10_000);
    producer.gate = undefined;
    open_();
    await waitFor(() => producer.items() === 10_001, 10_000, 'every message');
    await closeSocket(socket);
    await waitFor(() => s.routers().length === 0);
    await s.flush();
    expect(producer.updates().map((u) => u.prefix[1])).toEqual(
      [...Array(10_000).keys()].map((i) => i & 0xff),
    );
  });

  it('disconnects a router whose messages Kafka did not take, so it resends them', async () => {
    const producer = captureProducer();
    producer.failNext = true;
    const { port, station: s, metrics } = await station(producer);
    const socket = await routerConnection(port);
    socket.on('error', () => {});
    socket.write(Buffer.concat([peerUpMessage(), routeMonitoring(PEER, update([65001], { n: 1 }))]));
    await new Promise((resolve) => socket.once('close', resolve));
    await waitFor(() => s.routers().length === 0);
    expect(await metricValue(metrics, 'kansoku_bgp_station_publish_errors_total')).toBeGreaterThan(0);
  });
});
