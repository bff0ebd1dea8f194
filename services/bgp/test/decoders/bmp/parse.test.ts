/**
 * Hand-built BMP messages: the framer's limits, Loc-RIB and Adj-RIB-Out RIBs, ADD-PATH negotiated per
 * direction, the A flag, Peer Down forgetting a peer, the peer bound, unknown stats and truncation.
 */

import { describe, expect, it } from 'vitest';
import {
  BmpDecodeError,
  BmpErrorCode,
  createBmpFramer,
  createBmpSession,
  parseBmpMessage,
} from '../../../src/decoders/bmp/index.ts';
import { bmp, open, peerHeader, peerUp, routeMonitoring, tlv, update } from './messages.ts';

function errorOf(run: () => unknown): BmpDecodeError {
  try {
    run();
  } catch (error) {
    if (error instanceof BmpDecodeError) return error;
    throw error;
  }
  throw new Error('no error thrown');
}

describe('BMP framer', () => {
  it('frames messages split anywhere and joined in one chunk', () => {
    const messages = [bmp(4, tlv(2, Buffer.from('r1'))), bmp(5, tlv(1, Buffer.from([0, 1])))];
    const stream = Buffer.concat(messages);
    for (let cut = 0; cut <= stream.length; cut++) {
      const framer = createBmpFramer();
      const out = [...framer.push(stream.subarray(0, cut)), ...framer.push(stream.subarray(cut))];
      expect(out).toEqual(messages);
      expect(framer.buffered).toBe(0);
    }
  });

  it('rejects a bad version or an absurd length, then stays closed', () => {
    const framer = createBmpFramer({ maxMessageLength: 1000 });
    expect(errorOf(() => framer.push(Buffer.from([1, 0, 0, 0, 6, 4]))).code).toBe(BmpErrorCode.BAD_VERSION);
    expect(errorOf(() => framer.push(bmp(4, Buffer.alloc(0)))).code).toBe(BmpErrorCode.STREAM_CLOSED);
    expect(framer.failed).toBe(true);
    expect(
      errorOf(() => createBmpFramer({ maxMessageLength: 1000 }).push(bmp(4, Buffer.alloc(2000)))).code,
    ).toBe(BmpErrorCode.BAD_LENGTH);
    expect(errorOf(() => createBmpFramer().push(Buffer.from([3, 0, 0, 0, 5, 4]))).code).toBe(
      BmpErrorCode.BAD_LENGTH,
    );
  });
});

describe('BMP parser', () => {
  it('reads a Loc-RIB instance route (RFC 9069): RIB, F flag, distinguisher', () => {
    const session = createBmpSession();
    const message = parseBmpMessage(
      routeMonitoring(
        { peerType: 3, flags: 0x80, distinguisher: 0x0000fbf000000001n, address: [0, 0, 0, 0] },
        update([65000, 4200000000]),
      ),
      session,
    );
    expect(message).toMatchObject({
      type: 'route-monitoring',
      peer: {
        peerType: 'loc-rib-instance',
        rib: 'loc-rib',
        filtered: true,
        ipv6: false,
        distinguisher: 0xfbf000000001n,
      },
      peerKnown: false,
    });
    if (message.type !== 'route-monitoring') throw new Error('not route monitoring');
    expect(message.update.attributes.asPath).toEqual([{ type: 2, asns: [65000, 4200000000] }]);
    expect(session.counters.unknownPeerMessages).toBe(1);
  });

  it('decodes ADD-PATH per direction: Adj-RIB-In with the peer sending, Adj-RIB-Out (O flag) with the router', () => {
    const session = createBmpSession();
    // The router (sent OPEN) receives ADD-PATH for IPv4 unicast and sends it for IPv6; the peer the reverse.
    parseBmpMessage(
      peerUp(
        {},
        open(65000, {
          addPath: [
            [1, 1, 1],
            [2, 1, 2],
          ],
        }),
        open(65001, {
          addPath: [
            [1, 1, 2],
            [2, 1, 1],
          ],
        }),
      ),
      session,
    );
    const inbound = parseBmpMessage(
      routeMonitoring({ flags: 0x40 }, update([65001], { pathId: 7 })),
      session,
    );
    expect(inbound).toMatchObject({ peer: { rib: 'adj-rib-in-post' }, peerKnown: true });
    if (inbound.type !== 'route-monitoring') throw new Error('not route monitoring');
    expect(inbound.update.nlri).toEqual([
      { afi: 1, address: new Uint8Array([10, 0, 0, 0]), length: 16, pathId: 7 },
    ]);
    // Adj-RIB-Out: the router sends IPv4 unicast without path ids.
    const outbound = parseBmpMessage(routeMonitoring({ flags: 0x10 }, update([65000])), session);
    expect(outbound).toMatchObject({ peer: { rib: 'adj-rib-out-pre', adjRibOut: true } });
    if (outbound.type !== 'route-monitoring') throw new Error('not route monitoring');
    expect(outbound.update.nlri[0]?.pathId).toBeUndefined();
    expect(parseBmpMessage(routeMonitoring({ flags: 0x50 }, update([65000])), session)).toMatchObject({
      peer: { rib: 'adj-rib-out-post' },
    });
  });

  it('reads 2-octet AS paths under the A flag, and forgets a peer at Peer Down', () => {
    const session = createBmpSession();
    parseBmpMessage(peerUp({}, open(65000), open(65001)), session);
    const legacy = parseBmpMessage(
      routeMonitoring({ flags: 0x20 }, update([65001, 65002], { as4: false })),
      session,
    );
    if (legacy.type !== 'route-monitoring') throw new Error('not route monitoring');
    expect(legacy.capabilities.as4).toBe(false);
    expect(legacy.update.attributes.asPath).toEqual([{ type: 2, asns: [65001, 65002] }]);
    expect(session.peers.size).toBe(1);
    const down = parseBmpMessage(bmp(2, Buffer.concat([peerHeader(), Buffer.from([2, 0, 24])])), session);
    expect(down).toMatchObject({ type: 'peer-down', reason: 2, fsmEventCode: 24 });
    expect(session.peers.size).toBe(0);
    expect(session.counters).toMatchObject({ peersUp: 1, peersDown: 1 });
  });

  it('keeps at most maxPeers peers per router, counting the rest', () => {
    const session = createBmpSession({ maxPeers: 2 });
    for (let i = 1; i <= 3; i++)
      parseBmpMessage(peerUp({ address: [192, 0, 2, i] }, open(65000), open(65000 + i)), session);
    expect(session.peers.size).toBe(2);
    expect(session.counters.peersOverLimit).toBe(1);
  });

  it('keeps an unknown or odd-sized stat raw, skipped by its length and counted', () => {
    const value = Buffer.alloc(8);
    value.writeBigUInt64BE(123n);
    const afiSafi = Buffer.concat([Buffer.from([0, 2, 1]), value]);
    const body = Buffer.concat([
      peerHeader(),
      Buffer.from([0, 0, 0, 4]),
      tlv(7, value),
      tlv(999, Buffer.from('abc')),
      tlv(0, Buffer.from([0, 0])),
      tlv(10, afiSafi),
    ]);
    const message = parseBmpMessage(bmp(1, body), createBmpSession());
    expect(message).toMatchObject({
      type: 'statistics-report',
      unknownStats: 2,
      stats: [
        { type: 7, kind: 'gauge64', value: 123n },
        { type: 999, kind: 'unknown', value: Buffer.from('abc') },
        { type: 0, kind: 'unknown' },
        { type: 10, kind: 'afi-safi-gauge64', afi: 2, safi: 1, value: 123n },
      ],
    });
  });

  it('reads initiation and termination TLVs', () => {
    const init = bmp(
      4,
      Buffer.concat([tlv(0, Buffer.from('hi')), tlv(1, Buffer.from('descr')), tlv(2, Buffer.from('r1'))]),
    );
    expect(parseBmpMessage(init, createBmpSession())).toMatchObject({
      information: { strings: ['hi'], sysDescr: 'descr', sysName: 'r1' },
    });
    const term = bmp(5, Buffer.concat([tlv(0, Buffer.from('bye')), tlv(1, Buffer.from([0, 3]))]));
    expect(parseBmpMessage(term, createBmpSession())).toMatchObject({ strings: ['bye'], reason: 3 });
  });

  it('throws typed errors: truncated message, unknown type, unknown peer type, bad BGP PDU', () => {
    const session = createBmpSession();
    const whole = routeMonitoring({}, update([65001]));
    const cut = Buffer.from(whole.subarray(0, whole.length - 5));
    cut.writeUInt32BE(cut.length, 1);
    // The UPDATE declares more bytes than the BMP message holds.
    expect(errorOf(() => parseBmpMessage(cut, session)).code).toBe(BmpErrorCode.TRUNCATED);
    const badMarker = Buffer.from(whole);
    badMarker[6 + 42] = 0;
    expect(errorOf(() => parseBmpMessage(badMarker, session)).code).toBe(BmpErrorCode.BAD_BGP_PDU);
    expect(errorOf(() => parseBmpMessage(whole.subarray(0, 30), session)).code).toBe(BmpErrorCode.TRUNCATED);
    expect(errorOf(() => parseBmpMessage(bmp(9, Buffer.alloc(0)), session)).code).toBe(
      BmpErrorCode.UNKNOWN_MESSAGE_TYPE,
    );
    expect(errorOf(() => parseBmpMessage(routeMonitoring({ peerType: 7 }, update([1])), session)).code).toBe(
      BmpErrorCode.UNKNOWN_PEER_TYPE,
    );
  });
});
