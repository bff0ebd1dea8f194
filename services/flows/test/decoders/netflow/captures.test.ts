/**
 * Every NetFlow/IPFIX capture decodes without a decode error: the akvorado test captures (`netflow-*.pcap`;
 * a `-data` capture is fed after its `-template(s)` and options companions, as the names pair them) and the
 * pmacct ones (`*__traffic-*.pcap`). Values checked here were read off the same packets with tshark.
 */

import { create, fromBinary, toBinary, toJson } from '@bufbuild/protobuf';
import type { FlowRecord } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { FlowProtocol, FlowRecordSchema, IpVersion } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { describe, expect, it } from 'vitest';
import { createNetflowDecoder, type NetflowDecoderStats } from '../../../src/decoders/netflow/index.ts';
import {
  captureFiles,
  companionsOf,
  haveCaptures,
  missingCapturesMessage,
  readExportPackets,
} from './captures.ts';

if (!haveCaptures) console.warn(missingCapturesMessage);

const files = captureFiles(/^netflow-.*\.pcap$|__traffic-\d+\.pcap$/);

async function decodeCapture(file: string): Promise<{ records: FlowRecord[]; stats: NetflowDecoderStats }> {
  const decoder = createNetflowDecoder();
  const records: FlowRecord[] = [];
  for (const name of [...companionsOf(file), file]) {
    for (const packet of await readExportPackets(name)) {
      const decoded = decoder.decode(packet.payload, packet.exporter, packet.receivedNs);
      if (name === file) records.push(...decoded);
    }
  }
  return { records, stats: decoder.stats() };
}

const text = formatIpAddress;

/** What some captures must decode to, beyond "no error". */
const EXPECTED: Record<string, (records: FlowRecord[], stats: NetflowDecoderStats) => void> = {
  'netflow-nfv5.pcap': (records) => {
    expect(records).toHaveLength(29);
    const first = records[0]!;
    expect(first).toMatchObject({
      flowProtocol: FlowProtocol.NETFLOW_V5,
      observationDomainId: 3, // engine type 0, engine id 3
      srcPort: 30104,
      dstPort: 11963,
      protocol: 6,
      tcpFlags: 0x18,
      rawBytes: 133n,
      rawPackets: 1n,
      inInterface: 117,
      outInterface: 86,
      srcAs: 36351,
      dstAs: 10101,
      srcPrefixLength: 19,
      dstPrefixLength: 24,
    });
    expect([text(first.srcAddress), text(first.dstAddress), text(first.nextHopAddress)]).toEqual([
      '161.202.212.212',
      '202.152.70.24',
      '61.6.255.150',
    ]);
  },
  // Data set before its template in one packet: 11 records held, then decoded, then 10 more.
  'netflow-data+templates.pcap': (records, stats) => {
    expect(records).toHaveLength(21);
    expect(stats.exporters[0]).toMatchObject({ pendingSetsDecoded: 1, pendingSets: 0 });
  },
  // Two samplers in the options data (1 in 2000, 1 in 4000); each record names its own.
  'netflow-multiplesamplingrates-data.pcap': (records) => {
    expect(records).toHaveLength(12);
    expect(records.map((r) => r.samplingRate)).toEqual([4000, ...Array<number>(11).fill(2000)]);
    expect(records[0]).toMatchObject({
      ipVersion: IpVersion.V6,
      rawBytes: 1348n,
      bytes: 1348n * 4000n,
      rawPackets: 18n,
      packets: 72_000n,
      timeFlowStartNs: 1_701_360_969_980_000_000n,
      timeFlowEndNs: 1_701_360_974_891_000_000n,
      applicationName: 'HTTPS',
    });
  },
  // Sampling interval in every record (1 in 2048), VLAN 701.
  'netflow-samplingrate-data.pcap': (records) => {
    expect(records).toHaveLength(6);
    for (const record of records)
      expect(record).toMatchObject({ samplingRate: 2048, srcVlanId: 701, inInterface: 13 });
    expect(records[0]).toMatchObject({ rawBytes: 160n, bytes: 327_680n });
  },
  // Options data with packet interval 1 and space 999; physical interfaces, dot1q VLAN.
  'netflow-physicalinterfaces.pcap': (records) => {
    expect(records).toHaveLength(8);
    for (const record of records) {
      expect(record).toMatchObject({
        samplingRate: 1000,
        inInterface: 1_342_177_291,
        outInterface: 0,
        srcVlanId: 4,
      });
    }
    expect(records[0]).toMatchObject({
      dstPort: 993,
      applicationName: 'IMAPS',
      rawBytes: 4506n,
      bytes: 4_506_000n,
    });
  },
  // ICMP type/code as the exporter put it in the destination port: echo request (8/0) and reply (0/0).
  'netflow-icmp-data.pcap': (records) => {
    expect(records.map((r) => [r.protocol, r.dstPort, r.applicationName])).toEqual([
      [1, 0x0800, 'ICMP'],
      [1, 0, 'ICMP'],
    ]);
  },
  // Reverse-direction (RFC 5103) enterprise fields skipped and counted; microsecond times.
  'netflow-ipfixprobe-data.pcap': (records, stats) => {
    expect(records).toHaveLength(4);
    expect(stats.exporters[0]!.enterpriseFields).toEqual({ '29305': 12 });
    expect(records[0]).toMatchObject({
      timeFlowStartNs: 1_254_722_767_492_060_000n,
      dstPort: 53,
      applicationName: 'DNS',
      rawBytes: 62n,
    });
  },
  // Packet sampling without addresses in the template: taken from the sampled frame's headers.
  'netflow-datalink-data.pcap': (records) => {
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      protocol: 17,
      srcPort: 55501,
      dstPort: 11777,
      rawBytes: 114n,
      rawPackets: 1n,
    });
    expect(text(records[0]!.srcAddress)).toBe('51.51.51.51');
  },
  'netflow-options-data.pcap': (records, stats) => {
    expect(records).toEqual([]);
    expect(stats.exporters[0]!.optionsRecords).toBeGreaterThan(0);
  },
};

describe.skipIf(!haveCaptures)(
  `NetFlow and IPFIX captures${haveCaptures ? '' : ` (${missingCapturesMessage})`}`,
  () => {
    it('finds the captures', () => {
      expect(files.filter((f) => f.startsWith('netflow-')).length).toBeGreaterThanOrEqual(20);
      expect(files.filter((f) => f.includes('__traffic-')).length).toBeGreaterThanOrEqual(6);
    });

    it.each(files)('%s decodes without a decode error', async (file) => {
      const { records, stats } = await decodeCapture(file);
      expect(stats.totals.decodeErrors).toEqual({});
      // Template captures may carry data too (the ICMP one does); every data capture yields records.
      if (/-data\.pcap$/.test(file) && !/options-data\.pcap$/.test(file))
        expect(records.length).toBeGreaterThan(0);
      for (const record of records) {
        expect(record.bytes).toBe(record.rawBytes * BigInt(record.samplingRate));
        expect(record.packets).toBe(record.rawPackets * BigInt(record.samplingRate));
        // Records are built as plain literals for speed: they must survive the wire unchanged (JSON form
        // compares bytes fields whatever their array class).
        const wire = fromBinary(FlowRecordSchema, toBinary(FlowRecordSchema, record));
        expect(toJson(FlowRecordSchema, wire)).toEqual(
          toJson(FlowRecordSchema, create(FlowRecordSchema, record)),
        );
      }
      EXPECTED[file]?.(records, stats);
    });
  },
);
