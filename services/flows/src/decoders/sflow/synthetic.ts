/**
 * Synthetic packets and sFlow datagrams: the fuzzer's seeds beside the real captures (they cover what the
 * captures lack: counter samples, sampled IPv4/IPv6 records, IPv6 agents, MPLS headers, unknown formats)
 * and inputs for the unit tests.
 */

import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { HeaderProtocol } from './datagram.ts';
import {
  counterSample,
  dataFormat,
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
} from './encoder.ts';

const MAC_A = Buffer.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x0a]);
const MAC_B = Buffer.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x0b]);

/** An Ethernet frame: MACs, 802.1Q tags (outermost first; the first tag 0x88a8 when `qinq`), payload. */
export function ethernetFrame(init: {
  etherType: number;
  payload: Buffer;
  vlanIds?: number[];
  qinq?: boolean;
}): Buffer {
  const parts: Buffer[] = [MAC_B, MAC_A];
  (init.vlanIds ?? []).forEach((id, i) => {
    const tag = Buffer.alloc(4);
    tag.writeUInt16BE(i === 0 && init.qinq === true ? 0x88a8 : 0x8100, 0);
    tag.writeUInt16BE(id & 0x0fff, 2);
    parts.push(tag);
  });
  const type = Buffer.alloc(2);
  type.writeUInt16BE(init.etherType);
  parts.push(type, init.payload);
  return Buffer.concat(parts);
}

/** An IPv4 packet; `totalLength` may claim more than the payload (a header the agent cut). */
export function ipv4Packet(init: {
  src: string;
  dst: string;
  protocol: number;
  payload: Buffer;
  totalLength?: number;
  fragmentOffset?: number;
  moreFragments?: boolean;
}): Buffer {
  const header = Buffer.alloc(20);
  header[0] = 0x45;
  header.writeUInt16BE(init.totalLength ?? 20 + init.payload.length, 2);
  header.writeUInt16BE(0x1234, 4);
  header.writeUInt16BE(
    ((init.moreFragments === true ? 0x2000 : 0) | ((init.fragmentOffset ?? 0) / 8)) & 0xffff,
    6,
  );
  header[8] = 64;
  header[9] = init.protocol;
  Buffer.from(parseIpAddress(init.src)).copy(header, 12);
  Buffer.from(parseIpAddress(init.dst)).copy(header, 16);
  return Buffer.concat([header, init.payload]);
}

export function ipv6Packet(init: {
  src: string;
  dst: string;
  nextHeader: number;
  payload: Buffer;
  payloadLength?: number;
}): Buffer {
  const header = Buffer.alloc(40);
  header.writeUInt32BE(0x60000000, 0);
  header.writeUInt16BE(init.payloadLength ?? init.payload.length, 4);
  header[6] = init.nextHeader;
  header[7] = 64;
  Buffer.from(parseIpAddress(init.src)).copy(header, 8);
  Buffer.from(parseIpAddress(init.dst)).copy(header, 24);
  return Buffer.concat([header, init.payload]);
}

/** A TCP segment with `optionBytes` of NOP options and `dataBytes` of payload. */
export function tcpSegment(init: {
  srcPort: number;
  dstPort: number;
  flags: number;
  optionBytes?: number;
  dataBytes?: number;
}): Buffer {
  const options = init.optionBytes ?? 0;
  const header = Buffer.alloc(20 + options, 0x01);
  header.writeUInt16BE(init.srcPort, 0);
  header.writeUInt16BE(init.dstPort, 2);
  header.writeUInt32BE(1000, 4);
  header.writeUInt32BE(2000, 8);
  header[12] = ((20 + options) / 4) << 4;
  header[13] = init.flags;
  header.writeUInt16BE(65535, 14);
  header.writeUInt32BE(0, 16);
  return Buffer.concat([header, Buffer.alloc(init.dataBytes ?? 0, 0xab)]);
}

export function udpDatagram(init: { srcPort: number; dstPort: number; dataBytes?: number }): Buffer {
  const data = Buffer.alloc(init.dataBytes ?? 0, 0xcd);
  const header = Buffer.alloc(8);
  header.writeUInt16BE(init.srcPort, 0);
  header.writeUInt16BE(init.dstPort, 2);
  header.writeUInt16BE(8 + data.length, 4);
  return Buffer.concat([header, data]);
}

export function icmpMessage(type: number, code: number, dataBytes = 8): Buffer {
  const message = Buffer.alloc(4 + dataBytes);
  message[0] = type;
  message[1] = code;
  return message;
}

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_ARP = 0x0806;

/** 1500-byte IPv4/TCP 443 packet on VLAN 100, as a 128-byte sampled header of a 1518-byte frame. */
export function httpsHeaderRecord(): EncodedEntry {
  const frame = ethernetFrame({
    etherType: ETHERTYPE_IPV4,
    vlanIds: [100],
    payload: ipv4Packet({
      src: '198.51.100.7',
      dst: '203.0.113.9',
      protocol: 6,
      payload: tcpSegment({ srcPort: 51000, dstPort: 443, flags: 0x18, dataBytes: 1460 }),
    }),
  });
  return sampledHeaderRecord({
    protocol: HeaderProtocol.ETHERNET,
    frameLength: frame.length + 4,
    stripped: 4,
    header: frame.subarray(0, 128),
  });
}

/** Datagrams covering every structure the decoder reads, and some it skips. */
export function syntheticDatagrams(): Buffer[] {
  const v4Agent = parseIpAddress('192.0.2.1');
  const v6Agent = parseIpAddress('2001:db8::1');
  const counters = genericInterfaceRecord({
    ifIndex: 7,
    ifType: 6,
    ifSpeed: 10_000_000_000n,
    ifDirection: 1,
    ifStatus: 3,
    inOctets: 123_456_789_012n,
    inUnicastPackets: 1000,
    inMulticastPackets: 20,
    inBroadcastPackets: 3,
    inDiscards: 4,
    inErrors: 5,
    inUnknownProtocols: 6,
    outOctets: 98_765_432_109n,
    outUnicastPackets: 900,
    outMulticastPackets: 10,
    outBroadcastPackets: 2,
    outDiscards: 1,
    outErrors: 0,
    promiscuousMode: 0,
  });
  const mplsHeader = Buffer.concat([
    Buffer.from([0x00, 0x01, 0x40, 0x40, 0x00, 0x02, 0x01, 0x40]),
    ipv6Packet({
      src: '2001:db8:1::1',
      dst: '2001:db8:2::2',
      nextHeader: 17,
      payload: udpDatagram({ srcPort: 40000, dstPort: 443, dataBytes: 1200 }),
    }),
  ]).subarray(0, 96);
  return [
    encodeSflowDatagram({
      agentAddress: v4Agent,
      subAgentId: 3,
      sequenceNumber: 10,
      uptimeMs: 1000,
      samples: [
        flowSample({
          sequenceNumber: 1,
          sourceIdIndex: 7,
          samplingRate: 1000,
          samplePool: 5000,
          input: { format: 0, value: 7 },
          output: { format: 0, value: 9 },
          records: [
            httpsHeaderRecord(),
            extendedSwitchRecord({ srcVlan: 100, srcPriority: 0, dstVlan: 200, dstPriority: 0 }),
            extendedRouterRecord({
              nextHop: parseIpAddress('203.0.113.1'),
              srcMaskLength: 24,
              dstMaskLength: 20,
            }),
            extendedGatewayRecord({
              nextHop: parseIpAddress('203.0.113.254'),
              as: 64500,
              srcAs: 64501,
              srcPeerAs: 64502,
              dstAsPath: [{ type: 2, asns: [64510, 64511, 64512] }],
              communities: [0xfde80001],
              localPref: 100,
            }),
            rawRecord(4413, 5, Buffer.alloc(12, 0x11)),
          ],
        }),
        counterSample({
          sequenceNumber: 4,
          sourceIdIndex: 7,
          records: [counters, rawRecord(0, 2, Buffer.alloc(52))],
        }),
      ],
    }),
    encodeSflowDatagram({
      agentAddress: v6Agent,
      sequenceNumber: 77,
      samples: [
        flowSample({
          expanded: true,
          sourceIdIndex: 0x50000001,
          samplingRate: 4096,
          input: { format: 0, value: 0x50000001 },
          output: { format: 1, value: 258 },
          records: [
            sampledHeaderRecord({
              protocol: HeaderProtocol.MPLS,
              frameLength: 1300,
              stripped: 4,
              header: mplsHeader,
            }),
          ],
        }),
        flowSample({
          samplingRate: 512,
          input: { format: 0, value: 0x3fffffff },
          output: { format: 2, value: 3 },
          records: [
            sampledEthernetRecord({ length: 1518, srcMac: MAC_A, dstMac: MAC_B, etherType: ETHERTYPE_IPV6 }),
            sampledIpRecord({
              ipVersion: 6,
              length: 1500,
              protocol: 6,
              src: parseIpAddress('2001:db8::10'),
              dst: parseIpAddress('2001:db8::20'),
              srcPort: 443,
              dstPort: 50000,
              tcpFlags: 0x10,
              tos: 0,
            }),
          ],
        }),
        counterSample({ expanded: true, sourceIdIndex: 0x50000001, records: [counters] }),
        { dataFormat: dataFormat(0, 5), body: Buffer.alloc(16) },
      ],
    }),
    encodeSflowDatagram({
      agentAddress: new Uint8Array(0),
      samples: [
        flowSample({
          samplingRate: 1,
          records: [
            sampledIpRecord({
              ipVersion: 4,
              length: 84,
              protocol: 1,
              src: parseIpAddress('192.0.2.10'),
              dst: parseIpAddress('192.0.2.20'),
              srcPort: 0,
              dstPort: 0x0800,
              tcpFlags: 0,
              tos: 0,
            }),
          ],
        }),
      ],
    }),
  ];
}
