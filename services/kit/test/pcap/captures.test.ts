/**
 * The pcap reader and packet decoder on the real public captures (see SOURCES.md beside them), with tshark
 * as the oracle when it is installed, and counts checked by hand (tshark and capinfos agree on them) when
 * it is not.
 */

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type DecodedPacket,
  decodePacket,
  type PcapPacket,
  readPcapFile,
  tryDecodePacket,
} from '../../src/pcap/index.ts';
import { captureFiles, capturesPresent, capturesRoot, tsharkAvailable } from '../../src/testing/captures.ts';

const root = capturesRoot();
const present = capturesPresent();
const skipReason = `captures folder ${root} is absent (set KANSOKU_CAPTURES): real-capture tests skipped`;
if (!present) console.warn(skipReason);

const tshark = tsharkAvailable();

/** Packet counts per file, from `capinfos -c` and `tshark -T fields -e frame.number | wc -l` (they agree). */
const KNOWN_COUNTS: Record<string, number> = {
  'flows/100-IPFIXv10-CISCO__traffic-00.pcap': 6,
  'flows/104-IPFIXv10-IPv6-CISCO-sampling_option__traffic-00.pcap': 5,
  'flows/106-IPFIXv10-HUAWEI-vrf_name__traffic-00.pcap': 6,
  'flows/110-IPFIXv10-NFv9-multiple-sources__traffic-00.pcap': 6,
  'flows/110-IPFIXv10-NFv9-multiple-sources__traffic-01.pcap': 40,
  'flows/110-IPFIXv10-NFv9-multiple-sources__traffic-02.pcap': 25,
  'flows/111-IPFIXv10-NFv9-IPv6-IPv4-mix_sources__traffic-00.pcap': 11,
  'flows/111-IPFIXv10-NFv9-IPv6-IPv4-mix_sources__traffic-01.pcap': 11,
  'flows/112-IPFIXv10-CISCO-options-map-reassignment__traffic-00.pcap': 21,
  'flows/decap-gre-v4-key.pcap': 2,
  'flows/decap-gre-v4-plain.pcap': 1,
  'flows/decap-gre-v6-plain.pcap': 1,
  'flows/decap-ipv4-ipv4.pcap': 1,
  'flows/decap-ipv4-ipv6.pcap': 1,
  'flows/decap-mpls-eompls-cw.pcap': 1,
  'flows/decap-mpls-eompls-invalid-cw.pcap': 1,
  'flows/decap-mpls-explicit-null-ipv4.pcap': 1,
  'flows/decap-mpls-explicit-null-ipv6.pcap': 1,
  'flows/decap-mpls-invalid-nibble.pcap': 1,
  'flows/decap-mpls-ipv4.pcap': 1,
  'flows/decap-mpls-ipv6.pcap': 1,
  'flows/decap-srv6-end-dt6.pcap': 1,
  'flows/decap-vlan-ipv6.pcap': 1,
  'flows/netflow-data+templates.pcap': 1,
  'flows/netflow-data.pcap': 1,
  'flows/netflow-datalink-data.pcap': 1,
  'flows/netflow-datalink-template.pcap': 1,
  'flows/netflow-ethernet-over-mpls-with-control-word-data.pcap': 1,
  'flows/netflow-ethernet-over-mpls-with-control-word-template.pcap': 1,
  'flows/netflow-icmp-data.pcap': 1,
  'flows/netflow-icmp-template.pcap': 1,
  'flows/netflow-ipfix-srv6-data.pcap': 1,
  'flows/netflow-ipfix-srv6-template.pcap': 1,
  'flows/netflow-ipfixprobe-data.pcap': 1,
  'flows/netflow-ipfixprobe-templates.pcap': 1,
  'flows/netflow-juniper-cpid-data.pcap': 1,
  'flows/netflow-juniper-cpid-template.pcap': 1,
  'flows/netflow-mpls.pcap': 1,
  'flows/netflow-multiplesamplingrates-data.pcap': 1,
  'flows/netflow-multiplesamplingrates-options-data.pcap': 1,
  'flows/netflow-multiplesamplingrates-options-template.pcap': 1,
  'flows/netflow-multiplesamplingrates-template.pcap': 1,
  'flows/netflow-nat.pcap': 1,
  'flows/netflow-nfv5.pcap': 1,
  'flows/netflow-options-data.pcap': 1,
  'flows/netflow-options-template.pcap': 1,
  'flows/netflow-physicalinterfaces.pcap': 1,
  'flows/netflow-samplingrate-data.pcap': 1,
  'flows/netflow-samplingrate-template.pcap': 1,
  'flows/netflow-template.pcap': 1,
  'flows/sflow-data-1140.pcap': 1,
  'flows/sflow-data-discard-interface.pcap': 1,
  'flows/sflow-data-encap-vxlan.pcap': 1,
  'flows/sflow-data-icmpv4.pcap': 1,
  'flows/sflow-data-icmpv6.pcap': 1,
  'flows/sflow-data-local-interface.pcap': 1,
  'flows/sflow-data-multiple-interfaces.pcap': 1,
  'flows/sflow-data-qinq.pcap': 1,
  'flows/sflow-data-sflow-expanded-sample.pcap': 1,
  'flows/sflow-data-sflow-ipv4-data.pcap': 1,
  'flows/sflow-data-sflow-raw-ipv4.pcap': 1,
  'dns/dnsdump_ip4_fragmented+udp.pcap': 3,
  'dns/dnsdump_ip6_fragmented+udp.pcap': 3,
  'dns/dnsdump_tcp.pcap': 50,
  'dns/dnsdump_udp+tcp.pcap': 12,
  'dns/dnsdump_udp.pcap': 33,
  'rtp/rist__rist_stream.pcap': 2001,
  'rtp/st2110__2022-7__ST2022-7-Audio.pcap': 32000,
  'rtp/st2110__2110-22__125mbps-JPEGXS.pcap': 1085,
  'rtp/st2110__2110-30__l16_48000_2ch_1ms.pcap': 10062,
  'rtp/st2110__2110-40__2110-40_5994i.pcap': 90,
};

function allCaptureFiles(): string[] {
  return ['flows', 'dns', 'rtp']
    .flatMap((folder) =>
      captureFiles(folder, /\.pcap(ng)?$/, { recursive: true }).map((entry) => join(folder, entry)),
    )
    .sort();
}

async function readAll(path: string): Promise<PcapPacket[]> {
  const packets: PcapPacket[] = [];
  for await (const packet of readPcapFile(path)) packets.push(packet);
  return packets;
}

const TSHARK_FIELDS = [
  'frame.number',
  'frame.time_epoch',
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'udp.srcport',
  'udp.dstport',
  'tcp.srcport',
  'tcp.dstport',
] as const;
type TsharkRow = Record<(typeof TSHARK_FIELDS)[number], string>;

/** One row per frame; `occurrence=f`: the outermost header's value when tunnels repeat a field. */
function tsharkRows(path: string): TsharkRow[] {
  const output = execFileSync(
    'tshark',
    ['-r', path, '-T', 'fields', '-E', 'occurrence=f', ...TSHARK_FIELDS.flatMap((f) => ['-e', f])],
    { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024 },
  ).toString();
  if (output === '') return [];
  return output
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => {
      const values = line.split('\t');
      return Object.fromEntries(TSHARK_FIELDS.map((field, i) => [field, values[i] ?? ''])) as TsharkRow;
    });
}

function epoch(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

function decodeAt(packets: PcapPacket[], index: number): DecodedPacket {
  const packet = packets[index];
  if (packet === undefined) throw new Error(`no packet ${index}`);
  return decodePacket(packet.linkType, packet.data);
}

describe.skipIf(!present)(`real captures in ${root}${present ? '' : ` (${skipReason})`}`, () => {
  const files = allCaptureFiles();

  it('finds the captures of flows, dns and rtp', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    it(`reads every packet of ${file}`, { timeout: 60_000 }, async () => {
      const path = join(root, file);
      const packets = await readAll(path);
      const rows = tshark ? tsharkRows(path) : undefined;
      const known = KNOWN_COUNTS[file];
      const expected = rows?.length ?? known;
      expect(
        expected,
        `no packet count known for ${file}: install tshark or add it to KNOWN_COUNTS`,
      ).toBeDefined();
      expect(packets).toHaveLength(expected!);
      if (known !== undefined) expect(packets).toHaveLength(known);
      for (const packet of packets) expect(packet.data.length).toBe(packet.capturedLength);
      if (rows === undefined) return;

      // Every packet decodes to what tshark sees (outermost IP header and its transport) or fails with a
      // code where tshark found no IP header either.
      packets.forEach((packet, i) => {
        const row = rows[i]!;
        const where = `${file} frame ${i + 1}`;
        expect(epoch(packet.timestampNs), where).toBe(row['frame.time_epoch']);
        const result = tryDecodePacket(packet.linkType, packet.data);
        if (!result.ok) {
          expect(
            row['ip.src'] + row['ipv6.src'],
            `${where}: ${result.error.code} ${result.error.message}`,
          ).toBe('');
          return;
        }
        const decoded = result.packet;
        const [src, dst] =
          decoded.ipVersion === 4 ? [row['ip.src'], row['ip.dst']] : [row['ipv6.src'], row['ipv6.dst']];
        expect([decoded.src, decoded.dst], where).toEqual([src, dst]);
        if (decoded.kind === 'udp') {
          expect([String(decoded.srcPort), String(decoded.dstPort)], where).toEqual([
            row['udp.srcport'],
            row['udp.dstport'],
          ]);
        }
        if (decoded.kind === 'tcp') {
          expect([String(decoded.srcPort), String(decoded.dstPort)], where).toEqual([
            row['tcp.srcport'],
            row['tcp.dstport'],
          ]);
        }
      });
    });
  }

  const has = (file: string) => existsSync(join(root, file));

  it.skipIf(!has('flows/netflow-nfv5.pcap'))(
    'decodes the NetFlow v5 export to its ports and payload',
    async () => {
      // tshark -d udp.port==9990,cflow: 10.19.144.41:40000 → 10.19.144.26:9990, UDP length 1424, v5, 29 records.
      const packets = await readAll(join(root, 'flows/netflow-nfv5.pcap'));
      const packet = decodeAt(packets, 0);
      expect(packet).toMatchObject({
        kind: 'udp',
        ipVersion: 4,
        src: '10.19.144.41',
        dst: '10.19.144.26',
        srcPort: 40000,
        dstPort: 9990,
        truncated: false,
      });
      expect(packet.payload.length).toBe(1416);
      expect(packet.payload.readUInt16BE(0)).toBe(5);
      expect(packet.payload.readUInt16BE(2)).toBe(29);
      expect(24 + 29 * 48).toBe(packet.payload.length);
      expect(packets[0]!.timestampNs).toBe(1_680_655_485_099_595_000n);
    },
  );

  it.skipIf(!has('flows/112-IPFIXv10-CISCO-options-map-reassignment__traffic-00.pcap'))(
    'decodes IPFIX over Linux cooked capture',
    async () => {
      const packets = await readAll(
        join(root, 'flows/112-IPFIXv10-CISCO-options-map-reassignment__traffic-00.pcap'),
      );
      expect(packets[0]!.linkType).toBe(113);
      const packet = decodeAt(packets, 0);
      expect(packet).toMatchObject({ kind: 'udp', srcPort: 61853, dstPort: 9991 });
      expect(packet.payload.readUInt16BE(0)).toBe(10); // IPFIX version
      expect(packet.payload.readUInt16BE(2)).toBe(packet.payload.length); // IPFIX message length
    },
  );

  it.skipIf(!has('dns/dnsdump_ip4_fragmented+udp.pcap'))(
    'reports the IPv4 fragments of a DNS answer',
    async () => {
      // tshark: frame 2 id 0xd0fe offset 0 MF, frame 3 offset 185 (×8 bytes), last.
      const packets = await readAll(join(root, 'dns/dnsdump_ip4_fragmented+udp.pcap'));
      expect(decodeAt(packets, 0)).toMatchObject({ kind: 'udp', srcPort: 56680, dstPort: 53 });
      expect(decodeAt(packets, 1)).toMatchObject({
        kind: 'fragment',
        protocol: 17,
        src: '193.24.227.238',
        fragment: { id: 0xd0fe, offset: 0, moreFragments: true },
      });
      expect(decodeAt(packets, 2)).toMatchObject({
        kind: 'fragment',
        fragment: { id: 0xd0fe, offset: 1480, moreFragments: false },
      });
    },
  );

  it.skipIf(!has('dns/dnsdump_ip6_fragmented+udp.pcap'))(
    'reports the IPv6 fragments of a DNS answer',
    async () => {
      const packets = await readAll(join(root, 'dns/dnsdump_ip6_fragmented+udp.pcap'));
      expect(decodeAt(packets, 1)).toMatchObject({
        kind: 'fragment',
        ipVersion: 6,
        protocol: 17,
        src: '2001:470:765b::a25:53',
        fragment: { id: 0x28403c0b, offset: 0, moreFragments: true },
      });
      expect(decodeAt(packets, 2)).toMatchObject({
        kind: 'fragment',
        fragment: { offset: 1448, moreFragments: false },
      });
    },
  );

  it.skipIf(!has('rtp/st2110__2110-40__2110-40_5994i.pcap'))('keeps nanosecond timestamps', async () => {
    const packets = await readAll(join(root, 'rtp/st2110__2110-40__2110-40_5994i.pcap'));
    expect(packets[0]!.timestampNs).toBe(1_518_791_594_882_444_675n);
    expect(packets[1]!.timestampNs).toBe(1_518_791_594_882_653_619n);
    expect(decodeAt(packets, 0)).toMatchObject({ kind: 'udp', src: '192.168.10.144', srcPort: 10000 });
  });
});
