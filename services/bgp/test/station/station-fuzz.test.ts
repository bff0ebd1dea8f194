/**
 * The station fed mutated router streams (the BMP captures with bit flips, overwritten bytes, corrupted length
 * words, insertions, truncations, splices) over real TCP connections: it never throws, every connection ends
 * (closed by the router or by the station when the stream cannot be framed), every peer it published UP for
 * or routes of is followed by a DOWN on that connection, and a clean stream afterwards still decodes fully.
 */

import { PeerEventType } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import {
  corruptWord32,
  flipBits,
  insertOrDelete,
  overwriteBytes,
  pick,
  seededRandom,
  splice,
  truncate,
} from '@kansoku/kit/testing/fuzz';
import { describe, expect, it } from 'vitest';
import { captureFiles, haveCaptures, readTcpStreams } from '../decoders/bmp/captures.ts';
import { captureProducer, metricValue, replayBytes, startStation, waitFor } from './harness.ts';

const ITERATIONS = 400;

describe.skipIf(!haveCaptures)('station fuzz', () => {
  it(`survives ${ITERATIONS} mutated router streams`, { timeout: 120_000 }, async () => {
    const streams: Buffer[] = [];
    for (const file of captureFiles(/\.pcap$/)) {
      for (const stream of await readTcpStreams(file)) streams.push(stream.data);
    }
    const producer = captureProducer();
    const { station, metrics } = await startStation(producer);
    const port = station.address().port;
    const random = seededRandom(0xb9b);
    try {
      for (let i = 0; i < ITERATIONS; i++) {
        let data: Buffer = Buffer.from(pick(random, streams));
        const mutations = 1 + Math.floor(random() * 4);
        for (let m = 0; m < mutations; m++) {
          switch (Math.floor(random() * 6)) {
            case 0:
              flipBits(data, random);
              break;
            case 1:
              overwriteBytes(data, random);
              break;
            case 2:
              corruptWord32(data, random);
              break;
            case 3:
              data = insertOrDelete(data, random);
              break;
            case 4:
              data = truncate(data, random);
              break;
            default:
              data = splice(data, pick(random, streams), random);
          }
        }
        const socket = await replayBytes(port, data, {
          localAddress: `127.0.1.${1 + (i % 250)}`,
          chunk: 1 + Math.floor(random() * 3000),
          keepOpen: true,
        });
        socket.on('error', () => {});
        // The router ends its side; the station may already have closed the connection.
        socket.end();
        socket.resume();
        await new Promise((resolve) => (socket.closed ? resolve(undefined) : socket.once('close', resolve)));
      }
      await waitFor(() => station.routers().length === 0, 20_000, 'every fuzzed connection to end');
      await station.flush();

      // Per router connection (one loopback address each, reused every 250): every peer with an UP or a route
      // is down at the end.
      const open = new Map<string, Set<string>>();
      const key = (router: Uint8Array, peer: { address: Uint8Array; distinguisher: bigint; type: number }) =>
        `${formatIpAddress(router)}|${peer.type}|${peer.distinguisher}|${formatIpAddress(peer.address)}`;
      expect(producer.sent.length).toBeGreaterThan(0);
      expect(await metricValue(metrics, 'kansoku_bgp_station_decode_errors_total')).toBeGreaterThan(0);
      for (const event of producer.events()) {
        const k = key(event.routerAddress, event.peer!);
        const router = formatIpAddress(event.routerAddress);
        if (!open.has(router)) open.set(router, new Set());
        if (event.type === PeerEventType.UP) open.get(router)!.add(k);
        if (event.type === PeerEventType.DOWN) open.get(router)!.delete(k);
      }
      for (const [router, peers] of open) expect([...peers], router).toEqual([]);
      expect(await metricValue(metrics, 'kansoku_bgp_station_peers_up')).toBe(0);

      // Still healthy: a clean capture decodes without an error.
      const errorsBefore = await metricValue(metrics, 'kansoku_bgp_station_decode_errors_total');
      const sentBefore = producer.sent.length;
      const [clean] = await readTcpStreams('201-BMP-CISCO-rd_instance__traffic-00.pcap');
      await replayBytes(port, clean!.data, { localAddress: '127.0.2.1' });
      await waitFor(() => station.routers().length === 0);
      await station.flush();
      expect(await metricValue(metrics, 'kansoku_bgp_station_decode_errors_total')).toBe(errorsBefore);
      expect(producer.sent.length).toBeGreaterThan(sentBefore + 100);
    } finally {
      await station.stop();
    }
  });
});
