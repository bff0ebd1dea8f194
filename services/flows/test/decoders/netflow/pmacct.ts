/**
 * pmacct's decoding of its own test captures (nfacctd, JSON lines written by its Kafka plugin), put side by
 * side with ours. pmacct prints what its aggregation primitives say, after its own aggregation: records with
 * the same primitives in one cache interval come out as one line with summed packets and bytes. To compare
 * like with like both sides are summed over the fields both have, per exporter.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowRecord } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { flowCaptures } from './captures.ts';

/** Protocol names as pmacct prints them (getprotobynumber, i.e. /etc/protocols), for the ones in its tests. */
const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  icmp: 1,
  igmp: 2,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  'ipv6-icmp': 58,
  ospf: 89,
  pim: 103,
  vrrp: 112,
};

const TCP_FLAG_BITS: Readonly<Record<string, number>> = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
};

export interface PmacctRow {
  peer: string;
  key: string;
  packets: bigint;
  bytes: bigint;
  tcpFlags: number;
}

/** The fields pmacct and we both have, in one comparable key; counters kept apart to be summed. */
interface Shared {
  srcAddress: string;
  dstAddress: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  inInterface: number;
  outInterface: number;
  srcPrefixLength: number | undefined;
  dstPrefixLength: number | undefined;
  startSec: number | undefined;
  endSec: number | undefined;
}

function keyOf(shared: Shared): string {
  return JSON.stringify(shared);
}

export interface PmacctCase {
  name: string;
  rows: PmacctRow[];
  /** Whether pmacct's lines carry masks and flow times (not every test configures those primitives). */
  hasMasks: boolean;
  hasTimes: boolean;
}

function requiredNumber(row: Record<string, unknown>, key: string): number {
  const value = row[key];
  if (typeof value !== 'number')
    throw new Error(`pmacct line without a numeric ${key}: ${JSON.stringify(row)}`);
  return value;
}

function requiredString(row: Record<string, unknown>, key: string): string {
  const value = row[key];
  if (typeof value !== 'string') throw new Error(`pmacct line without ${key}: ${JSON.stringify(row)}`);
  return value;
}

export function readPmacctCase(name: string): PmacctCase {
  const text = readFileSync(join(flowCaptures, `${name}__output-flow-00.json`), 'utf8');
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const hasMasks = parsed.every((row) => 'mask_src' in row && 'mask_dst' in row);
  const hasTimes = parsed.every((row) => 'timestamp_start' in row && 'timestamp_end' in row);
  const rows = parsed.map((row): PmacctRow => {
    const protocolName = requiredString(row, 'ip_proto');
    const protocol = PROTOCOL_NUMBERS[protocolName];
    if (protocol === undefined)
      throw new Error(`protocol name ${protocolName} missing from the test's table`);
    let tcpFlags = 0;
    const flags = row.tcp_flags;
    if (!Array.isArray(flags)) throw new Error(`pmacct line without tcp_flags: ${JSON.stringify(row)}`);
    for (const flag of flags) {
      const bit = TCP_FLAG_BITS[String(flag)];
      if (bit === undefined) throw new Error(`TCP flag ${String(flag)} missing from the test's table`);
      tcpFlags |= bit;
    }
    const shared: Shared = {
      srcAddress: requiredString(row, 'ip_src'),
      dstAddress: requiredString(row, 'ip_dst'),
      srcPort: requiredNumber(row, 'port_src'),
      dstPort: requiredNumber(row, 'port_dst'),
      protocol,
      inInterface: requiredNumber(row, 'iface_in'),
      outInterface: requiredNumber(row, 'iface_out'),
      srcPrefixLength: hasMasks ? requiredNumber(row, 'mask_src') : undefined,
      dstPrefixLength: hasMasks ? requiredNumber(row, 'mask_dst') : undefined,
      startSec: hasTimes ? Math.floor(Number(requiredString(row, 'timestamp_start'))) : undefined,
      endSec: hasTimes ? Math.floor(Number(requiredString(row, 'timestamp_end'))) : undefined,
    };
    return {
      peer: requiredString(row, 'peer_ip_src'),
      key: keyOf(shared),
      packets: BigInt(requiredNumber(row, 'packets')),
      bytes: BigInt(requiredNumber(row, 'bytes')),
      tcpFlags,
    };
  });
  return { name, rows, hasMasks, hasTimes };
}

/**
 * Our record in pmacct's terms. pmacct prints only the eight classic TCP flags (its list has no NS bit, which
 * IPFIX's 16-bit tcpControlBits can carry): we compare the low 8 bits.
 */
export function ourRow(record: FlowRecord, pmacctCase: PmacctCase): PmacctRow & { exporter: string } {
  const shared: Shared = {
    srcAddress: formatIpAddress(record.srcAddress),
    dstAddress: formatIpAddress(record.dstAddress),
    srcPort: record.srcPort,
    dstPort: record.dstPort,
    protocol: record.protocol,
    inInterface: record.inInterface,
    outInterface: record.outInterface,
    srcPrefixLength: pmacctCase.hasMasks ? record.srcPrefixLength : undefined,
    dstPrefixLength: pmacctCase.hasMasks ? record.dstPrefixLength : undefined,
    startSec: pmacctCase.hasTimes ? Number(record.timeFlowStartNs / 1_000_000_000n) : undefined,
    endSec: pmacctCase.hasTimes ? Number(record.timeFlowEndNs / 1_000_000_000n) : undefined,
  };
  const exporter = formatIpAddress(record.exporterAddress);
  return {
    peer: exporter,
    exporter,
    key: keyOf(shared),
    packets: record.packets,
    bytes: record.bytes,
    tcpFlags: record.tcpFlags & 0xff,
  };
}

/**
 * Per peer, per key: summed packets and bytes and OR-ed TCP flags, as text ("packets=5 bytes=338 flags=0x18").
 * pmacct accumulates TCP flags by OR over the records it aggregates (they are not one of its keys: a line
 * with ACK|PSH can sum an ACK-only record and an ACK|PSH one), so flags are compared the same way.
 */
export function aggregate(rows: readonly PmacctRow[]): Map<string, Map<string, string>> {
  const sums = new Map<string, Map<string, [bigint, bigint, number]>>();
  for (const row of rows) {
    let byKey = sums.get(row.peer);
    if (byKey === undefined) {
      byKey = new Map();
      sums.set(row.peer, byKey);
    }
    const sum = byKey.get(row.key) ?? [0n, 0n, 0];
    byKey.set(row.key, [sum[0] + row.packets, sum[1] + row.bytes, sum[2] | row.tcpFlags]);
  }
  const result = new Map<string, Map<string, string>>();
  for (const [peer, byKey] of sums) {
    const text = [...byKey].map(([key, [packets, bytes, flags]]): [string, string] => [
      key,
      `packets=${packets} bytes=${bytes} flags=0x${flags.toString(16)}`,
    ]);
    result.set(peer, new Map(text));
  }
  return result;
}
