/**
 * The sFlow decoder on the real public captures (`<captures>/flows/sflow-*.pcap`, see SOURCES.md beside
 * them): every datagram decodes without a decode error; tshark, when installed, is the oracle for every
 * flow sample; records checked by hand against `tshark -V` keep the suite asserting without it.
 */

import { execFileSync } from 'node:child_process';
import type { FlowRecord } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { FlowDirection } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { formatIpAddress, parseIpAddress } from '@kansoku/contracts/ip-address';
import { capturesRoot, tsharkAvailable } from '@kansoku/kit/testing/captures';
import { describe, expect, it } from 'vitest';
import {
  type CapturedDatagram,
  readSflowCapture,
  sflowCaptureFiles,
} from '../../../src/decoders/sflow/captures.ts';
import {
  createSflowDecoder,
  parseSflowDatagram,
  type SflowDecoder,
} from '../../../src/decoders/sflow/index.ts';

const root = capturesRoot();
const files = sflowCaptureFiles(root);
const present = files.length > 0;
const skipReason = `no sflow-*.pcap in ${root}/flows (set KANSOKU_CAPTURES): sFlow capture tests skipped`;
if (!present) console.warn(skipReason);

const tshark = present && tsharkAvailable();
if (present && !tshark) console.warn('tshark is not installed: the sFlow tshark comparison is skipped');

/** The fields of a record the tests compare, with addresses as text. */
interface RecordView {
  exporter: string;
  domain: number;
  sequence: number;
  in: number;
  out: number;
  direction: FlowDirection;
  src: string;
  dst: string;
  protocol: number;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  rate: number;
  rawBytes: number;
  bytes: number;
  packets: number;
  srcVlan: number;
  dstVlan: number;
  nextHop: string;
  srcMask: number;
  dstMask: number;
  srcAs: number;
  dstAs: number;
  application: string;
}

function view(record: FlowRecord): RecordView {
  return {
    exporter: formatIpAddress(record.exporterAddress),
    domain: record.observationDomainId,
    sequence: record.exportSequenceNumber,
    in: record.inInterface,
    out: record.outInterface,
    direction: record.direction,
    src: formatIpAddress(record.srcAddress),
    dst: formatIpAddress(record.dstAddress),
    protocol: record.protocol,
    srcPort: record.srcPort,
    dstPort: record.dstPort,
    tcpFlags: record.tcpFlags,
    rate: record.samplingRate,
    rawBytes: Number(record.rawBytes),
    bytes: Number(record.bytes),
    packets: Number(record.packets),
    srcVlan: record.srcVlanId,
    dstVlan: record.dstVlanId,
    nextHop: formatIpAddress(record.nextHopAddress),
    srcMask: record.srcPrefixLength,
    dstMask: record.dstPrefixLength,
    srcAs: record.srcAs,
    dstAs: record.dstAs,
    application: record.applicationName,
  };
}

const capturesCache = new Map<string, Promise<CapturedDatagram[]>>();
function capture(file: string): Promise<CapturedDatagram[]> {
  let datagrams = capturesCache.get(file);
  if (datagrams === undefined) {
    datagrams = readSflowCapture(file, root);
    capturesCache.set(file, datagrams);
  }
  return datagrams;
}

async function decodeFile(file: string): Promise<{ decoder: SflowDecoder; records: FlowRecord[][] }> {
  const decoder = createSflowDecoder();
  const records: FlowRecord[][] = [];
  for (const captured of await capture(file)) {
    records.push(decoder.decode(captured.datagram, captured.source, captured.timestampNs).records);
  }
  return { decoder, records };
}

// Checked by hand against `tshark -V` of each file (sFlow tree and the dissected sampled header).
const ONE_1140 = {
  exporter: '172.16.0.3',
  domain: 0,
  sequence: 812646826,
  rate: 1024,
  packets: 1024,
};
const SSH_V6 = {
  src: '2a0c:8880:2:0:185:21:130:38',
  dst: '2a0c:8880:2:0:185:21:130:39',
  protocol: 6,
  srcPort: 46026,
  dstPort: 22,
  tcpFlags: 0x10,
  rawBytes: 1514, // frame_length 1518 − 4 stripped (FCS)
  bytes: 1514 * 1024,
  application: 'SSH',
};
const HAND_CHECKED: Record<string, Partial<RecordView>[][]> = {
  'sflow-data-1140.pcap': [
    [
      {
        ...ONE_1140,
        ...SSH_V6,
        in: 27,
        out: 28,
        direction: FlowDirection.EGRESS,
        srcVlan: 100,
        dstVlan: 100,
      },
      {
        ...ONE_1140,
        in: 49001,
        out: 25,
        src: '104.26.8.24',
        dst: '45.90.161.46',
        protocol: 6,
        srcPort: 443,
        dstPort: 56876,
        tcpFlags: 0x18,
        rawBytes: 435,
        // Incoming VLAN 4294967295 is "unknown"; the sampled frame is untagged.
        srcVlan: 0,
        dstVlan: 100,
        nextHop: '45.90.161.46', // the router's next hop, not the gateway's 0.0.0.0
        srcMask: 20,
        dstMask: 27,
        srcAs: 13335,
        dstAs: 0, // empty destination AS path
        application: 'HTTPS',
      },
      { ...ONE_1140, ...SSH_V6, in: 27, out: 28, direction: FlowDirection.INGRESS },
      {
        ...ONE_1140,
        in: 28,
        out: 49001,
        src: '45.90.161.148',
        dst: '191.87.91.27',
        protocol: 6,
        srcPort: 55658,
        dstPort: 5555,
        tcpFlags: 0x02,
        rawBytes: 60,
        srcVlan: 100,
        dstVlan: 0,
        nextHop: '31.14.69.110',
        srcMask: 27,
        dstMask: 17,
        srcAs: 0,
        dstAs: 26615, // last of the AS sequence 203698 6762 26615
      },
      { ...ONE_1140, ...SSH_V6, in: 27, out: 28 },
    ],
  ],
  'sflow-data-discard-interface.pcap': [[{ ...ONE_1140, ...SSH_V6, in: 27, out: 0 }]],
  'sflow-data-local-interface.pcap': [[{ ...ONE_1140, ...SSH_V6, in: 27, out: 0 }]],
  'sflow-data-multiple-interfaces.pcap': [[{ ...ONE_1140, ...SSH_V6, in: 27, out: 0 }]],
  // VXLAN: the outer headers are reported (the packet as it crossed the sampled interface), not the inner
  // IPv6/ICMPv6 packet, as NetFlow exporters report tunnels.
  'sflow-data-encap-vxlan.pcap': [
    [
      {
        exporter: '127.0.0.1',
        domain: 1402,
        sequence: 36,
        in: 0,
        out: 0,
        src: '192.168.108.40',
        dst: '192.168.15.14',
        protocol: 17,
        srcPort: 45833,
        dstPort: 4789,
        rate: 1,
        rawBytes: 168,
        bytes: 168,
        packets: 1,
      },
    ],
  ],
  'sflow-data-icmpv4.pcap': [
    [
      {
        exporter: '127.0.0.1',
        domain: 1402,
        in: 0,
        out: 0,
        src: '203.0.113.4',
        dst: '203.0.113.5',
        protocol: 1,
        srcPort: 0,
        dstPort: 8 << 8, // echo request: type 8, code 0
        rawBytes: 98,
        bytes: 98,
        packets: 1,
        application: 'ICMP',
      },
    ],
  ],
  'sflow-data-icmpv6.pcap': [
    [
      {
        src: 'fe80::d05b:45ff:feee:5ecf',
        dst: '2001:db8::',
        protocol: 58,
        in: 0,
        out: 0,
        dstPort: 135 << 8, // neighbour solicitation
        rawBytes: 86,
        rate: 1,
        application: 'ICMPv6',
      },
    ],
  ],
  'sflow-data-qinq.pcap': [
    [
      {
        exporter: '172.17.128.58',
        domain: 100,
        sequence: 184089,
        in: 369098852,
        out: 369098851,
        direction: FlowDirection.INGRESS,
        rate: 4096,
        src: '49.49.49.2',
        dst: '49.49.49.109',
        protocol: 6,
        srcPort: 32017,
        dstPort: 443,
        rawBytes: 102,
        bytes: 102 * 4096,
        srcVlan: 1062, // outer of the tags 1062, 1493
        application: 'HTTPS',
      },
    ],
  ],
  'sflow-data-sflow-expanded-sample.pcap': [
    [
      {
        exporter: '49.49.49.49',
        in: 29001,
        out: 1285816721,
        direction: FlowDirection.UNSPECIFIED,
        rate: 1000,
        src: '52.52.52.52',
        dst: '53.53.53.53',
        protocol: 6,
        srcPort: 22,
        dstPort: 52237,
        rawBytes: 122,
        srcVlan: 809,
        nextHop: '54.54.54.54',
        srcMask: 32,
        dstMask: 22,
        srcAs: 203476,
        dstAs: 203361,
      },
    ],
  ],
  'sflow-data-sflow-ipv4-data.pcap': [
    [
      {
        domain: 1,
        in: 0,
        out: 182,
        direction: FlowDirection.EGRESS,
        rate: 256,
        src: '50.50.50.50',
        dst: '51.51.51.51',
        protocol: 17,
        srcPort: 46622,
        dstPort: 58631,
        // frame_length 1390 with "1262 stripped", the 1262 bytes not copied into the 128-byte header.
        rawBytes: 1390,
        dstVlan: 3001,
      },
    ],
  ],
  'sflow-data-sflow-raw-ipv4.pcap': [
    [
      {
        domain: 100000,
        in: 0,
        out: 2,
        src: '69.58.92.107',
        dst: '92.222.186.1',
        protocol: 1,
        dstPort: 0,
        rawBytes: 32,
      },
      {
        domain: 100000,
        in: 0,
        out: 2,
        src: '69.58.92.107',
        dst: '92.222.184.1',
        protocol: 1,
        dstPort: 0,
        rawBytes: 32,
      },
    ],
  ],
};

// tshark as the oracle ----------------------------------------------------------------------------------

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** tshark merges repeated keys into arrays (--no-duplicate-keys): the values of a key, as a list. */
function all(value: Json | undefined): Json[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function firstObject(value: Json | undefined): JsonObject | undefined {
  return all(value).find(isObject);
}

function num(value: Json | undefined): number {
  const first = all(value)[0];
  if (typeof first !== 'string') throw new Error(`expected a tshark field, got ${JSON.stringify(value)}`);
  return Number(first);
}

function text(value: Json | undefined): string {
  const first = all(value)[0];
  return typeof first === 'string' ? first : '';
}

interface OracleInterface {
  format: number;
  value: number;
}

interface OracleSample {
  sequence: number;
  sourceIndex: number;
  rate: number;
  input: OracleInterface;
  output: OracleInterface;
  header?: {
    protocol: number;
    frameLength: number;
    stripped: number;
    headerLength: number;
    src: string;
    dst: string;
    ipProtocol: number;
    srcPort: number;
    dstPort: number;
    vlanIds: number[];
    ipTotalLength: number;
  };
  switch?: { in: number; out: number };
  router?: { nextHop: string; srcMask: number; dstMask: number };
  gateway?: { nextHop: string; srcAs: number; dstAsLast: number };
}

interface OracleDatagram {
  agent: string;
  subAgent: number;
  sequence: number;
  samples: OracleSample[];
}

function tsharkDatagrams(file: string): OracleDatagram[] {
  const output = execFileSync(
    'tshark',
    ['-r', `${root}/flows/${file}`, '-d', 'udp.port==6343,sflow', '-T', 'json', '--no-duplicate-keys'],
    { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024 },
  ).toString();
  const frames = JSON.parse(output) as Json[];
  return frames.map((frame) => {
    const layers = firstObject(firstObject(isObject(frame) ? frame._source : undefined)?.layers);
    const sflow = firstObject(layers?.sflow);
    if (sflow === undefined) throw new Error(`tshark found no sFlow in a frame of ${file}`);
    const samples: OracleSample[] = [];
    for (const value of Object.values(sflow)) {
      for (const entry of all(value)) {
        if (!isObject(entry) || entry['sflow_245.sampletype'] === undefined) continue;
        const type = num(entry['sflow_245.sampletype']);
        if (type === 1 || type === 3) samples.push(oracleSample(entry, type === 3));
      }
    }
    return {
      agent: text(sflow['sflow_245.agent']) || text(sflow['sflow_245.agent.v6']),
      subAgent: num(sflow['sflow_245.sub_agent_id']),
      sequence: num(sflow['sflow_245.sequence_number']),
      samples,
    };
  });
}

function oracleSample(sample: JsonObject, expanded: boolean): OracleSample {
  const f = (name: string) => sample[`sflow.flow_sample.${name}`];
  let input: OracleInterface;
  let output: OracleInterface;
  if (expanded) {
    input = { format: num(f('input_interface_format')), value: num(f('input_interface_value')) };
    output = { format: num(f('output_interface.format')), value: num(f('output_interface_value')) };
  } else {
    const inputWord = num(f('input_interface'));
    input = { format: inputWord >>> 30, value: inputWord & 0x3fffffff };
    const tree = firstObject(f('output_interface_tree'));
    output = {
      format: num(tree?.['sflow.flow_sample.output_interface_format']),
      value: num(tree?.['sflow.flow_sample.output_interface_value']),
    };
  }
  const oracle: OracleSample = {
    sequence: num(f('sequence_number')),
    sourceIndex: num(expanded ? f('source_id_index') : f('index')),
    rate: num(f('sampling_rate')),
    input,
    output,
  };
  const raw = firstObject(sample['Raw packet header']);
  if (raw !== undefined) {
    const tree = firstObject(raw['sflow_245.header_tree']) ?? {};
    const ip = firstObject(tree.ip);
    const ipv6 = firstObject(tree.ipv6);
    const tcp = firstObject(tree.tcp);
    const udp = firstObject(tree.udp);
    const icmp = firstObject(tree.icmp) ?? firstObject(tree.icmpv6);
    const ports = tcp ?? udp;
    const prefix = tcp !== undefined ? 'tcp' : 'udp';
    const icmpPrefix = tree.icmp !== undefined ? 'icmp' : 'icmpv6';
    oracle.header = {
      protocol: num(raw['sflow_245.header_protocol']),
      frameLength: num(raw['sflow_245.header.frame_length']),
      stripped: num(raw['sflow_245.header.payload_stripped']),
      headerLength: num(raw['sflow_245.header.sampled_header_length']),
      src: ip !== undefined ? text(ip['ip.src']) : text(ipv6?.['ipv6.src']),
      dst: ip !== undefined ? text(ip['ip.dst']) : text(ipv6?.['ipv6.dst']),
      ipProtocol:
        tcp !== undefined
          ? 6
          : udp !== undefined
            ? 17
            : ip !== undefined
              ? num(ip['ip.proto'])
              : num(ipv6?.['ipv6.nxt']),
      srcPort: ports !== undefined ? num(ports[`${prefix}.srcport`]) : 0,
      dstPort:
        ports !== undefined
          ? num(ports[`${prefix}.dstport`])
          : icmp !== undefined
            ? (num(icmp[`${icmpPrefix}.type`]) << 8) | num(icmp[`${icmpPrefix}.code`])
            : 0,
      vlanIds: all(tree.vlan)
        .filter(isObject)
        .map((tag) => num(tag['vlan.id'])),
      ipTotalLength: ip !== undefined ? num(ip['ip.len']) : num(ipv6?.['ipv6.plen']) + 40,
    };
  }
  const vlans = firstObject(sample['Extended switch data']);
  if (vlans !== undefined)
    oracle.switch = { in: num(vlans['sflow_245.vlan.in']), out: num(vlans['sflow_245.vlan.out']) };
  const router = firstObject(sample['Extended router data']);
  if (router !== undefined) {
    oracle.router = {
      nextHop: text(router['sflow_245.nexthop']) || text(router['sflow_245.nexthop.v6']),
      srcMask: num(router['sflow_245.nexthop.src_mask']),
      dstMask: num(router['sflow_245.nexthop.dst_mask']),
    };
  }
  const gateway = firstObject(sample['Extended gateway data']);
  if (gateway !== undefined) {
    const path = all(gateway['sflow.as_type_tree'])
      .filter(isObject)
      .flatMap((segment) => all(segment['sflow_245.dstAS']));
    const last = path[path.length - 1];
    oracle.gateway = {
      nextHop: text(gateway['sflow_245.nexthop']) || text(gateway['sflow_245.nexthop.v6']),
      srcAs: num(gateway['sflow_245.srcAS']),
      dstAsLast: typeof last === 'string' ? Number(last) : 0,
    };
  }
  return oracle;
}

/** What the decoder's documented mapping makes of tshark's view of a sample. */
function expectedFromOracle(datagram: OracleDatagram, sample: OracleSample): Partial<RecordView> {
  const ifIndex = (iface: OracleInterface) =>
    iface.format !== 0 || iface.value === 0x3fffffff ? 0 : iface.value;
  const canonical = (address: string) => (address === '' ? '' : formatIpAddress(parseIpAddress(address)));
  const expected: Partial<RecordView> = {
    exporter: datagram.agent,
    domain: datagram.subAgent,
    sequence: datagram.sequence,
    rate: sample.rate,
    packets: sample.rate,
    in: ifIndex(sample.input),
    out: ifIndex(sample.output),
  };
  const header = sample.header;
  if (header !== undefined) {
    const linkHeader = header.protocol === 1 ? 14 + 4 * header.vlanIds.length : 0;
    const cut = header.ipTotalLength > header.headerLength - linkHeader;
    const strippedIsUncopiedPayload = cut && header.frameLength - header.stripped === header.headerLength;
    const rawBytes =
      header.stripped === 0 || header.stripped > header.frameLength || strippedIsUncopiedPayload
        ? header.frameLength
        : header.frameLength - header.stripped;
    Object.assign(expected, {
      src: canonical(header.src),
      dst: canonical(header.dst),
      protocol: header.ipProtocol,
      srcPort: header.srcPort,
      dstPort: header.dstPort,
      rawBytes,
      bytes: rawBytes * sample.rate,
    });
  }
  const validVlan = (id: number) => id >= 1 && id <= 4095;
  const switchIn = sample.switch !== undefined && validVlan(sample.switch.in) ? sample.switch.in : 0;
  expected.srcVlan = switchIn !== 0 ? switchIn : (header?.vlanIds[0] ?? 0);
  expected.dstVlan = sample.switch !== undefined && validVlan(sample.switch.out) ? sample.switch.out : 0;
  const routerHop = sample.router?.nextHop ?? '';
  const gatewayHop = sample.gateway?.nextHop ?? '';
  const usable = (address: string) => address !== '' && address !== '0.0.0.0' && address !== '::';
  expected.nextHop = usable(routerHop)
    ? canonical(routerHop)
    : usable(gatewayHop)
      ? canonical(gatewayHop)
      : '';
  expected.srcMask = sample.router?.srcMask ?? 0;
  expected.dstMask = sample.router?.dstMask ?? 0;
  expected.srcAs = sample.gateway?.srcAs ?? 0;
  expected.dstAs = sample.gateway?.dstAsLast ?? 0;
  return expected;
}

describe.skipIf(!present)(`sFlow captures in ${root}/flows${present ? '' : ` (${skipReason})`}`, () => {
  it('finds the sFlow captures', () => {
    expect(files.length).toBeGreaterThanOrEqual(11);
  });

  for (const file of files) {
    it(`decodes every datagram of ${file} without a decode error, one record per flow sample`, async () => {
      const { decoder, records } = await decodeFile(file);
      const datagrams = await capture(file);
      expect(datagrams.length).toBeGreaterThan(0);
      const stats = decoder.stats().totals;
      expect(stats.decodeErrors).toEqual({});
      expect(stats.headerErrors).toEqual({});
      expect(stats.datagrams).toBe(datagrams.length);
      datagrams.forEach((captured, i) => {
        const parsed = parseSflowDatagram(captured.datagram);
        expect(records[i]).toHaveLength(parsed.flowSamples.length);
      });
      expect(stats.records).toBeGreaterThan(0);
    });
  }

  for (const [file, expected] of Object.entries(HAND_CHECKED)) {
    it.skipIf(!files.includes(file))(`matches the hand-checked records of ${file}`, async () => {
      const { records } = await decodeFile(file);
      expect(records.map((datagram) => datagram.map(view))).toMatchObject(expected);
    });
  }

  describe.skipIf(!tshark)(
    `agrees with tshark, sample by sample${tshark ? '' : ' (tshark not installed)'}`,
    () => {
      for (const file of files) {
        it(`${file}`, { timeout: 60_000 }, async () => {
          const oracle = tsharkDatagrams(file);
          const datagrams = await capture(file);
          const { records } = await decodeFile(file);
          expect(oracle).toHaveLength(datagrams.length);
          let compared = 0;
          datagrams.forEach((captured, i) => {
            const parsed = parseSflowDatagram(captured.datagram);
            const truth = oracle[i]!;
            expect(truth.samples).toHaveLength(parsed.flowSamples.length);
            parsed.flowSamples.forEach((sample, j) => {
              // Records follow the samples' order; tshark's are matched by sequence number and data source.
              const match = truth.samples.filter(
                (t) => t.sequence === sample.sequenceNumber && t.sourceIndex === sample.sourceIdIndex,
              );
              expect(match, `sample ${sample.sequenceNumber} of frame ${captured.frame}`).toHaveLength(1);
              const record = records[i]![j]!;
              expect(view(record), `${file} frame ${captured.frame} sample ${j}`).toMatchObject(
                expectedFromOracle(truth, match[0]!),
              );
              compared += 1;
            });
          });
          expect(compared).toBeGreaterThan(0);
        });
      }
    },
  );
});
