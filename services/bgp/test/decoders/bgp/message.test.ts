import { describe, expect, it } from 'vitest';

import {
  AS_SEQUENCE,
  AS_SET,
  AS2_SESSION,
  AS4_SESSION,
  BgpDecodeError,
  type BgpMessage,
  type BgpUpdate,
  formatAsPath,
  formatPrefix,
  mergeAs4Path,
  originAs,
  parseBgpMessage,
  updateRoutes,
} from '../../../src/decoders/bgp/index.ts';
import {
  asPath,
  attribute,
  ipv6,
  message,
  nextHop,
  OPTIONAL,
  OPTIONAL_TRANSITIVE,
  origin,
  prefix4,
  u16,
  u32,
  update,
  WELL_KNOWN,
} from './build.ts';

function asUpdate(parsed: BgpMessage): BgpUpdate {
  if (parsed.type !== 'update') throw new Error(`expected an UPDATE, got ${parsed.type}`);
  return parsed;
}

const basic = [...origin(0), ...asPath([[AS_SEQUENCE, [65001, 65002]]], 4), ...nextHop([192, 0, 2, 1])];

describe('parseBgpMessage: header and simple messages', () => {
  it('parses KEEPALIVE, NOTIFICATION and ROUTE-REFRESH', () => {
    expect(parseBgpMessage(message(4, []), AS4_SESSION)).toEqual({ type: 'keepalive', length: 19 });
    const notification = parseBgpMessage(message(3, [6, 2, 0xaa]), AS4_SESSION);
    expect(notification).toMatchObject({ type: 'notification', code: 6, subcode: 2 });
    expect(parseBgpMessage(message(5, [...u16(2), 0, 1]), AS4_SESSION)).toEqual({
      type: 'route-refresh',
      length: 23,
      afi: 2,
      subtype: 0,
      safi: 1,
    });
  });

  it('rejects a bad marker, a bad length and an unknown type with stable codes', () => {
    const bad = message(4, []);
    bad[3] = 0;
    expect(() => parseBgpMessage(bad, AS4_SESSION)).toThrow(
      expect.objectContaining({ code: 'KANSOKU_BGP_BAD_MARKER' }),
    );
    const long = message(4, []);
    long.writeUInt16BE(40, 16);
    expect(() => parseBgpMessage(long, AS4_SESSION)).toThrow(
      expect.objectContaining({ code: 'KANSOKU_BGP_BAD_MESSAGE_LENGTH' }),
    );
    expect(() => parseBgpMessage(message(9, []), AS4_SESSION)).toThrow(
      expect.objectContaining({ code: 'KANSOKU_BGP_BAD_MESSAGE_TYPE' }),
    );
    expect(() => parseBgpMessage(message(4, [1]), AS4_SESSION)).toThrow(BgpDecodeError);
  });

  it('parses an OPEN with 4-octet AS, multiprotocol, ADD-PATH and an unknown capability', () => {
    const capabilities = [
      ...[1, 4, ...u16(2), 0, 1], // multiprotocol IPv6 unicast
      ...[65, 4, ...u32(4200000001)], // 4-octet AS
      ...[69, 4, ...u16(1), 1, 3], // ADD-PATH IPv4 unicast send/receive
      ...[2, 0], // route refresh
      ...[73, 3, 0x61, 0x62, 0x63], // FQDN-ish, kept as bytes
    ];
    const body = [
      4,
      ...u16(23456),
      ...u16(90),
      10,
      0,
      0,
      1,
      capabilities.length + 2,
      2,
      capabilities.length,
      ...capabilities,
    ];
    const open = parseBgpMessage(message(1, body), AS2_SESSION);
    expect(open).toMatchObject({
      type: 'open',
      version: 4,
      myAs: 23456,
      asn: 4200000001,
      fourOctetAs: 4200000001,
      holdTime: 90,
      multiprotocol: [{ afi: 2, safi: 1 }],
      addPath: [{ afi: 1, safi: 1, sendReceive: 3 }],
      routeRefresh: true,
    });
    if (open.type !== 'open') throw new Error('not an OPEN');
    expect(open.capabilities.map((capability) => capability.code)).toEqual([1, 65, 69, 2, 73]);
    expect(Buffer.from(open.capabilities[4]!.value).toString()).toBe('abc');
    expect([...open.bgpId]).toEqual([10, 0, 0, 1]);
  });

  it('rejects an OPEN whose capabilities overrun their parameter', () => {
    const body = [4, ...u16(65001), ...u16(90), 10, 0, 0, 1, 4, 2, 2, 65, 4];
    expect(() => parseBgpMessage(message(1, body), AS4_SESSION)).toThrow(
      expect.objectContaining({ code: 'KANSOKU_BGP_BAD_OPEN' }),
    );
  });
});

describe('parseBgpMessage: UPDATE', () => {
  it('decodes IPv4 NLRI, withdrawn routes and the common attributes', () => {
    const attributes = [
      ...basic,
      ...attribute(OPTIONAL, 4, u32(50)),
      ...attribute(WELL_KNOWN, 5, u32(200)),
      ...attribute(WELL_KNOWN, 6, []),
      ...attribute(OPTIONAL_TRANSITIVE, 7, [...u32(65010), 198, 51, 100, 1]),
      ...attribute(OPTIONAL_TRANSITIVE, 8, [...u32(0xfde80064), ...u32(0xffffff01)]),
      ...attribute(OPTIONAL, 9, [10, 9, 9, 9]),
      ...attribute(OPTIONAL, 10, [10, 0, 0, 1, 10, 0, 0, 2]),
      ...attribute(OPTIONAL_TRANSITIVE, 16, [0, 2, 0xfd, 0xe9, 0, 0, 0, 100]),
    ];
    const parsed = asUpdate(
      parseBgpMessage(
        update(prefix4([10, 1, 0, 0], 16), attributes, [
          ...prefix4([203, 0, 113, 0], 24),
          ...prefix4([0, 0, 0, 0], 0),
        ]),
        AS4_SESSION,
      ),
    );
    expect(parsed.withdrawn.map(formatPrefix)).toEqual(['10.1.0.0/16']);
    expect(parsed.nlri.map(formatPrefix)).toEqual(['203.0.113.0/24', '0.0.0.0/0']);
    const a = parsed.attributes;
    expect(a).toMatchObject({
      origin: 0,
      med: 50,
      localPref: 200,
      atomicAggregate: true,
      treatAsWithdraw: false,
    });
    expect(a.errors).toEqual([]);
    expect(formatAsPath(a.asPath)).toBe('65001 65002');
    expect(originAs(a.asPath)).toBe(65002);
    expect(a.aggregator?.asn).toBe(65010);
    expect(a.communities).toEqual([0xfde80064, 0xffffff01]);
    expect([...a.originatorId!]).toEqual([10, 9, 9, 9]);
    expect(a.clusterList).toHaveLength(2);
    expect(a.extendedCommunities).toEqual([0x0002fde900000064n]);
  });

  it('merges AS4_PATH and AS4_AGGREGATOR into a 2-octet session (RFC 6793 §4.2.3)', () => {
    // 2-octet path: 65001 23456 23456 {23456,65003}; AS4_PATH: 4200000001 4200000002 {4200000003,65003}
    const attributes = [
      ...origin(0),
      ...asPath(
        [
          [AS_SEQUENCE, [65001, 23456, 23456]],
          [AS_SET, [23456, 65003]],
        ],
        2,
      ),
      ...nextHop([192, 0, 2, 1]),
      ...attribute(OPTIONAL_TRANSITIVE, 7, [...u16(23456), 198, 51, 100, 7]),
      ...asPath(
        [
          [AS_SEQUENCE, [4200000001, 4200000002]],
          [AS_SET, [4200000003, 65003]],
        ],
        4,
        17,
      ),
      ...attribute(OPTIONAL_TRANSITIVE, 18, [...u32(4200000009), 198, 51, 100, 9]),
    ];
    const parsed = asUpdate(
      parseBgpMessage(update([], attributes, prefix4([203, 0, 113, 0], 24)), AS2_SESSION),
    );
    expect(formatAsPath(parsed.attributes.asPathReceived)).toBe('65001 23456 23456 {23456,65003}');
    expect(formatAsPath(parsed.attributes.asPath)).toBe('65001 4200000001 4200000002 {4200000003,65003}');
    expect(parsed.attributes.aggregator).toEqual({
      asn: 4200000009,
      address: Uint8Array.from([198, 51, 100, 9]),
    });
    // Ends in an AS_SET: no single origin AS.
    expect(originAs(parsed.attributes.asPath)).toBeUndefined();
  });

  it('ignores AS4_PATH when the AGGREGATOR is a real 2-octet AS, and when AS4_PATH is the longer', () => {
    const as4Path = asPath([[AS_SEQUENCE, [4200000001, 4200000002]]], 4, 17);
    const withAggregator = [
      ...origin(0),
      ...asPath([[AS_SEQUENCE, [65001, 23456, 23456]]], 2),
      ...nextHop([192, 0, 2, 1]),
      ...attribute(OPTIONAL_TRANSITIVE, 7, [...u16(65020), 198, 51, 100, 7]),
      ...as4Path,
      ...attribute(OPTIONAL_TRANSITIVE, 18, [...u32(4200000009), 198, 51, 100, 9]),
    ];
    const first = asUpdate(
      parseBgpMessage(update([], withAggregator, prefix4([203, 0, 113, 0], 24)), AS2_SESSION),
    );
    expect(formatAsPath(first.attributes.asPath)).toBe('65001 23456 23456');
    expect(first.attributes.aggregator?.asn).toBe(65020);
    expect(formatAsPath(mergeAs4Path([{ type: 2, asns: [23456] }], [{ type: 2, asns: [1, 2] }]))).toBe(
      '23456',
    );
    // A 4-octet session ignores AS4_PATH altogether.
    const as4 = [
      ...origin(0),
      ...asPath([[AS_SEQUENCE, [65001]]], 4),
      ...nextHop([192, 0, 2, 1]),
      ...as4Path,
    ];
    const second = asUpdate(parseBgpMessage(update([], as4, prefix4([203, 0, 113, 0], 24)), AS4_SESSION));
    expect(formatAsPath(second.attributes.asPath)).toBe('65001');
  });

  it('reads ADD-PATH path identifiers when the family negotiated it', () => {
    const options = { as4: true, addPath: (afi: number, safi: number) => afi === 1 && safi === 1 };
    const parsed = asUpdate(
      parseBgpMessage(
        update(prefix4([10, 0, 0, 0], 8, 7), basic, [
          ...prefix4([203, 0, 113, 0], 24, 1),
          ...prefix4([203, 0, 113, 0], 24, 2),
        ]),
        options,
      ),
    );
    expect(parsed.withdrawn).toEqual([
      { afi: 1, address: Uint8Array.from([10, 0, 0, 0]), length: 8, pathId: 7 },
    ]);
    expect(parsed.nlri.map((prefix) => [formatPrefix(prefix), prefix.pathId])).toEqual([
      ['203.0.113.0/24', 1],
      ['203.0.113.0/24', 2],
    ]);
    // The same bytes without ADD-PATH are another, malformed NLRI: 00 00 00 read as three /0s, 01 18 as
    // 0.0.0.0/1 (trailing bits cleared), then 203 is no prefix length.
    const plain = asUpdate(parseBgpMessage(update([], basic, prefix4([203, 0, 113, 0], 24, 1)), AS4_SESSION));
    expect(plain.nlri.map(formatPrefix)).toEqual(['0.0.0.0/0', '0.0.0.0/0', '0.0.0.0/0', '0.0.0.0/1']);
    expect(plain.attributes.errors).toMatchObject([{ code: 'KANSOKU_BGP_NLRI_MALFORMED' }]);
  });

  it('decodes MP_REACH IPv6 with a link-local next hop and MP_UNREACH, and counts other families', () => {
    const global = ipv6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    const linkLocal = ipv6([0xfe80, 0, 0, 0, 0, 0, 0, 0x1234]);
    const nlri = [
      48,
      ...ipv6([0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 0]).slice(0, 6),
      33,
      0x20,
      0x01,
      0x0d,
      0xb8,
      0xff,
    ];
    const mpReach = attribute(OPTIONAL, 14, [...u16(2), 1, 32, ...global, ...linkLocal, 0, ...nlri]);
    const mpUnreach = attribute(OPTIONAL, 15, [
      ...u16(2),
      1,
      64,
      ...ipv6([0x2001, 0xdb8, 0, 1, 0, 0, 0, 0]).slice(0, 8),
    ]);
    const vpn = attribute(OPTIONAL, 15, [...u16(1), 128, 0, 0, 0]);
    const attributes = [...origin(0), ...asPath([[AS_SEQUENCE, [65001]]], 4), ...mpReach, ...mpUnreach];
    const parsed = asUpdate(parseBgpMessage(update([], attributes, []), AS4_SESSION));
    const reach = parsed.attributes.mpReach!;
    expect(reach.afi).toBe(2);
    expect(Buffer.from(reach.nextHop).toString('hex')).toBe(Buffer.from(global).toString('hex'));
    expect(Buffer.from(reach.linkLocalNextHop!).toString('hex')).toBe(Buffer.from(linkLocal).toString('hex'));
    // The /33's trailing bits (0xff in its fifth octet) are cleared.
    expect(reach.nlri.map(formatPrefix)).toEqual(['2001:db8:10::/48', '2001:db8:8000::/33']);
    expect(parsed.attributes.mpUnreach?.withdrawn.map(formatPrefix)).toEqual(['2001:db8:0:1::/64']);
    const routes = updateRoutes(parsed);
    expect(routes.announced).toHaveLength(2);
    expect(routes.withdrawn).toHaveLength(1);

    const other = asUpdate(parseBgpMessage(update([], [...origin(0), ...vpn], []), AS4_SESSION));
    expect(other.attributes.otherFamilies).toEqual([
      { attribute: 'mp-unreach', afi: 1, safi: 128, nlriLength: 3 },
    ]);
  });

  it('keeps large communities and unknown attributes', () => {
    const attributes = [
      ...basic,
      ...attribute(OPTIONAL_TRANSITIVE, 32, [
        ...u32(4200000001),
        ...u32(1),
        ...u32(2),
        ...u32(65001),
        ...u32(0),
        ...u32(4294967295),
      ]),
      ...attribute(OPTIONAL_TRANSITIVE, 99, [1, 2, 3], true),
    ];
    const parsed = asUpdate(
      parseBgpMessage(update([], attributes, prefix4([203, 0, 113, 0], 24)), AS4_SESSION),
    );
    expect(parsed.attributes.largeCommunities).toEqual([
      { globalAdministrator: 4200000001, localData1: 1, localData2: 2 },
      { globalAdministrator: 65001, localData1: 0, localData2: 4294967295 },
    ]);
    expect(parsed.attributes.unknown).toEqual([
      { type: 99, flags: OPTIONAL_TRANSITIVE | 0x10, length: 3, value: Uint8Array.from([1, 2, 3]) },
    ]);
  });

  it('applies RFC 7606: treat-as-withdraw, attribute-discard, duplicates and missing attributes', () => {
    const badOrigin = [...attribute(WELL_KNOWN, 1, [7]), ...basic.slice(4)];
    const first = asUpdate(
      parseBgpMessage(update([], badOrigin, prefix4([203, 0, 113, 0], 24)), AS4_SESSION),
    );
    expect(first.attributes.treatAsWithdraw).toBe(true);
    expect(first.attributes.errors).toMatchObject([
      { code: 'KANSOKU_BGP_ATTRIBUTE_MALFORMED', type: 1, action: 'treat-as-withdraw' },
    ]);
    expect(updateRoutes(first)).toMatchObject({ announced: [], withdrawn: [{ length: 24 }] });

    const badCommunities = [...basic, ...attribute(OPTIONAL_TRANSITIVE, 8, [1, 2, 3])];
    expect(
      asUpdate(parseBgpMessage(update([], badCommunities, prefix4([203, 0, 113, 0], 24)), AS4_SESSION))
        .attributes.treatAsWithdraw,
    ).toBe(true);

    const discard = [
      ...basic,
      ...attribute(WELL_KNOWN, 6, [1]),
      ...attribute(OPTIONAL_TRANSITIVE, 7, [1, 2, 3]),
    ];
    const second = asUpdate(parseBgpMessage(update([], discard, prefix4([203, 0, 113, 0], 24)), AS4_SESSION));
    expect(second.attributes.treatAsWithdraw).toBe(false);
    expect(second.attributes.atomicAggregate).toBe(false);
    expect(second.attributes.aggregator).toBeUndefined();
    expect(second.attributes.errors.map((error) => [error.type, error.action])).toEqual([
      [6, 'attribute-discard'],
      [7, 'attribute-discard'],
    ]);

    const duplicate = [...basic, ...origin(2)];
    const third = asUpdate(
      parseBgpMessage(update([], duplicate, prefix4([203, 0, 113, 0], 24)), AS4_SESSION),
    );
    expect(third.attributes.origin).toBe(0);
    expect(third.attributes.errors).toMatchObject([{ code: 'KANSOKU_BGP_ATTRIBUTE_DUPLICATE', type: 1 }]);

    const missing = asUpdate(
      parseBgpMessage(update([], origin(0), prefix4([203, 0, 113, 0], 24)), AS4_SESSION),
    );
    expect(missing.attributes.errors.map((error) => [error.code, error.type])).toEqual([
      ['KANSOKU_BGP_ATTRIBUTE_MISSING', 2],
      ['KANSOKU_BGP_ATTRIBUTE_MISSING', 3],
    ]);

    const overrun = [...basic, OPTIONAL, 4, 200, 0, 0];
    const fourth = asUpdate(parseBgpMessage(update([], overrun, []), AS4_SESSION));
    expect(fourth.attributes.treatAsWithdraw).toBe(true);
    expect(fourth.attributes.errors[0]).toMatchObject({ type: 4, action: 'treat-as-withdraw' });
  });

  it('reports a truncated NLRI and unusable MP attributes with stable codes', () => {
    const truncated = asUpdate(
      parseBgpMessage(update([], basic, [...prefix4([203, 0, 113, 0], 24), 24, 10]), AS4_SESSION),
    );
    expect(truncated.nlri.map(formatPrefix)).toEqual(['203.0.113.0/24']);
    expect(truncated.attributes.errors).toMatchObject([{ code: 'KANSOKU_BGP_NLRI_MALFORMED', type: 0 }]);
    expect(truncated.attributes.treatAsWithdraw).toBe(true);

    const badNextHop = attribute(OPTIONAL, 14, [...u16(2), 1, 5, 1, 2, 3, 4, 5, 0]);
    expect(() => parseBgpMessage(update([], [...basic, ...badNextHop], []), AS4_SESSION)).toThrow(
      expect.objectContaining({ code: 'KANSOKU_BGP_BAD_MP_ATTRIBUTE' }),
    );
    const lengths = update([], basic, []);
    lengths.writeUInt16BE(500, 19 + 2);
    expect(() => parseBgpMessage(lengths, AS4_SESSION)).toThrow(
      expect.objectContaining({ code: 'KANSOKU_BGP_BAD_UPDATE_LENGTHS' }),
    );
  });

  it('recognises End-of-RIB markers', () => {
    const empty = asUpdate(parseBgpMessage(update([], [], []), AS4_SESSION));
    expect(updateRoutes(empty).endOfRib).toEqual({ afi: 1, safi: 1 });
    const v6 = asUpdate(
      parseBgpMessage(update([], attribute(OPTIONAL, 15, [...u16(2), 1]), []), AS4_SESSION),
    );
    expect(updateRoutes(v6).endOfRib).toEqual({ afi: 2, safi: 1 });
  });
});

describe('AS path helpers', () => {
  it('formats sets and confederation segments as bgpdump does, and picks the origin AS', () => {
    const path = [
      { type: 3 as const, asns: [64512, 64513] },
      { type: 2 as const, asns: [65001, 65002] },
      { type: 1 as const, asns: [65003, 65004] },
    ];
    expect(formatAsPath(path)).toBe('(64512 64513) 65001 65002 {65003,65004}');
    expect(formatAsPath([{ type: 4, asns: [1, 2] }])).toBe('[1,2]');
    expect(originAs(path)).toBeUndefined();
    expect(originAs(path.slice(0, 2))).toBe(65002);
    expect(originAs([])).toBeUndefined();
    expect(
      originAs([
        { type: 2, asns: [65001] },
        { type: 3, asns: [64512] },
      ]),
    ).toBe(65001);
  });
});
