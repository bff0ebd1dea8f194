/** The sFlow decoder on datagrams built field by field: every structure it reads, and every way to break one. */

import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  FlowDirection,
  FlowProtocol,
  FlowRecordSchema,
  IpVersion,
} from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { formatIpAddress, parseIpAddress } from '@kansoku/contracts/ip-address';
import { ConfigError } from '@kansoku/kit/errors';
import { describe, expect, it } from 'vitest';
import {
  counterSample,
  type EncodedEntry,
  encodeSflowDatagram,
  extendedGatewayRecord,
  extendedRouterRecord,
  extendedSwitchRecord,
  flowSample,
  genericInterfaceRecord,
  rawRecord,
  sampledEthernetRecord,
  sampledHeaderRecord,
  sampledIpRecord,
  XdrWriter,
} from '../../../src/decoders/sflow/encoder.ts';
import {
  createSflowDecoder,
  type GenericInterfaceCounters,
  HeaderProtocol,
  MAX_COUNTER_KEYS,
  OTHER_KEY,
  parseSflowDatagram,
  SflowDecodeError,
  type SflowDecoder,
  SflowErrorCode,
} from '../../../src/decoders/sflow/index.ts';
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ethernetFrame,
  httpsHeaderRecord,
  icmpMessage,
  ipv4Packet,
  ipv6Packet,
  syntheticDatagrams,
  tcpSegment,
  udpDatagram,
} from '../../../src/decoders/sflow/synthetic.ts';

const AGENT = '192.0.2.1';
const SOURCE = { address: parseIpAddress('198.18.0.1'), port: 50000 };
const NOW = 1_700_000_000_123_456_789n;

function datagram(
  samples: EncodedEntry[],
  over: { agent?: string; subAgentId?: number; sequence?: number } = {},
) {
  return encodeSflowDatagram({
    agentAddress: over.agent === '' ? new Uint8Array(0) : parseIpAddress(over.agent ?? AGENT),
    subAgentId: over.subAgentId ?? 0,
    sequenceNumber: over.sequence ?? 1,
    uptimeMs: 60_000,
    samples,
  });
}

function decodeOne(decoder: SflowDecoder, samples: EncodedEntry[]) {
  const result = decoder.decode(datagram(samples), SOURCE, NOW);
  expect(result.records).toHaveLength(1);
  return result.records[0]!;
}

function agentStats(decoder: SflowDecoder, agent = AGENT) {
  const stats = decoder.stats().agents.find((a) => a.agent === agent);
  expect(stats, `stats of agent ${agent}`).toBeDefined();
  return stats!;
}

const COUNTERS: GenericInterfaceCounters = {
  ifIndex: 12,
  ifType: 6,
  ifSpeed: 100_000_000_000n,
  ifDirection: 1,
  ifStatus: 1,
  inOctets: 0x1_0000_0002n,
  inUnicastPackets: 1_000_000,
  inMulticastPackets: 300,
  inBroadcastPackets: 20,
  inDiscards: 7,
  inErrors: 3,
  inUnknownProtocols: 1,
  outOctets: 987_654_321_000n,
  outUnicastPackets: 2_000_000,
  outMulticastPackets: 30,
  outBroadcastPackets: 2,
  outDiscards: 9,
  outErrors: 4,
  promiscuousMode: 0,
};

describe('sFlow flow samples', () => {
  it('decodes a flow sample with a raw Ethernet/802.1Q/IPv4/TCP header', () => {
    const decoder = createSflowDecoder();
    const record = decodeOne(decoder, [
      flowSample({
        sequenceNumber: 41,
        sourceIdIndex: 7,
        samplingRate: 2048,
        samplePool: 1_000_000,
        input: { format: 0, value: 7 },
        output: { format: 0, value: 9 },
        records: [httpsHeaderRecord()],
      }),
    ]);
    expect(formatIpAddress(record.exporterAddress)).toBe(AGENT);
    expect(record.flowProtocol).toBe(FlowProtocol.SFLOW_V5);
    expect(record.exportSequenceNumber).toBe(1);
    expect(record.timeReceivedNs).toBe(NOW);
    expect(record.timeFlowStartNs).toBe(NOW);
    expect(record.timeFlowEndNs).toBe(NOW);
    expect(record.inInterface).toBe(7);
    expect(record.outInterface).toBe(9);
    expect(record.direction).toBe(FlowDirection.INGRESS);
    expect(record.ipVersion).toBe(IpVersion.V4);
    expect(formatIpAddress(record.srcAddress)).toBe('198.51.100.7');
    expect(formatIpAddress(record.dstAddress)).toBe('203.0.113.9');
    expect(record.srcAddress).toBeInstanceOf(Uint8Array);
    expect(record.protocol).toBe(6);
    expect(record.srcPort).toBe(51000);
    expect(record.dstPort).toBe(443);
    expect(record.tcpFlags).toBe(0x18);
    // 14 Ethernet + 4 tag + 20 IP + 20 TCP + 1460 data = 1518, + 4 FCS = 1522 on the wire, 4 stripped.
    expect(record.rawBytes).toBe(1518n);
    expect(record.rawPackets).toBe(1n);
    expect(record.samplingRate).toBe(2048);
    expect(record.bytes).toBe(1518n * 2048n);
    expect(record.packets).toBe(2048n);
    expect(record.srcVlanId).toBe(100);
    expect(record.dstVlanId).toBe(0);
    expect(record.applicationName).toBe('HTTPS');
    const stats = agentStats(decoder);
    expect(stats).toMatchObject({
      datagrams: 1,
      flowSamples: 1,
      records: 1,
      decodeErrors: {},
      headerErrors: {},
    });
    // The record is a complete protobuf message: what create() would build, and it survives the wire.
    expect(record).toEqual(create(FlowRecordSchema, record));
    expect(fromBinary(FlowRecordSchema, toBinary(FlowRecordSchema, record))).toEqual(record);
  });

  it('decodes an expanded flow sample: 32-bit interfaces, sub-agent id, egress direction', () => {
    const decoder = createSflowDecoder();
    const header = ethernetFrame({
      etherType: ETHERTYPE_IPV6,
      vlanIds: [300, 42],
      qinq: true,
      payload: ipv6Packet({
        src: '2001:db8::1',
        dst: '2001:db8::2',
        nextHeader: 17,
        payload: udpDatagram({ srcPort: 443, dstPort: 61000, dataBytes: 1200 }),
      }),
    });
    const result = decoder.decode(
      datagram(
        [
          flowSample({
            expanded: true,
            sourceIdIndex: 0x80000002,
            samplingRate: 10_000,
            input: { format: 0, value: 0x80000001 },
            output: { format: 0, value: 0x80000002 },
            records: [
              sampledHeaderRecord({
                protocol: HeaderProtocol.ETHERNET,
                frameLength: header.length + 4,
                stripped: 4,
                header: header.subarray(0, 128),
              }),
            ],
          }),
        ],
        { subAgentId: 9, sequence: 500 },
      ),
      SOURCE,
      NOW,
    );
    const record = result.records[0]!;
    expect(record.observationDomainId).toBe(9);
    expect(record.exportSequenceNumber).toBe(500);
    expect(record.inInterface).toBe(0x80000001);
    expect(record.outInterface).toBe(0x80000002);
    expect(record.direction).toBe(FlowDirection.EGRESS);
    expect(record.ipVersion).toBe(IpVersion.V6);
    expect(formatIpAddress(record.srcAddress)).toBe('2001:db8::1');
    expect(record.srcAddress).toHaveLength(16);
    expect(record.protocol).toBe(17);
    expect(record.applicationName).toBe('QUIC');
    // QinQ: the outer (service) tag is the source VLAN.
    expect(record.srcVlanId).toBe(300);
    expect(record.rawBytes).toBe(BigInt(header.length));
    expect(record.bytes).toBe(BigInt(header.length) * 10_000n);
  });

  it('maps the interface formats: local, discarded with its reason, multiple outputs', () => {
    const decoder = createSflowDecoder();
    const sample = (input: { format: number; value: number }, output: { format: number; value: number }) =>
      flowSample({ samplingRate: 1, input, output, records: [httpsHeaderRecord()] });
    const result = decoder.decode(
      datagram([
        sample({ format: 0, value: 0x3fffffff }, { format: 0, value: 4 }),
        sample({ format: 0, value: 5 }, { format: 1, value: 258 }),
        sample({ format: 0, value: 5 }, { format: 2, value: 3 }),
        sample({ format: 0, value: 5 }, { format: 0, value: 0x3fffffff }),
      ]),
      SOURCE,
      NOW,
    );
    expect(result.records.map((r) => [r.inInterface, r.outInterface])).toEqual([
      [0, 4],
      [5, 0],
      [5, 0],
      [5, 0],
    ]);
    expect(agentStats(decoder).discardedSamples).toBe(1);

    const dropping = createSflowDecoder({ discardedPackets: 'drop' });
    const dropped = dropping.decode(
      datagram([sample({ format: 0, value: 5 }, { format: 1, value: 258 })]),
      SOURCE,
      NOW,
    );
    expect(dropped.records).toEqual([]);
    expect(agentStats(dropping)).toMatchObject({ discardedSamples: 1, flowSamples: 1, records: 0 });
  });

  it('fills VLANs, next hop, masks and AS numbers from the extended records', () => {
    const decoder = createSflowDecoder();
    const record = decodeOne(decoder, [
      flowSample({
        samplingRate: 100,
        records: [
          httpsHeaderRecord(),
          extendedSwitchRecord({ srcVlan: 10, srcPriority: 0, dstVlan: 20, dstPriority: 5 }),
          extendedRouterRecord({
            nextHop: parseIpAddress('203.0.113.1'),
            srcMaskLength: 24,
            dstMaskLength: 19,
          }),
          extendedGatewayRecord({
            nextHop: parseIpAddress('203.0.113.254'),
            as: 64500,
            srcAs: 64501,
            srcPeerAs: 64502,
            dstAsPath: [
              { type: 2, asns: [64510, 64511] },
              { type: 1, asns: [64520] },
            ],
            communities: [1, 2, 3],
            localPref: 200,
          }),
        ],
      }),
    ]);
    expect(record.srcVlanId).toBe(10);
    expect(record.dstVlanId).toBe(20);
    expect(formatIpAddress(record.nextHopAddress)).toBe('203.0.113.1');
    expect(record.srcPrefixLength).toBe(24);
    expect(record.dstPrefixLength).toBe(19);
    expect(record.srcAs).toBe(64501);
    expect(record.dstAs).toBe(64520);
  });

  it('takes the BGP next hop when there is no router record, and ignores VLAN ids out of range', () => {
    const decoder = createSflowDecoder();
    const record = decodeOne(decoder, [
      flowSample({
        samplingRate: 1,
        records: [
          httpsHeaderRecord(),
          extendedSwitchRecord({ srcVlan: 0xffffffff, srcPriority: 0, dstVlan: 5000, dstPriority: 0 }),
          extendedGatewayRecord({
            nextHop: parseIpAddress('2001:db8::fe'),
            as: 64500,
            srcAs: 0,
            srcPeerAs: 0,
            dstAsPath: [],
            communities: [],
            localPref: 0,
          }),
        ],
      }),
    ]);
    expect(formatIpAddress(record.nextHopAddress)).toBe('2001:db8::fe');
    // The switch record's source VLAN is invalid: the sampled frame's tag is used.
    expect(record.srcVlanId).toBe(100);
    expect(record.dstVlanId).toBe(0);
    expect(record.srcAs).toBe(0);
    expect(record.dstAs).toBe(0);
  });

  it('uses the sampled IPv4 and IPv6 records when there is no sampled header', () => {
    const decoder = createSflowDecoder();
    const result = decoder.decode(
      datagram([
        flowSample({
          samplingRate: 256,
          records: [
            sampledEthernetRecord({
              length: 1400,
              srcMac: new Uint8Array(6),
              dstMac: new Uint8Array(6),
              etherType: ETHERTYPE_IPV4,
            }),
            sampledIpRecord({
              ipVersion: 4,
              length: 1382,
              protocol: 17,
              src: parseIpAddress('10.0.0.1'),
              dst: parseIpAddress('10.0.0.2'),
              srcPort: 53,
              dstPort: 40000,
              tcpFlags: 0,
              tos: 0,
            }),
          ],
        }),
        flowSample({
          samplingRate: 2,
          records: [
            sampledIpRecord({
              ipVersion: 6,
              length: 600,
              protocol: 6,
              src: parseIpAddress('2001:db8::a'),
              dst: parseIpAddress('2001:db8::b'),
              srcPort: 80,
              dstPort: 50000,
              tcpFlags: 0x11,
              tos: 0,
            }),
          ],
        }),
      ]),
      SOURCE,
      NOW,
    );
    const [v4, v6] = result.records;
    expect(v4).toMatchObject({ ipVersion: IpVersion.V4, protocol: 17, srcPort: 53, dstPort: 40000 });
    expect(v4!.applicationName).toBe('DNS');
    expect(formatIpAddress(v4!.srcAddress)).toBe('10.0.0.1');
    // The Ethernet record's length (the frame) wins over the IP record's.
    expect(v4!.rawBytes).toBe(1400n);
    expect(v4!.bytes).toBe(1400n * 256n);
    expect(v6).toMatchObject({ ipVersion: IpVersion.V6, protocol: 6, srcPort: 80, tcpFlags: 0x11 });
    expect(formatIpAddress(v6!.dstAddress)).toBe('2001:db8::b');
    expect(v6!.rawBytes).toBe(600n);
    expect(v6!.applicationName).toBe('HTTP');
  });

  it('reads ICMP type and code into the destination port, and raw IPv4 and IPv6 header protocols', () => {
    const decoder = createSflowDecoder();
    const icmp = ipv4Packet({ src: '192.0.2.5', dst: '192.0.2.6', protocol: 1, payload: icmpMessage(3, 13) });
    const icmp6 = ipv6Packet({
      src: 'fe80::1',
      dst: 'ff02::1',
      nextHeader: 58,
      payload: icmpMessage(134, 0),
    });
    const result = decoder.decode(
      datagram([
        flowSample({
          samplingRate: 1,
          records: [
            sampledHeaderRecord({
              protocol: HeaderProtocol.IPV4,
              frameLength: 50,
              stripped: 18,
              header: icmp,
            }),
          ],
        }),
        flowSample({
          samplingRate: 1,
          records: [
            sampledHeaderRecord({
              protocol: HeaderProtocol.IPV6,
              frameLength: icmp6.length,
              stripped: 0,
              header: icmp6,
            }),
          ],
        }),
      ]),
      SOURCE,
      NOW,
    );
    const [v4, v6] = result.records;
    expect(v4).toMatchObject({ protocol: 1, srcPort: 0, dstPort: (3 << 8) | 13, applicationName: 'ICMP' });
    // frame_length 50 minus 14 + 4 stripped (Ethernet and FCS) is the IP packet: 32 bytes.
    expect(v4!.rawBytes).toBe(32n);
    expect(v6).toMatchObject({ protocol: 58, dstPort: 134 << 8, applicationName: 'ICMPv6' });
    expect(formatIpAddress(v6!.srcAddress)).toBe('fe80::1');
  });

  it('decodes an MPLS header protocol through its label stack', () => {
    const decoder = createSflowDecoder();
    const packet = ipv4Packet({
      src: '100.64.0.1',
      dst: '100.64.0.2',
      protocol: 6,
      payload: tcpSegment({ srcPort: 179, dstPort: 40000, flags: 0x10 }),
    });
    const labels = Buffer.from([0x00, 0x06, 0x40, 0xff, 0x00, 0x07, 0x01, 0xff]);
    const record = decodeOne(decoder, [
      flowSample({
        samplingRate: 1,
        records: [
          sampledHeaderRecord({
            protocol: HeaderProtocol.MPLS,
            frameLength: 8 + packet.length,
            stripped: 0,
            header: Buffer.concat([labels, packet]),
          }),
        ],
      }),
    ]);
    expect(formatIpAddress(record.srcAddress)).toBe('100.64.0.1');
    expect(record).toMatchObject({ protocol: 6, srcPort: 179, applicationName: 'BGP' });
  });

  it('reads the ports of a header cut inside the TCP options, and counts it as partial', () => {
    const decoder = createSflowDecoder();
    const frame = ethernetFrame({
      etherType: ETHERTYPE_IPV6,
      payload: ipv6Packet({
        src: '2001:db8::1',
        dst: '2001:db8::2',
        nextHeader: 6,
        payload: tcpSegment({ srcPort: 443, dstPort: 50123, flags: 0x12, optionBytes: 20, dataBytes: 1000 }),
      }),
    });
    // 14 Ethernet + 40 IPv6 + 20 fixed TCP, then 6 of the 20 option bytes: decodePacket alone gives up.
    const header = frame.subarray(0, 80);
    const record = decodeOne(decoder, [
      flowSample({
        samplingRate: 4,
        records: [
          sampledHeaderRecord({
            protocol: HeaderProtocol.ETHERNET,
            frameLength: frame.length + 4,
            stripped: 4,
            header,
          }),
        ],
      }),
    ]);
    expect(record).toMatchObject({ ipVersion: IpVersion.V6, protocol: 6, srcPort: 443, dstPort: 50123 });
    expect(record.tcpFlags).toBe(0x12);
    expect(record.rawBytes).toBe(BigInt(frame.length));
    expect(agentStats(decoder)).toMatchObject({ partialHeaders: 1, headerErrors: {} });

    // Cut right before the flags byte (TCP header at 54, flags at 67): ports known, flags not.
    const beforeFlags = decodeOne(decoder, [
      flowSample({
        samplingRate: 4,
        records: [
          sampledHeaderRecord({
            protocol: HeaderProtocol.ETHERNET,
            frameLength: frame.length + 4,
            stripped: 4,
            header: frame.subarray(0, 67),
          }),
        ],
      }),
    ]);
    expect(beforeFlags).toMatchObject({ srcPort: 443, dstPort: 50123, tcpFlags: 0 });
    // Cut inside the ports: nothing of the transport is trusted, the header counts as truncated.
    decodeOne(decoder, [
      flowSample({
        samplingRate: 4,
        records: [
          sampledHeaderRecord({
            protocol: HeaderProtocol.ETHERNET,
            frameLength: frame.length + 4,
            stripped: 4,
            header: frame.subarray(0, 56),
          }),
        ],
      }),
    ]);
    expect(agentStats(decoder)).toMatchObject({
      partialHeaders: 2,
      headerErrors: { KANSOKU_PACKET_TRUNCATED: 1 },
    });
  });

  it('keeps what it knows of a header cut inside the IP header, and of a frame that is not IP', () => {
    const decoder = createSflowDecoder();
    const frame = ethernetFrame({
      etherType: ETHERTYPE_IPV4,
      payload: ipv4Packet({
        src: '192.0.2.1',
        dst: '192.0.2.2',
        protocol: 17,
        payload: udpDatagram({ srcPort: 1, dstPort: 2 }),
      }),
    });
    const arp = ethernetFrame({ etherType: ETHERTYPE_ARP, payload: Buffer.alloc(28) });
    const result = decoder.decode(
      datagram([
        flowSample({
          samplingRate: 10,
          input: { format: 0, value: 3 },
          records: [
            sampledHeaderRecord({ protocol: 1, frameLength: 64, stripped: 4, header: frame.subarray(0, 30) }),
          ],
        }),
        flowSample({
          samplingRate: 10,
          records: [sampledHeaderRecord({ protocol: 1, frameLength: 64, stripped: 4, header: arp })],
        }),
        flowSample({
          samplingRate: 10,
          records: [
            sampledHeaderRecord({ protocol: 7, frameLength: 64, stripped: 4, header: Buffer.alloc(40) }),
          ],
        }),
      ]),
      SOURCE,
      NOW,
    );
    expect(result.records).toHaveLength(3);
    for (const record of result.records) {
      expect(record.ipVersion).toBe(IpVersion.UNSPECIFIED);
      expect(record.srcAddress).toHaveLength(0);
      expect(record.rawBytes).toBe(60n);
      expect(record.bytes).toBe(600n);
      expect(record.applicationName).toBe('');
    }
    expect(result.records[0]!.inInterface).toBe(3);
    expect(agentStats(decoder).headerErrors).toEqual({
      KANSOKU_PACKET_TRUNCATED: 1,
      KANSOKU_PACKET_NOT_IP: 1,
      KANSOKU_SFLOW_HEADER_PROTOCOL_UNSUPPORTED: 1,
    });
  });

  it('takes frame_length alone when an agent reports the uncopied payload as stripped', () => {
    const decoder = createSflowDecoder();
    const frame = ethernetFrame({
      etherType: ETHERTYPE_IPV4,
      payload: ipv4Packet({
        src: '192.0.2.1',
        dst: '192.0.2.2',
        protocol: 17,
        payload: udpDatagram({ srcPort: 5000, dstPort: 5001, dataBytes: 1300 }),
      }),
    });
    const header = frame.subarray(0, 128);
    const record = decodeOne(decoder, [
      flowSample({
        samplingRate: 1,
        records: [
          sampledHeaderRecord({
            protocol: HeaderProtocol.ETHERNET,
            frameLength: frame.length,
            stripped: frame.length - header.length,
            header,
          }),
        ],
      }),
    ]);
    expect(record.rawBytes).toBe(BigInt(frame.length));
  });

  it('uses the agent address as exporter, and the source address when the agent gave none', () => {
    const decoder = createSflowDecoder();
    const sample = flowSample({ samplingRate: 1, records: [httpsHeaderRecord()] });
    const v6 = decoder.decode(datagram([sample], { agent: '2001:db8:ffff::1' }), SOURCE, NOW).records[0]!;
    expect(formatIpAddress(v6.exporterAddress)).toBe('2001:db8:ffff::1');
    const none = decoder.decode(datagram([sample], { agent: '' }), SOURCE, NOW).records[0]!;
    expect(formatIpAddress(none.exporterAddress)).toBe('198.18.0.1');
    const zero = decoder.decode(datagram([sample], { agent: '0.0.0.0' }), SOURCE, NOW).records[0]!;
    expect(formatIpAddress(zero.exporterAddress)).toBe('198.18.0.1');
    expect(decoder.stats().agents.map((a) => [a.agent, a.datagrams])).toEqual([
      ['2001:db8:ffff::1', 1],
      ['198.18.0.1', 2],
    ]);
  });

  it('skips unknown flow records and samples by their length, counting them by enterprise and format', () => {
    const decoder = createSflowDecoder();
    const result = decoder.decode(
      datagram([
        flowSample({
          samplingRate: 8,
          records: [
            rawRecord(0, 1010, Buffer.alloc(20, 0xee)),
            httpsHeaderRecord(),
            rawRecord(4413, 7, Buffer.alloc(8, 0xee)),
            rawRecord(4413, 7, Buffer.alloc(0)),
          ],
        }),
        { dataFormat: (4300 << 12) | 1, body: Buffer.alloc(24, 0x77) },
        { dataFormat: 6, body: Buffer.alloc(4) },
      ]),
      SOURCE,
      NOW,
    );
    expect(result.records).toHaveLength(1);
    expect(result.records[0]!.dstPort).toBe(443);
    expect(agentStats(decoder)).toMatchObject({
      unknownFlowRecordFormats: { '0:1010': 1, '4413:7': 2 },
      unknownSampleFormats: { '4300:1': 1, '0:6': 1 },
      decodeErrors: {},
    });
  });

  it('bounds the keys of the unknown-format counters', () => {
    const decoder = createSflowDecoder();
    const records = Array.from({ length: MAX_COUNTER_KEYS + 10 }, (_, i) => rawRecord(9, i, Buffer.alloc(0)));
    decoder.decode(datagram([flowSample({ samplingRate: 1, records })]), SOURCE, NOW);
    const unknown = agentStats(decoder).unknownFlowRecordFormats;
    expect(Object.keys(unknown)).toHaveLength(MAX_COUNTER_KEYS + 1);
    expect(unknown[OTHER_KEY]).toBe(10);
  });
});

describe('sFlow counter samples', () => {
  it('returns generic interface counters of compact and expanded counter samples', () => {
    const decoder = createSflowDecoder();
    const result = decoder.decode(
      datagram(
        [
          counterSample({
            sequenceNumber: 77,
            sourceIdIndex: 12,
            records: [genericInterfaceRecord(COUNTERS), rawRecord(0, 2, Buffer.alloc(52))],
          }),
          counterSample({
            expanded: true,
            sequenceNumber: 78,
            sourceIdIndex: 0x40000012,
            records: [
              rawRecord(0, 1001, Buffer.alloc(12)),
              genericInterfaceRecord({ ...COUNTERS, ifIndex: 0x40000012, ifStatus: 3 }),
            ],
          }),
          counterSample({ records: [rawRecord(0, 2, Buffer.alloc(52))] }),
        ],
        { subAgentId: 2 },
      ),
      SOURCE,
      NOW,
    );
    expect(result.records).toEqual([]);
    expect(result.counters).toHaveLength(2);
    const [compact, expanded] = result.counters;
    expect(compact).toEqual({
      ...COUNTERS,
      timeReceivedNs: NOW,
      agentAddress: parseIpAddress(AGENT),
      subAgentId: 2,
      uptimeMs: 60_000,
      sequenceNumber: 77,
      sourceIdType: 0,
      sourceIdIndex: 12,
      adminUp: true,
      operUp: false,
    });
    expect(expanded).toMatchObject({
      ifIndex: 0x40000012,
      sourceIdIndex: 0x40000012,
      adminUp: true,
      operUp: true,
    });
    expect(expanded!.inOctets).toBe(0x1_0000_0002n);
    expect(agentStats(decoder)).toMatchObject({
      counterSamples: 3,
      interfaceCounters: 2,
      unknownCounterRecordFormats: { '0:2': 2, '0:1001': 1 },
    });
  });
});

describe('sFlow malformed datagrams', () => {
  const valid = () =>
    datagram([
      flowSample({
        samplingRate: 16,
        records: [
          httpsHeaderRecord(),
          extendedSwitchRecord({ srcVlan: 1, srcPriority: 0, dstVlan: 2, dstPriority: 0 }),
        ],
      }),
      counterSample({ records: [genericInterfaceRecord(COUNTERS)] }),
    ]);

  it('counts every truncation of a valid datagram, never throws, and yields nothing from it', () => {
    const full = valid();
    const decoder = createSflowDecoder();
    for (let length = 0; length < full.length; length++) {
      const result = decoder.decode(full.subarray(0, length), SOURCE, NOW);
      expect(result, `cut at ${length}`).toEqual({ records: [], counters: [] });
    }
    const stats = decoder.stats();
    const rejected = Object.values(stats.totals.decodeErrors).reduce((a, b) => a + b, 0);
    expect(rejected).toBe(full.length);
    expect(stats.totals.records).toBe(0);
    // Once the agent address is read, the problem is counted against the agent; before, against the source.
    expect(agentStats(decoder, '198.18.0.1').datagrams).toBe(12);
    expect(agentStats(decoder).datagrams).toBe(full.length - 12);
    expect(Object.keys(stats.totals.decodeErrors).sort()).toEqual(
      [SflowErrorCode.TRUNCATED, SflowErrorCode.SAMPLE_OVERRUN, SflowErrorCode.TOO_MANY_SAMPLES].sort(),
    );
    // The whole datagram still decodes.
    expect(decoder.decode(full, SOURCE, NOW).records).toHaveLength(1);
  });

  it('names what is wrong: version, address type, overruns, absurd counts, short records', () => {
    const cases: [string, Buffer, string][] = [];
    const version = valid();
    version.writeUInt32BE(4, 0);
    cases.push(['version 4', version, SflowErrorCode.BAD_VERSION]);
    const addressType = valid();
    addressType.writeUInt32BE(3, 4);
    cases.push(['address type 3', addressType, SflowErrorCode.BAD_ADDRESS_TYPE]);
    const sampleCount = valid();
    sampleCount.writeUInt32BE(0xffffffff, 24);
    cases.push(['2^32-1 samples', sampleCount, SflowErrorCode.TOO_MANY_SAMPLES]);
    const sampleLength = valid();
    sampleLength.writeUInt32BE(sampleLength.length, 32);
    cases.push(['sample longer than the datagram', sampleLength, SflowErrorCode.SAMPLE_OVERRUN]);
    const recordCount = valid();
    recordCount.writeUInt32BE(1_000_000, 36 + 28);
    cases.push(['a million records', recordCount, SflowErrorCode.TOO_MANY_RECORDS]);
    const recordLength = valid();
    recordLength.writeUInt32BE(10_000, 36 + 32 + 4);
    cases.push(['record longer than its sample', recordLength, SflowErrorCode.RECORD_OVERRUN]);
    const shortSample = encodeSflowDatagram({
      agentAddress: parseIpAddress(AGENT),
      samples: [{ dataFormat: 1, body: Buffer.alloc(12) }],
    });
    cases.push(['flow sample of 12 bytes', shortSample, SflowErrorCode.SAMPLE_MALFORMED]);
    const shortRecord = datagram([
      flowSample({ samplingRate: 1, records: [rawRecord(0, 1001, Buffer.alloc(8))] }),
    ]);
    cases.push(['switch record of 8 bytes', shortRecord, SflowErrorCode.RECORD_MALFORMED]);
    const headerLength = datagram([
      flowSample({
        samplingRate: 1,
        records: [rawRecord(0, 1, new XdrWriter().u32(1).u32(100).u32(4).u32(5000).build())],
      }),
    ]);
    cases.push(['header longer than its record', headerLength, SflowErrorCode.RECORD_MALFORMED]);
    const asPath = datagram([
      flowSample({
        samplingRate: 1,
        records: [
          rawRecord(0, 1003, new XdrWriter().u32(1).u32(1).u32(1).u32(2).u32(3).u32(0x7fffffff).build()),
        ],
      }),
    ]);
    cases.push(['2^31 AS path segments', asPath, SflowErrorCode.RECORD_MALFORMED]);

    for (const [name, bytes, code] of cases) {
      const decoder = createSflowDecoder();
      expect(() => parseSflowDatagram(bytes), name).toThrow(SflowDecodeError);
      expect(decoder.decode(bytes, SOURCE, NOW), name).toEqual({ records: [], counters: [] });
      expect(decoder.stats().totals.decodeErrors, name).toEqual({ [code]: 1 });
    }
  });

  it('logs a rejected datagram through the rate-limited log', () => {
    const lines: [string, Record<string, unknown>, string][] = [];
    const decoder = createSflowDecoder(
      {},
      {
        log: {
          warn: (key, obj, msg) => {
            lines.push([key, obj, msg]);
            return true;
          },
          flush: () => {},
        },
      },
    );
    decoder.decode(Buffer.from([0, 0, 0, 2]), SOURCE, NOW);
    expect(lines).toEqual([
      [
        'sflow:198.18.0.1:KANSOKU_SFLOW_BAD_VERSION',
        { agent: '198.18.0.1', source: '198.18.0.1', code: 'KANSOKU_SFLOW_BAD_VERSION' },
        'sFlow datagram rejected: sFlow version 2, expected 5',
      ],
    ]);
  });
});

describe('sFlow per-agent state', () => {
  const sample = flowSample({ samplingRate: 1, records: [httpsHeaderRecord()] });

  it('counts sequence gaps and the datagrams missing in them, per agent and sub-agent', () => {
    const decoder = createSflowDecoder();
    const send = (sequence: number, subAgentId = 0, agent = AGENT) =>
      decoder.decode(datagram([sample], { sequence, subAgentId, agent }), SOURCE, NOW);
    send(100);
    send(101);
    send(105); // 102–104 missing
    send(1, 1); // another sub-agent: its own sequence
    send(2, 1);
    send(106);
    send(0xffffffff, 2);
    send(0, 2); // wraps around
    send(110); // 107–109 missing
    send(50, 0, '192.0.2.2');
    expect(agentStats(decoder)).toMatchObject({
      datagrams: 9,
      sequenceGaps: 2,
      missingDatagrams: 6,
      sequenceResets: 0,
    });
    expect(agentStats(decoder, '192.0.2.2')).toMatchObject({ sequenceGaps: 0, missingDatagrams: 0 });
    send(1); // agent restarted
    send(1); // duplicate
    expect(agentStats(decoder)).toMatchObject({ sequenceGaps: 2, missingDatagrams: 6, sequenceResets: 2 });
  });

  it('keeps at most maxAgents agents, forgets the least recently heard and counts it', () => {
    const decoder = createSflowDecoder({ maxAgents: 2, maxSubAgentsPerAgent: 2 });
    for (const agent of ['192.0.2.1', '192.0.2.2', '192.0.2.1', '192.0.2.3']) {
      decoder.decode(datagram([sample], { agent }), SOURCE, NOW);
    }
    let stats = decoder.stats();
    expect(stats.agents.map((a) => a.agent)).toEqual(['192.0.2.1', '192.0.2.3']);
    expect(stats.agentsEvicted).toBe(1);
    expect(stats.totals).toMatchObject({ datagrams: 4, records: 4 });
    for (let subAgentId = 0; subAgentId < 10; subAgentId++) {
      decoder.decode(datagram([sample], { subAgentId }), SOURCE, NOW);
    }
    stats = decoder.stats();
    expect(stats.agents.find((a) => a.agent === AGENT)!.subAgents).toBe(2);
  });

  it('rejects bad settings with the key named', () => {
    expect(() => createSflowDecoder({ maxAgents: 0 })).toThrow(ConfigError);
    expect(() => createSflowDecoder({ maxAgents: 0 })).toThrow(/sflowDecoder\.maxAgents/);
  });
});

describe('sFlow synthetic datagrams', () => {
  it('decode without a decode error (they seed the fuzzer)', () => {
    const decoder = createSflowDecoder();
    let records = 0;
    let counters = 0;
    for (const bytes of syntheticDatagrams()) {
      const result = decoder.decode(bytes, SOURCE, NOW);
      records += result.records.length;
      counters += result.counters.length;
    }
    const totals = decoder.stats().totals;
    expect(totals.decodeErrors).toEqual({});
    expect(totals.headerErrors).toEqual({});
    expect(records).toBe(4);
    expect(counters).toBe(2);
  });
});
