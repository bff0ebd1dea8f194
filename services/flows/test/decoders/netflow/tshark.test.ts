/**
 * tshark as a second oracle: Wireshark's NetFlow/IPFIX dissector decodes the same captures, and every flow it
 * shows must be one of our records, field for field (addresses, ports, protocol, the counters as exported,
 * interfaces, AS numbers, prefix lengths, TCP flags, flow times).
 */

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { FlowRecord } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { IpVersion } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { tsharkAvailable } from '@kansoku/kit/testing/captures';
import { describe, expect, it } from 'vitest';
import { createNetflowDecoder } from '../../../src/decoders/netflow/index.ts';
import { flowCaptures, haveCaptures, missingCapturesMessage, readExportPackets } from './captures.ts';

const haveTshark = tsharkAvailable();
const skipReason = !haveCaptures
  ? missingCapturesMessage
  : !haveTshark
    ? 'tshark not installed: oracle skipped'
    : '';
if (skipReason !== '') console.warn(skipReason);

type Json = { [key: string]: Json } | Json[] | string;
type Layer = { [key: string]: Json };

/** One field of a tshark flow; with --no-duplicate-keys a repeated element is a list: the last one wins, as in our decoder. */
function field(flow: Layer, name: string): string | undefined {
  const value = flow[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    const last = value[value.length - 1];
    return typeof last === 'string' ? last : undefined;
  }
  return typeof value === 'string' ? value : undefined;
}

function subtree(layer: Layer, name: string): Layer | undefined {
  const value = layer[name];
  return value !== undefined && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

/** tshark's "1098319.359000000" (seconds with a nanosecond fraction) as integer milliseconds. */
function secondsToMs(text: string): bigint {
  const [whole, fraction = ''] = text.split('.');
  return BigInt(whole!) * 1000n + BigInt(fraction.padEnd(3, '0').slice(0, 3));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** tshark's absolute time "Feb 28, 2023 09:45:58.784000000 UTC" as nanoseconds since the epoch. */
function absoluteToNs(text: string): bigint {
  const match = /^(\w{3}) +(\d+), (\d{4}) (\d\d):(\d\d):(\d\d)\.(\d{9}) UTC$/.exec(text);
  if (match === null) throw new Error(`unexpected tshark time ${text}`);
  const [, month, day, year, hour, minute, second, nanos] = match;
  const ms = Date.UTC(
    Number(year),
    MONTHS.indexOf(month!),
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
  );
  return BigInt(ms) * 1_000_000n + BigInt(nanos!);
}

interface TsharkPacket {
  header: Layer;
  /** The data records tshark decoded, in packet order (options data records, which carry no flow, left out). */
  flows: Layer[];
}

function tsharkPackets(file: string, port: number): TsharkPacket[] {
  const result = spawnSync(
    'tshark',
    [
      '-r',
      join(flowCaptures, file),
      '-d',
      `udp.port==${port},cflow`,
      '-T',
      'json',
      '-J',
      'cflow',
      '--no-duplicate-keys',
    ],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (result.status !== 0) throw new Error(`tshark failed: ${result.stderr}`);
  const frames = JSON.parse(result.stdout) as Array<{ _source: { layers: { cflow?: Layer } } }>;
  return frames.map((frame) => {
    const header = frame._source.layers.cflow ?? {};
    const flows: Layer[] = [];
    const isFlow = (layer: Layer) =>
      field(layer, 'cflow.srcaddr') !== undefined || field(layer, 'cflow.srcaddrv6') !== undefined;
    for (const [key, value] of Object.entries(header)) {
      if (typeof value !== 'object' || Array.isArray(value)) continue;
      if (key.startsWith('pdu ') && isFlow(value)) flows.push(value); // NetFlow v5
      if (!/^(Flow)?Set \d+/.test(key)) continue;
      for (const [name, flow] of Object.entries(value)) {
        if (name.startsWith('Flow ') && typeof flow === 'object' && !Array.isArray(flow) && isFlow(flow)) {
          flows.push(flow);
        }
      }
    }
    return { header, flows };
  });
}

/** tshark's flow start and end in nanoseconds, or undefined when it shows them relative to an unknown boot time. */
function tsharkTimes(packet: TsharkPacket, flow: Layer): [bigint, bigint] | undefined {
  const delta = subtree(flow, 'cflow.timedelta_tree');
  if (delta === undefined) return undefined;
  const absStart = field(delta, 'cflow.abstimestart');
  const absEnd = field(delta, 'cflow.abstimeend');
  if (absStart !== undefined && absEnd !== undefined) return [absoluteToNs(absStart), absoluteToNs(absEnd)];
  const start = field(delta, 'cflow.timestart');
  const end = field(delta, 'cflow.timeend');
  const uptime = field(packet.header, 'cflow.sysuptime');
  const stamp = subtree(packet.header, 'cflow.timestamp_tree');
  const secs = stamp === undefined ? undefined : field(stamp, 'cflow.unix_secs');
  if (start === undefined || end === undefined || uptime === undefined || secs === undefined)
    return undefined;
  const nsecs = stamp === undefined ? undefined : field(stamp, 'cflow.unix_nsecs');
  // The export time minus the age of the flow on the sysUpTime clock.
  const exportNs = BigInt(secs) * 1_000_000_000n + BigInt(nsecs ?? '0');
  const at = (relative: string) => exportNs - (secondsToMs(uptime) - secondsToMs(relative)) * 1_000_000n;
  return [at(start), at(end)];
}

/** Our record in the terms tshark shows a flow in. */
function ours(record: FlowRecord, flow: Layer): Record<string, string | undefined> {
  const v6 = record.ipVersion === IpVersion.V6;
  const shown: Record<string, string | undefined> = {
    src: formatIpAddress(record.srcAddress),
    dst: formatIpAddress(record.dstAddress),
    srcport: String(record.srcPort),
    dstport: String(record.dstPort),
    protocol: String(record.protocol),
    octets: String(record.rawBytes),
    packets: String(record.rawPackets),
    inputint: String(record.inInterface),
    outputint: String(record.outInterface),
  };
  if (field(flow, 'cflow.vlanid') !== undefined || field(flow, 'cflow.dot1q_vlan_id') !== undefined) {
    shown.vlan = String(record.srcVlanId);
  }
  if (field(flow, 'cflow.srcas') !== undefined) shown.srcas = String(record.srcAs);
  if (field(flow, 'cflow.dstas') !== undefined) shown.dstas = String(record.dstAs);
  if (field(flow, v6 ? 'cflow.srcmaskv6' : 'cflow.srcmask') !== undefined)
    shown.srcmask = String(record.srcPrefixLength);
  if (field(flow, v6 ? 'cflow.dstmaskv6' : 'cflow.dstmask') !== undefined)
    shown.dstmask = String(record.dstPrefixLength);
  if (field(flow, 'cflow.tcpflags') !== undefined) shown.tcpflags = String(record.tcpFlags);
  return shown;
}

function preferred(flow: Layer, first: string, second: string): string | undefined {
  const a = field(flow, first);
  const b = field(flow, second);
  if (a !== undefined && (a !== '0' || b === undefined)) return a;
  return b;
}

function theirs(flow: Layer, v6: boolean): Record<string, string | undefined> {
  const shown: Record<string, string | undefined> = {
    src: field(flow, v6 ? 'cflow.srcaddrv6' : 'cflow.srcaddr'),
    dst: field(flow, v6 ? 'cflow.dstaddrv6' : 'cflow.dstaddr'),
    srcport: field(flow, 'cflow.srcport'),
    dstport: field(flow, 'cflow.dstport'),
    protocol: field(flow, 'cflow.protocol'),
    octets: field(flow, 'cflow.octets'),
    packets: field(flow, 'cflow.packets'),
    // ingressInterface unless it is absent or 0, then ingressPhysicalInterface (our documented precedence).
    inputint: preferred(flow, 'cflow.inputint', 'cflow.ingress_physical_interface'),
    outputint: preferred(flow, 'cflow.outputint', 'cflow.egress_physical_interface'),
  };
  const vlan = preferred(flow, 'cflow.vlanid', 'cflow.dot1q_vlan_id');
  if (vlan !== undefined) shown.vlan = vlan;
  const optional = (name: string, key: string) => {
    const value = field(flow, key);
    if (value !== undefined) shown[name] = value;
  };
  optional('srcas', 'cflow.srcas');
  optional('dstas', 'cflow.dstas');
  optional('srcmask', v6 ? 'cflow.srcmaskv6' : 'cflow.srcmask');
  optional('dstmask', v6 ? 'cflow.dstmaskv6' : 'cflow.dstmask');
  const flags = field(flow, 'cflow.tcpflags');
  if (flags !== undefined) shown.tcpflags = String(Number.parseInt(flags, 16));
  return shown;
}

const ORACLE_CAPTURES: Array<{ file: string; kind: string; records: number }> = [
  { file: '110-IPFIXv10-NFv9-multiple-sources__traffic-01.pcap', kind: 'NetFlow v9', records: 51 },
  {
    file: '110-IPFIXv10-NFv9-multiple-sources__traffic-02.pcap',
    kind: 'NetFlow v9, two source ids',
    records: 35,
  },
  { file: '100-IPFIXv10-CISCO__traffic-00.pcap', kind: 'IPFIX, IPv4 and IPv6', records: 12 },
  { file: '111-IPFIXv10-NFv9-IPv6-IPv4-mix_sources__traffic-01.pcap', kind: 'IPFIX, IPv6', records: 13 },
  { file: 'netflow-physicalinterfaces.pcap', kind: 'IPFIX with options data', records: 8 },
  { file: 'netflow-nfv5.pcap', kind: 'NetFlow v5', records: 29 },
];

describe.skipIf(skipReason !== '')(
  `tshark agrees with our decoding${skipReason ? ` (${skipReason})` : ''}`,
  () => {
    it.each(ORACLE_CAPTURES)('$kind: $file', async ({ file, records: expectedCount }) => {
      const packets = await readExportPackets(file);
      const decoder = createNetflowDecoder();
      const decoded = packets.map((p) => decoder.decode(p.payload, p.exporter, p.receivedNs));
      const oracle = tsharkPackets(file, packets[0]!.collectorPort);
      expect(oracle).toHaveLength(packets.length);
      expect(decoder.stats().totals.decodeErrors).toEqual({});

      let compared = 0;
      let timesCompared = 0;
      for (const [index, packet] of oracle.entries()) {
        const mine = decoded[index]!;
        // Every data set here follows its template, so records line up packet by packet.
        expect(mine.length, `records in packet ${index + 1}`).toBe(packet.flows.length);
        for (const [position, flow] of packet.flows.entries()) {
          const record = mine[position]!;
          const where = `packet ${index + 1}, record ${position + 1}`;
          expect(ours(record, flow), where).toEqual(theirs(flow, record.ipVersion === IpVersion.V6));
          const times = tsharkTimes(packet, flow);
          if (times !== undefined) {
            expect([record.timeFlowStartNs, record.timeFlowEndNs], where).toEqual(times);
            timesCompared++;
          }
          compared++;
        }
      }
      expect(compared).toBe(expectedCount);
      // IPFIX exporters that send sysUpTime-relative times without their boot time (111) are the only ones
      // whose times tshark cannot place either; every other capture compares them all.
      if (!file.startsWith('111-')) expect(timesCompared).toBe(expectedCount);
    });
  },
);
