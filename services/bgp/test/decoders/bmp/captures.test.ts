/**
 * Every BMP capture of `<captures>/bmp` reassembles, frames and parses without error; the counts of messages
 * by type, peer up capabilities and RIBs are pinned (read off tshark's decoding of the same files).
 */

import { describe, expect, it } from 'vitest';
import { updateRoutes } from '../../../src/decoders/bgp/routes.ts';
import { type BmpSession, createBmpSession, parseBmpMessage } from '../../../src/decoders/bmp/index.ts';
import { captureFiles, haveCaptures, missingCapturesMessage, readBmpStreams } from './captures.ts';

if (!haveCaptures) console.warn(missingCapturesMessage);

/**
 * Messages by type; route monitoring by RIB; prefixes announced and withdrawn (IPv4/IPv6 unicast and
 * multicast, the families the BGP parser decodes), End-of-RIB markers, and MP_REACH/MP_UNREACH attributes of
 * other families (VPN, labelled unicast, VPLS: counted, not decoded), for each capture (one BMP connection).
 * Cross-checked with pmacct: 201's 235 announcements + 36 End-of-RIB = its 271 route_monitor lines.
 */
const expected: Record<string, Record<string, number>> = {
  '200-BMP-HUAWEI-locrib_instance__traffic-00.pcap': {
    initiation: 1,
    'peer-up': 18,
    'route-monitoring': 84,
    'rib:adj-rib-in-pre': 66,
    'rib:loc-rib': 18,
    announced: 5,
    'end-of-rib': 2,
    'other-family': 77,
  },
  '201-BMP-CISCO-rd_instance__traffic-00.pcap': {
    initiation: 1,
    'peer-up': 42,
    'statistics-report': 42,
    'route-monitoring': 251,
    'rib:adj-rib-in-pre': 251,
    announced: 235,
    'end-of-rib': 36,
  },
  '202-BMP-CISCO-HUAWEI-multiple-sources__traffic-00.pcap': {
    initiation: 1,
    'peer-up': 18,
    'route-monitoring': 84,
    'rib:adj-rib-in-pre': 66,
    'rib:loc-rib': 18,
    announced: 5,
    'end-of-rib': 2,
    'other-family': 77,
  },
  '202-BMP-CISCO-HUAWEI-multiple-sources__traffic-01.pcap': {
    initiation: 1,
    'peer-up': 42,
    'route-monitoring': 44,
    'rib:adj-rib-in-pre': 44,
    announced: 37,
    'end-of-rib': 7,
  },
  '202-BMP-CISCO-HUAWEI-multiple-sources__traffic-02.pcap': {
    initiation: 1,
    'peer-up': 12,
    'route-monitoring': 53,
    'rib:loc-rib': 53,
    'other-family': 53,
  },
  '204-BMP-CISCO-peer_down__traffic-00.pcap': {
    initiation: 1,
    'peer-up': 10,
    'statistics-report': 28,
    'route-monitoring': 301,
    'peer-down': 3,
    'rib:adj-rib-in-post': 124,
    'rib:loc-rib': 177,
    announced: 49,
    withdrawn: 23,
    'end-of-rib': 3,
    'other-family': 249,
  },
  'bmp-eor.pcap': {
    'statistics-report': 1,
    'route-monitoring': 8,
    'rib:adj-rib-in-pre': 8,
    'end-of-rib': 5,
    'other-family': 3,
  },
  'bmp-init.pcap': { initiation: 1 },
  'bmp-l3vpn.pcap': {
    'peer-up': 1,
    'statistics-report': 1,
    'route-monitoring': 3,
    'rib:adj-rib-in-pre': 3,
    announced: 2,
    'end-of-rib': 1,
  },
  'bmp-peer-down.pcap': { 'statistics-report': 1, 'peer-down': 1 },
  'bmp-peer-up.pcap': { 'peer-up': 1 },
  'bmp-peers-up.pcap': { 'peer-up': 4, 'statistics-report': 3 },
  'bmp-reach-addpath.pcap': { 'route-monitoring': 1, 'rib:adj-rib-in-pre': 1, announced: 1 },
  'bmp-reach-unknown-family.pcap': { 'route-monitoring': 1, 'rib:adj-rib-in-pre': 1, 'other-family': 1 },
  'bmp-reach-vpls.pcap': { 'route-monitoring': 1, 'rib:adj-rib-in-pre': 1, 'other-family': 1 },
  'bmp-reach.pcap': { 'route-monitoring': 17, 'rib:adj-rib-in-pre': 17, announced: 10, 'other-family': 7 },
  'bmp-terminate.pcap': { termination: 1 },
  'bmp-unreach.pcap': { 'route-monitoring': 8, 'rib:adj-rib-in-pre': 8, withdrawn: 11, 'other-family': 3 },
};

async function sessionAfter(name: string): Promise<BmpSession> {
  const session = createBmpSession();
  const [stream] = await readBmpStreams(name);
  for (const message of stream!.messages) parseBmpMessage(message, session);
  return session;
}

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
      // akvorado's captures are cuts of one router connection: its peers come up in bmp-peers-up.pcap (one of
      // them with ADD-PATH for IPv4 unicast, which bmp-reach-addpath and bmp-unreach need to decode).
      const session = name.startsWith('bmp-') ? await sessionAfter('bmp-peers-up.pcap') : createBmpSession();
      const seen: Record<string, number> = {};
      const add = (key: string, n = 1) => {
        if (n > 0) seen[key] = (seen[key] ?? 0) + n;
      };
      for (const message of stream.messages) {
        const parsed = parseBmpMessage(message, session);
        add(parsed.type);
        if (parsed.type !== 'route-monitoring') continue;
        add(`rib:${parsed.peer.rib}`);
        const routes = updateRoutes(parsed.update);
        add('announced', routes.announced.length);
        add('withdrawn', routes.withdrawn.length);
        add('end-of-rib', routes.endOfRib === undefined ? 0 : 1);
        add('other-family', parsed.update.attributes.otherFamilies.length);
      }
      expect(session.counters.unknownPeerMessages).toBe(0);
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
