/**
 * Every BMP capture of `<captures>/bmp` reassembles, frames and parses without error; the counts of messages
 * by type, peer up capabilities and RIBs are pinned (read off tshark's decoding of the same files).
 */

import { describe, expect, it } from 'vitest';
import { createBmpSession, parseBmpMessage } from '../../../src/decoders/bmp/index.ts';
import { captureFiles, haveCaptures, missingCapturesMessage, readBmpStreams } from './captures.ts';

if (!haveCaptures) console.warn(missingCapturesMessage);

/** Messages by type, then route monitoring by RIB, for each capture (one BMP connection each). */
const expected: Record<string, Record<string, number>> = {
  '200-BMP-HUAWEI-locrib_instance__traffic-00.pcap': {
    initiation: 1,
    'peer-up': 18,
    'route-monitoring': 84,
    'rib:adj-rib-in-pre': 66,
    'rib:loc-rib': 18,
  },
  '201-BMP-CISCO-rd_instance__traffic-00.pcap': {
    initiation: 1,
    'peer-up': 42,
    'statistics-report': 42,
    'route-monitoring': 251,
    'rib:adj-rib-in-pre': 251,
  },
  '202-BMP-CISCO-HUAWEI-multiple-sources__traffic-00.pcap': {
    initiation: 1,
    'peer-up': 18,
    'route-monitoring': 84,
    'rib:adj-rib-in-pre': 66,
    'rib:loc-rib': 18,
  },
  '202-BMP-CISCO-HUAWEI-multiple-sources__traffic-01.pcap': {
    initiation: 1,
    'peer-up': 42,
    'route-monitoring': 44,
    'rib:adj-rib-in-pre': 44,
  },
  '202-BMP-CISCO-HUAWEI-multiple-sources__traffic-02.pcap': {
    initiation: 1,
    'peer-up': 12,
    'route-monitoring': 53,
    'rib:loc-rib': 53,
  },
  '204-BMP-CISCO-peer_down__traffic-00.pcap': {
    initiation: 1,
    'peer-up': 10,
    'route-monitoring': 301,
    'statistics-report': 28,
    'peer-down': 3,
    'rib:loc-rib': 177,
    'rib:adj-rib-in-post': 124,
  },
  'bmp-eor.pcap': { 'statistics-report': 1, 'route-monitoring': 8, 'rib:adj-rib-in-pre': 8 },
  'bmp-init.pcap': { initiation: 1 },
  'bmp-l3vpn.pcap': { 'peer-up': 1, 'statistics-report': 1, 'route-monitoring': 3, 'rib:adj-rib-in-pre': 3 },
  'bmp-peer-down.pcap': { 'statistics-report': 1, 'peer-down': 1 },
  'bmp-peer-up.pcap': { 'peer-up': 1 },
  'bmp-peers-up.pcap': { 'peer-up': 4, 'statistics-report': 3 },
  'bmp-reach-addpath.pcap': { 'route-monitoring': 1, 'rib:adj-rib-in-pre': 1 },
  'bmp-reach-unknown-family.pcap': { 'route-monitoring': 1, 'rib:adj-rib-in-pre': 1 },
  'bmp-reach-vpls.pcap': { 'route-monitoring': 1, 'rib:adj-rib-in-pre': 1 },
  'bmp-reach.pcap': { 'route-monitoring': 17, 'rib:adj-rib-in-pre': 17 },
  'bmp-terminate.pcap': { termination: 1 },
  'bmp-unreach.pcap': { 'route-monitoring': 8, 'rib:adj-rib-in-pre': 8 },
};

describe.skipIf(!haveCaptures)('BMP captures', () => {
  it('has every capture this test knows of', () => {
    expect(captureFiles(/\.pcap$/)).toEqual(Object.keys(expected).sort());
  });

  for (const [name, counts] of Object.entries(expected)) {
    it(`parses ${name}`, async () => {
      const streams = await readBmpStreams(name);
      expect(streams).toHaveLength(1);
      const stream = streams[0]!;
      expect(stream.gaps).toBe(0);
      // pmacct's third 202 capture ends inside a message (a cut capture); every other one ends on a boundary.
      expect(stream.leftover).toBe(name.endsWith('traffic-02.pcap') ? 156 : 0);
      const session = createBmpSession();
      const seen: Record<string, number> = {};
      for (const message of stream.messages) {
        const parsed = parseBmpMessage(message, session);
        seen[parsed.type] = (seen[parsed.type] ?? 0) + 1;
        if (parsed.type === 'route-monitoring')
          seen[`rib:${parsed.peer.rib}`] = (seen[`rib:${parsed.peer.rib}`] ?? 0) + 1;
      }
      expect(seen).toEqual(counts);
    });
  }

  it('reads the peer up capabilities, peer down reasons and termination of the akvorado captures', async () => {
    const [peersUp] = await readBmpStreams('bmp-peers-up.pcap');
    const session = createBmpSession();
    const ups = peersUp!.messages
      .map((message) => parseBmpMessage(message, session))
      .filter((message) => message.type === 'peer-up');
    expect(ups.map((up) => [up.peer.address, up.peer.asn, up.as4, [...up.addPathReceive]])).toEqual([
      ['192.0.2.1', 65011, true, []],
      // The one peer whose OPENs both advertise ADD-PATH for IPv4 unicast (it sends, the router receives).
      ['192.0.2.5', 65500, true, ['1/1']],
      ['2001:db8::3', 65013, true, []],
      ['2001:db8::7', 65017, true, []],
    ]);
    expect(session.peers.size).toBe(4);

    const [down] = await readBmpStreams('bmp-peer-down.pcap');
    const downs = down!.messages.map((message) => parseBmpMessage(message, createBmpSession()));
    const peerDown = downs.find((message) => message.type === 'peer-down');
    expect(peerDown).toMatchObject({ reason: 3, notification: { code: 6, subcode: 2 } });

    const [terminate] = await readBmpStreams('bmp-terminate.pcap');
    expect(parseBmpMessage(terminate!.messages[0]!, createBmpSession())).toMatchObject({
      type: 'termination',
      reason: 0,
      strings: ['station removed from config'],
    });
  });
});
