/**
 * A tiny pcap writer and a synthetic traffic capture for the real-exporter tests: TCP and UDP packets
 * between known hosts, so the flows, bytes and packets an exporter must report are known exactly.
 */

import { writeFileSync } from 'node:fs';

export interface TrafficFlow {
  src: string;
  dst: string;
  protocol: 6 | 17;
  srcPort: number;
  dstPort: number;
  /** IP payload sizes past the transport header, one per packet. */
  payloads: number[];
}

export interface TrafficTotals {
  flows: number;
  packets: number;
  /** Sum of the IPv4 total lengths (what NetFlow/IPFIX octet counters count). */
  bytes: number;
}

const ETHERNET = 14;
const IPV4 = 20;
const transportLength = (protocol: 6 | 17) => (protocol === 6 ? 20 : 8);

function ipv4Octets(text: string): number[] {
  return text.split('.').map(Number);
}

function checksum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function frame(flow: TrafficFlow, payload: number | Buffer, id: number, tcpFlags: number): Buffer {
  const l4 = transportLength(flow.protocol);
  const payloadLength = typeof payload === 'number' ? payload : payload.length;
  const total = IPV4 + l4 + payloadLength;
  const out = Buffer.alloc(ETHERNET + total);
  out.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1], 0);
  out.writeUInt16BE(0x0800, 12);
  const ip = out.subarray(ETHERNET, ETHERNET + IPV4);
  ip[0] = 0x45;
  ip.writeUInt16BE(total, 2);
  ip.writeUInt16BE(id & 0xffff, 4);
  ip[8] = 64;
  ip[9] = flow.protocol;
  ip.set(ipv4Octets(flow.src), 12);
  ip.set(ipv4Octets(flow.dst), 16);
  ip.writeUInt16BE(checksum(ip), 10);
  const l4Start = ETHERNET + IPV4;
  out.writeUInt16BE(flow.srcPort, l4Start);
  out.writeUInt16BE(flow.dstPort, l4Start + 2);
  if (flow.protocol === 6) {
    out.writeUInt32BE(1000 + id, l4Start + 4);
    out[l4Start + 12] = 5 << 4;
    out[l4Start + 13] = tcpFlags;
    out.writeUInt16BE(65535, l4Start + 14);
  } else {
    out.writeUInt16BE(8 + payloadLength, l4Start + 4);
  }
  if (typeof payload !== 'number') payload.copy(out, l4Start + l4);
  return out;
}

/** `count` flows between hosts of 10.0.0.0/24 and 10.1.0.0/24: half TCP, half UDP, 1–12 packets each. */
export function syntheticTraffic(count: number): TrafficFlow[] {
  return Array.from({ length: count }, (_, i) => {
    const packets = 1 + (i % 12);
    return {
      src: `10.0.0.${1 + (i % 50)}`,
      dst: `10.1.0.${1 + ((i * 7) % 50)}`,
      protocol: i % 2 === 0 ? 6 : 17,
      srcPort: 20_000 + i,
      dstPort: i % 2 === 0 ? 443 : 53,
      payloads: Array.from({ length: packets }, (_, p) => (i * 37 + p * 101) % 1400),
    };
  });
}

export function trafficTotals(flows: readonly TrafficFlow[]): TrafficTotals {
  let packets = 0;
  let bytes = 0;
  for (const flow of flows) {
    packets += flow.payloads.length;
    for (const payload of flow.payloads) bytes += IPV4 + transportLength(flow.protocol) + payload;
  }
  return { flows: flows.length, packets, bytes };
}

function pcapHeader(): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65_535, 16);
  header.writeUInt32LE(1, 20);
  return header;
}

function pcapRecord(data: Buffer, n: number, startSec: number): Buffer {
  const record = Buffer.alloc(16);
  const micros = n * 1000;
  record.writeUInt32LE(startSec + Math.floor(micros / 1_000_000), 0);
  record.writeUInt32LE(micros % 1_000_000, 4);
  record.writeUInt32LE(data.length, 8);
  record.writeUInt32LE(data.length, 12);
  return record;
}

/** Writes datagrams (an exporter's export packets) as UDP packets to `dstPort`, for tshark to decode. */
export function writeUdpPcap(path: string, datagrams: readonly Buffer[], dstPort: number): void {
  const parts: Buffer[] = [pcapHeader()];
  const flow: TrafficFlow = {
    src: '127.0.0.1',
    dst: '127.0.0.1',
    protocol: 17,
    srcPort: 40_000,
    dstPort,
    payloads: [],
  };
  datagrams.forEach((datagram, n) => {
    const data = frame(flow, datagram, n, 0);
    parts.push(pcapRecord(data, n, 1_767_225_600), data);
  });
  writeFileSync(path, Buffer.concat(parts));
}

/**
 * Writes the flows' packets to a pcap (Ethernet), interleaved in time, 1 ms apart, starting at `startSec`.
 * TCP flows get SYN on their first packet and FIN|ACK on their last (so exporters see them end).
 */
export function writeTrafficPcap(
  path: string,
  flows: readonly TrafficFlow[],
  startSec = 1_767_225_600,
): number {
  const parts: Buffer[] = [pcapHeader()];
  const longest = Math.max(...flows.map((f) => f.payloads.length));
  let n = 0;
  for (let p = 0; p < longest; p++) {
    for (const flow of flows) {
      const payload = flow.payloads[p];
      if (payload === undefined) continue;
      const last = p === flow.payloads.length - 1;
      const flags = p === 0 ? 0x02 : last ? 0x11 : 0x18;
      const data = frame(flow, payload, n, flags);
      parts.push(pcapRecord(data, n, startSec), data);
      n++;
    }
  }
  writeFileSync(path, Buffer.concat(parts));
  return n;
}
