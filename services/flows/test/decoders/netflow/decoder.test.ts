import { toBinary } from '@bufbuild/protobuf';
import {
  FlowDirection,
  FlowProtocol,
  type FlowRecord,
  FlowRecordSchema,
  IpVersion,
} from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { formatIpAddress, parseIpAddress } from '@kansoku/contracts/ip-address';
import { describe, expect, it } from 'vitest';
import {
  createNetflowDecoder,
  type NetflowDecoder,
  NetflowErrorCode,
  type NetflowExporterStats,
} from '../../../src/decoders/netflow/index.ts';
import {
  concat,
  type FieldSpec,
  ipfix,
  ipfixOptionsTemplate,
  ipv4,
  record,
  set,
  template,
  u16,
  v5,
  v9,
  v9OptionsTemplate,
  variable,
  withdrawal,
} from './packets.ts';

const exporter = { address: ipv4('192.0.2.1'), port: 4739 };
const T0 = 1_700_000_000_123_000_000n;
const SECOND = 1_000_000_000n;

function statsOf(decoder: NetflowDecoder, address = '192.0.2.1'): NetflowExporterStats {
  const found = decoder.stats().exporters.find((e) => e.exporter === address);
  if (found === undefined) throw new Error(`no stats for ${address}`);
  return found;
}

const text = (bytes: Uint8Array) => formatIpAddress(bytes);

// IPFIX template 256: a typical IPv4 flow, with a reduced-size (4-octet) octetDeltaCount.
const V4_FIELDS: FieldSpec[] = [
  [8, 4], // sourceIPv4Address
  [12, 4], // destinationIPv4Address
  [7, 2], // sourceTransportPort
  [11, 2], // destinationTransportPort
  [4, 1], // protocolIdentifier
  [6, 2], // tcpControlBits
  [1, 4], // octetDeltaCount, reduced from 8
  [2, 8], // packetDeltaCount
  [10, 4], // ingressInterface
  [14, 4], // egressInterface
  [152, 8], // flowStartMilliseconds
  [153, 8], // flowEndMilliseconds
  [16, 4], // bgpSourceAsNumber
  [17, 4], // bgpDestinationAsNumber
  [15, 4], // ipNextHopIPv4Address
  [58, 2], // vlanId
  [59, 2], // postVlanId
  [61, 1], // flowDirection
  [9, 1], // sourceIPv4PrefixLength
  [13, 1], // destinationIPv4PrefixLength
];

function v4Record(src: string, srcPort: number, dstPort: number, bytes: number, packets: number): Buffer {
  return record(
    ipv4(src),
    ipv4('198.51.100.7'),
    [srcPort, 2],
    [dstPort, 2],
    [6, 1],
    [0x1b, 2],
    [bytes, 4],
    [packets, 8],
    [7, 4],
    [9, 4],
    [1_699_999_990_000, 8],
    [1_699_999_999_500, 8],
    [64500, 4],
    [15169, 4],
    ipv4('192.0.2.254'),
    [100, 2],
    [200, 2],
    [1, 1],
    [24, 1],
    [16, 1],
  );
}

describe('IPFIX templates and data', () => {
  it('decodes a data set with the template the exporter sent before it, every field', () => {
    const decoder = createNetflowDecoder();
    expect(decoder.decode(ipfix({ domainId: 42 }, [set(2, template(256, V4_FIELDS))]), exporter, T0)).toEqual(
      [],
    );
    const data = ipfix({ domainId: 42, sequence: 7, exportTime: 1_700_000_000 }, [
      // Two records and three octets of padding at the end of the set.
      set(
        256,
        concat([
          v4Record('10.0.0.1', 51000, 443, 1500, 3),
          v4Record('10.0.0.2', 80, 40000, 600, 1),
          Buffer.alloc(3),
        ]),
      ),
    ]);
    const records = decoder.decode(data, exporter, T0 + SECOND);
    expect(records).toHaveLength(2);
    const [first, second] = records as [FlowRecord, FlowRecord];
    expect(first).toMatchObject({
      timeReceivedNs: T0 + SECOND,
      timeFlowStartNs: 1_699_999_990_000_000_000n,
      timeFlowEndNs: 1_699_999_999_500_000_000n,
      observationDomainId: 42,
      flowProtocol: FlowProtocol.IPFIX,
      exportSequenceNumber: 7,
      inInterface: 7,
      outInterface: 9,
      direction: FlowDirection.EGRESS,
      ipVersion: IpVersion.V4,
      srcPrefixLength: 24,
      dstPrefixLength: 16,
      srcPort: 51000,
      dstPort: 443,
      protocol: 6,
      tcpFlags: 0x1b,
      bytes: 1500n,
      packets: 3n,
      samplingRate: 1,
      rawBytes: 1500n,
      rawPackets: 3n,
      srcAs: 64500,
      dstAs: 15169,
      srcVlanId: 100,
      dstVlanId: 200,
      applicationName: 'HTTPS',
    });
    expect(text(first.exporterAddress)).toBe('192.0.2.1');
    expect(text(first.srcAddress)).toBe('10.0.0.1');
    expect(text(first.dstAddress)).toBe('198.51.100.7');
    expect(text(first.nextHopAddress)).toBe('192.0.2.254');
    // The well-known port counts on either side: a server's reply from port 80 is HTTP too.
    expect(second).toMatchObject({ srcPort: 80, dstPort: 40000, applicationName: 'HTTP', bytes: 600n });
    const stats = statsOf(decoder);
    expect(stats).toMatchObject({
      packets: 2,
      records: 2,
      templates: 1,
      activeTemplates: 1,
      decodeErrors: {},
    });
  });

  it('holds a data set whose template is unknown and decodes it when the template arrives', () => {
    const decoder = createNetflowDecoder();
    const early = ipfix({ exportTime: 1_700_000_000 }, [set(256, v4Record('10.0.0.3', 1234, 53, 80, 1))]);
    expect(decoder.decode(early, exporter, T0)).toEqual([]);
    expect(statsOf(decoder).pendingSets).toBe(1);

    const records = decoder.decode(ipfix({}, [set(2, template(256, V4_FIELDS))]), exporter, T0 + 5n * SECOND);
    expect(records).toHaveLength(1);
    // The record keeps the time its own packet arrived.
    expect(records[0]).toMatchObject({
      timeReceivedNs: T0,
      srcPort: 1234,
      dstPort: 53,
      applicationName: 'DNS',
    });
    expect(statsOf(decoder)).toMatchObject({ pendingSets: 0, pendingSetsDecoded: 1, pendingSetsDropped: 0 });
  });

  it('decodes a held set that comes earlier in the same packet as its template', () => {
    const decoder = createNetflowDecoder();
    const packet = ipfix({}, [
      set(256, v4Record('10.0.0.4', 5000, 22, 60, 1)),
      set(2, template(256, V4_FIELDS)),
    ]);
    const records = decoder.decode(packet, exporter, T0);
    expect(records.map((r) => r.applicationName)).toEqual(['SSH']);
  });

  it('bounds the held sets per domain by count and by age, counting what it drops', () => {
    const decoder = createNetflowDecoder({ maxPendingSetsPerDomain: 2, pendingSetTimeoutMs: 1000 });
    const unknown = (port: number) => ipfix({}, [set(300, v4Record('10.0.0.5', port, 25, 60, 1))]);
    decoder.decode(unknown(1), exporter, T0);
    decoder.decode(unknown(2), exporter, T0);
    decoder.decode(unknown(3), exporter, T0);
    expect(statsOf(decoder)).toMatchObject({ pendingSets: 2, pendingSetsDropped: 1 });
    // Two seconds later, the held sets are too old: the template finds nothing to decode.
    const late = decoder.decode(ipfix({}, [set(2, template(300, V4_FIELDS))]), exporter, T0 + 2n * SECOND);
    expect(late).toEqual([]);
    expect(statsOf(decoder)).toMatchObject({ pendingSets: 0, pendingSetsDropped: 3 });
    expect(decoder.stats().totals.pendingSetsDropped).toBe(3);

    // expirePending does the same for a domain that went quiet.
    decoder.decode(ipfix({ domainId: 9 }, [set(301, Buffer.alloc(8))]), exporter, T0);
    expect(decoder.expirePending(T0 + 500_000_000n)).toBe(0);
    expect(decoder.expirePending(T0 + 2n * SECOND)).toBe(1);
    expect(statsOf(decoder).pendingSets).toBe(0);
  });

  it('drops a held set that does not fit the template that arrives instead of mis-decoding it', () => {
    const decoder = createNetflowDecoder();
    // 70-octet records; this set was written with a 13-octet layout.
    decoder.decode(ipfix({}, [set(256, Buffer.alloc(13 * 6))]), exporter, T0);
    const records = decoder.decode(ipfix({}, [set(2, template(256, V4_FIELDS))]), exporter, T0);
    expect(records).toEqual([]);
    expect(statsOf(decoder)).toMatchObject({ pendingSets: 0, pendingSetsDropped: 1, pendingSetsDecoded: 0 });
  });

  it('withdraws a template: later data with its id waits instead of using the old layout', () => {
    const decoder = createNetflowDecoder();
    const data = ipfix({}, [set(256, v4Record('10.0.0.6', 1000, 443, 100, 1))]);
    decoder.decode(ipfix({}, [set(2, template(256, V4_FIELDS))]), exporter, T0);
    expect(decoder.decode(data, exporter, T0)).toHaveLength(1);
    decoder.decode(ipfix({}, [set(2, withdrawal(256))]), exporter, T0);
    expect(decoder.decode(data, exporter, T0)).toEqual([]);
    expect(statsOf(decoder)).toMatchObject({ templatesWithdrawn: 1, activeTemplates: 0, pendingSets: 1 });
  });

  it('withdraws all data templates of a domain with template id 2, keeping options templates', () => {
    const decoder = createNetflowDecoder();
    decoder.decode(
      ipfix({}, [
        set(2, concat([template(256, V4_FIELDS), template(257, [[8, 4]])])),
        set(3, ipfixOptionsTemplate(400, [[302, 4]], [[305, 4]])),
      ]),
      exporter,
      T0,
    );
    // Another domain's template is not touched.
    decoder.decode(ipfix({ domainId: 1 }, [set(2, template(256, V4_FIELDS))]), exporter, T0);
    expect(statsOf(decoder).activeTemplates).toBe(4);
    decoder.decode(ipfix({}, [set(2, withdrawal(2))]), exporter, T0);
    expect(statsOf(decoder)).toMatchObject({ activeTemplates: 2, templatesWithdrawn: 2 });
  });

  it('refreshes a template and follows a redefinition of the same id', () => {
    const decoder = createNetflowDecoder();
    decoder.decode(
      ipfix({}, [
        set(
          2,
          template(256, [
            [8, 4],
            [12, 4],
            [1, 4],
          ]),
        ),
      ]),
      exporter,
      T0,
    );
    decoder.decode(
      ipfix({}, [
        set(
          2,
          template(256, [
            [8, 4],
            [12, 4],
            [1, 4],
          ]),
        ),
      ]),
      exporter,
      T0,
    );
    expect(statsOf(decoder)).toMatchObject({ templates: 2, templatesRedefined: 0, activeTemplates: 1 });
    decoder.decode(
      ipfix({}, [
        set(
          2,
          template(256, [
            [12, 4],
            [8, 4],
            [1, 8],
            [2, 4],
          ]),
        ),
      ]),
      exporter,
      T0,
    );
    expect(statsOf(decoder).templatesRedefined).toBe(1);
    const data = record(ipv4('10.9.9.9'), ipv4('10.1.1.1'), [123_456_789_012n, 8], [77, 4]);
    const [decoded] = decoder.decode(ipfix({}, [set(256, data)]), exporter, T0);
    expect(decoded).toMatchObject({ rawBytes: 123_456_789_012n, rawPackets: 77n });
    expect(text(decoded!.srcAddress)).toBe('10.1.1.1');
    expect(text(decoded!.dstAddress)).toBe('10.9.9.9');
  });

  it('reads variable-length fields with one- and three-octet length prefixes', () => {
    const decoder = createNetflowDecoder();
    const fields: FieldSpec[] = [
      [8, 4],
      [82, 65535], // interfaceName, variable length
      [7, 2],
      [11, 2],
      [4, 1],
      [1, 4],
    ];
    decoder.decode(ipfix({}, [set(2, template(256, fields))]), exporter, T0);
    const short = record(
      ipv4('10.0.0.7'),
      variable(Buffer.from('xe-0/0/1')),
      [40001, 2],
      [443, 2],
      [17, 1],
      [1200, 4],
    );
    const long = record(
      ipv4('10.0.0.8'),
      variable(Buffer.alloc(300, 0x61)),
      [40002, 2],
      [53, 2],
      [17, 1],
      [90, 4],
    );
    const forcedLong = record(
      ipv4('10.0.0.9'),
      variable(Buffer.from('ge-1'), true),
      [40003, 2],
      [123, 2],
      [17, 1],
      [76, 4],
    );
    const records = decoder.decode(ipfix({}, [set(256, concat([short, long, forcedLong]))]), exporter, T0);
    expect(
      records.map((r) => [text(r.srcAddress), r.srcPort, r.dstPort, r.bytes, r.applicationName]),
    ).toEqual([
      ['10.0.0.7', 40001, 443, 1200n, 'QUIC'],
      ['10.0.0.8', 40002, 53, 90n, 'DNS'],
      ['10.0.0.9', 40003, 123, 76n, 'NTP'],
    ]);
  });

  it('skips enterprise fields by their length and counts them per enterprise number', () => {
    const decoder = createNetflowDecoder();
    const fields: FieldSpec[] = [
      [8, 4],
      [1000, 4, 9], // a Cisco element
      [12, 4],
      [1, 65535, 29305], // reverse octetDeltaCount (RFC 5103), variable length for the test
      [1, 4],
    ];
    decoder.decode(ipfix({}, [set(2, template(256, fields))]), exporter, T0);
    const data = (n: number) =>
      record(ipv4(`10.0.0.${n}`), [0xdeadbeef, 4], ipv4('10.0.1.1'), variable(Buffer.from([0, 0, 9, 9])), [
        n * 100,
        4,
      ]);
    const records = decoder.decode(ipfix({}, [set(256, concat([data(1), data(2)]))]), exporter, T0);
    expect(records.map((r) => [text(r.srcAddress), text(r.dstAddress), r.bytes])).toEqual([
      ['10.0.0.1', '10.0.1.1', 100n],
      ['10.0.0.2', '10.0.1.1', 200n],
    ]);
    expect(statsOf(decoder).enterpriseFields).toEqual({ '9': 2, '29305': 2 });
  });

  it('keeps NetFlow v9 and IPFIX template spaces apart on one exporter and domain', () => {
    const decoder = createNetflowDecoder();
    decoder.decode(
      v9({}, [
        set(
          0,
          template(256, [
            [8, 4],
            [1, 4],
          ]),
        ),
      ]),
      exporter,
      T0,
    );
    expect(decoder.decode(ipfix({}, [set(256, record(ipv4('10.0.0.1'), [1, 4]))]), exporter, T0)).toEqual([]);
    expect(statsOf(decoder).pendingSets).toBe(1);
  });

  it('takes the inner header of a tunnel when a template carries both (the later fields, RFC 7011 §8)', () => {
    const decoder = createNetflowDecoder();
    const fields: FieldSpec[] = [
      [27, 16],
      [28, 16],
      [4, 1],
      [8, 4],
      [12, 4],
      [7, 2],
      [11, 2],
      [4, 1],
    ];
    decoder.decode(ipfix({}, [set(2, template(256, fields))]), exporter, T0);
    const data = record(
      parseIpAddress('2001:db8::1'),
      parseIpAddress('2001:db8::2'),
      [4, 1],
      ipv4('192.0.2.110'),
      ipv4('192.0.2.14'),
      [2222, 2],
      [1111, 2],
      [17, 1],
    );
    const [decoded] = decoder.decode(ipfix({}, [set(256, data)]), exporter, T0);
    expect(decoded).toMatchObject({ ipVersion: IpVersion.V4, protocol: 17, srcPort: 2222, dstPort: 1111 });
    expect(text(decoded!.srcAddress)).toBe('192.0.2.110');
  });

  it('decodes IPv6 flows: addresses, prefix lengths, next hop, ICMPv6 type and code', () => {
    const decoder = createNetflowDecoder();
    const fields: FieldSpec[] = [
      [27, 16],
      [28, 16],
      [29, 1],
      [30, 1],
      [62, 16],
      [7, 2],
      [11, 2],
      [4, 1],
      [139, 2],
      [1, 8],
      [2, 8],
      [60, 1],
    ];
    decoder.decode(ipfix({}, [set(2, template(256, fields))]), exporter, T0);
    const flow = (protocol: number, srcPort: number, dstPort: number, typeCode: number) =>
      record(
        parseIpAddress('2001:db8:1::5'),
        parseIpAddress('2001:db8:2::9'),
        [48, 1],
        [64, 1],
        parseIpAddress('fe80::1'),
        [srcPort, 2],
        [dstPort, 2],
        [protocol, 1],
        [typeCode, 2],
        [1350, 8],
        [1, 8],
        [6, 1],
      );
    const records = decoder.decode(
      ipfix({}, [set(256, concat([flow(17, 443, 50000, 0), flow(58, 0, 0, 0x8000)]))]),
      exporter,
      T0,
    );
    expect(records[0]).toMatchObject({
      ipVersion: IpVersion.V6,
      srcPrefixLength: 48,
      dstPrefixLength: 64,
      applicationName: 'QUIC',
    });
    expect(text(records[0]!.srcAddress)).toBe('2001:db8:1::5');
    expect(text(records[0]!.nextHopAddress)).toBe('fe80::1');
    // ICMP: type << 8 | code in the destination port (echo request, 128/0).
    expect(records[1]).toMatchObject({ protocol: 58, dstPort: 0x8000, applicationName: 'ICMPv6' });
  });

  it('reads every form of flow start and end', () => {
    const decoder = createNetflowDecoder();
    const ntp = (unixSeconds: number, fraction: number) =>
      record([unixSeconds + 2_208_988_800, 4], [fraction, 4]);
    const forms: Array<[FieldSpec[], Buffer, bigint, bigint]> = [
      [
        [
          [150, 4],
          [151, 4],
        ],
        record([1_700_000_001, 4], [1_700_000_002, 4]),
        1_700_000_001n * SECOND,
        1_700_000_002n * SECOND,
      ],
      [
        [
          [154, 8],
          [155, 8],
        ],
        concat([ntp(1_700_000_001, 0x4000_0000), ntp(1_700_000_002, 0x8000_0000)]),
        1_700_000_001_250_000_000n,
        1_700_000_002_500_000_000n,
      ],
      [
        [
          [156, 8],
          [157, 8],
        ],
        concat([ntp(1_700_000_001, 0x0000_0100), ntp(1_700_000_002, 0xc000_0000)]),
        1_700_000_001_000_000_059n,
        1_700_000_002_750_000_000n,
      ],
      // Delta microseconds before the export time in the header (1_700_000_000).
      [
        [
          [158, 4],
          [159, 4],
        ],
        record([3_000_000, 4], [250_000, 4]),
        1_699_999_997n * SECOND,
        1_699_999_999_750_000_000n,
      ],
      // sysUpTime-relative times with systemInitTimeMilliseconds in the same record.
      [
        [
          [22, 4],
          [21, 4],
          [160, 8],
        ],
        record([5_000, 4], [9_000, 4], [1_699_000_000_000, 8]),
        1_699_000_005n * SECOND,
        1_699_000_009n * SECOND,
      ],
    ];
    for (const [index, [fields, data, start, end]] of forms.entries()) {
      const id = 300 + index;
      decoder.decode(
        ipfix({ exportTime: 1_700_000_000 }, [set(2, template(id, fields)), set(id, data)]),
        exporter,
        T0,
      );
      const [decoded] = decoder.decode(ipfix({ exportTime: 1_700_000_000 }, [set(id, data)]), exporter, T0);
      expect([index, decoded?.timeFlowStartNs, decoded?.timeFlowEndNs]).toEqual([index, start, end]);
    }
  });

  it('converts IPFIX sysUpTime-relative times with the boot time from options data', () => {
    const decoder = createNetflowDecoder();
    decoder.decode(
      ipfix({}, [
        set(3, ipfixOptionsTemplate(400, [[149, 4]], [[160, 8]])),
        set(400, record([0, 4], [1_650_000_000_000, 8])),
        set(
          2,
          template(256, [
            [22, 4],
            [21, 4],
          ]),
        ),
      ]),
      exporter,
      T0,
    );
    const [decoded] = decoder.decode(ipfix({}, [set(256, record([1_000, 4], [61_000, 4]))]), exporter, T0);
    expect(decoded).toMatchObject({
      timeFlowStartNs: 1_650_000_001n * SECOND,
      timeFlowEndNs: 1_650_000_061n * SECOND,
    });
    expect(statsOf(decoder).optionsRecords).toBe(1);
  });
});

describe('sampling rate', () => {
  const dataFields: FieldSpec[] = [
    [8, 4],
    [302, 4], // selectorId
    [1, 4],
    [2, 4],
  ];
  const flow = (selector: number, bytes: number, packets: number) =>
    record(ipv4('10.0.0.1'), [selector, 4], [bytes, 4], [packets, 4]);

  it('applies the rate of the record’s sampler from options data (IPFIX selector, interval and space)', () => {
    const decoder = createNetflowDecoder({ defaultSamplingRate: 7 });
    decoder.decode(
      ipfix({}, [
        set(
          3,
          ipfixOptionsTemplate(
            400,
            [[302, 4]],
            [
              [305, 4],
              [306, 4],
            ],
          ),
        ),
        // Selector 1 samples 1 packet in 100, selector 2 one in 1000.
        set(400, concat([record([1, 4], [1, 4], [99, 4]), record([2, 4], [1, 4], [999, 4])])),
        set(2, template(256, dataFields)),
      ]),
      exporter,
      T0,
    );
    const records = decoder.decode(
      ipfix({}, [set(256, concat([flow(2, 1500, 3), flow(1, 100, 1), flow(9, 60, 1)]))]),
      exporter,
      T0,
    );
    expect(records.map((r) => [r.samplingRate, r.bytes, r.packets, r.rawBytes, r.rawPackets])).toEqual([
      [1000, 1_500_000n, 3000n, 1500n, 3n],
      [100, 10_000n, 100n, 100n, 1n],
      // Selector 9 is unknown and the domain has two samplers: no guess, the configured default applies.
      [7, 420n, 7n, 60n, 1n],
    ]);
  });

  it('falls back to the domain’s only sampler, and prefers a rate stated in the record itself', () => {
    const decoder = createNetflowDecoder();
    decoder.decode(
      ipfix({}, [
        set(
          3,
          ipfixOptionsTemplate(
            400,
            [[302, 4]],
            [
              [309, 4],
              [310, 4],
            ],
          ),
        ),
        set(400, record([5, 4], [1, 4], [256, 4])),
        set(
          2,
          concat([
            template(256, [
              [8, 4],
              [1, 4],
            ]),
            template(257, [
              [8, 4],
              [34, 4],
              [1, 4],
            ]),
          ]),
        ),
      ]),
      exporter,
      T0,
    );
    const [viaOnlySampler] = decoder.decode(
      ipfix({}, [set(256, record(ipv4('10.0.0.1'), [72, 4]))]),
      exporter,
      T0,
    );
    expect(viaOnlySampler).toMatchObject({ samplingRate: 256, bytes: 18_432n, rawBytes: 72n });
    const [stated] = decoder.decode(
      ipfix({}, [set(257, record(ipv4('10.0.0.1'), [64, 4], [72, 4]))]),
      exporter,
      T0,
    );
    expect(stated).toMatchObject({ samplingRate: 64, bytes: 4608n });
  });

  it('uses the configured default when nothing states a rate', () => {
    const decoder = createNetflowDecoder({ defaultSamplingRate: 10 });
    decoder.decode(
      ipfix({}, [
        set(
          2,
          template(256, [
            [8, 4],
            [1, 4],
            [2, 4],
          ]),
        ),
      ]),
      exporter,
      T0,
    );
    const [decoded] = decoder.decode(
      ipfix({}, [set(256, record(ipv4('10.0.0.1'), [500, 4], [2, 4]))]),
      exporter,
      T0,
    );
    expect(decoded).toMatchObject({
      samplingRate: 10,
      bytes: 5000n,
      packets: 20n,
      rawBytes: 500n,
      rawPackets: 2n,
    });
  });

  it('reads NetFlow v9 options data: scope fields are scope types, not elements', () => {
    const decoder = createNetflowDecoder();
    decoder.decode(
      v9({}, [
        // Scope "System" (type 1, 4 octets) would read as octetDeltaCount if taken for an element.
        set(
          1,
          v9OptionsTemplate(
            257,
            [[1, 4]],
            [
              [48, 1],
              [34, 4],
            ],
          ),
          4,
        ),
        set(
          257,
          concat([record([0x0a000001, 4], [3, 1], [512, 4]), record([0x0a000001, 4], [4, 1], [64, 4])]),
          4,
        ),
        set(
          0,
          template(300, [
            [8, 4],
            [48, 1],
            [1, 4],
          ]),
        ),
      ]),
      exporter,
      T0,
    );
    const records = decoder.decode(
      v9({ sequence: 1 }, [
        set(
          300,
          concat([record(ipv4('10.0.0.1'), [3, 1], [100, 4]), record(ipv4('10.0.0.2'), [4, 1], [100, 4])]),
        ),
      ]),
      exporter,
      T0,
    );
    expect(records.map((r) => [r.samplingRate, r.bytes])).toEqual([
      [512, 51_200n],
      [64, 6400n],
    ]);
    expect(statsOf(decoder)).toMatchObject({ optionsTemplates: 1, optionsRecords: 2, templates: 1 });
  });
});

describe('NetFlow v9 and v5', () => {
  it('converts sysUpTime-relative times with the header clock, across a 32-bit wrap', () => {
    const decoder = createNetflowDecoder();
    const fields: FieldSpec[] = [
      [8, 4],
      [12, 4],
      [4, 1],
      [7, 2],
      [11, 2],
      [2, 4],
      [1, 4],
      [22, 4],
      [21, 4],
    ];
    decoder.decode(v9({ sourceId: 5 }, [set(0, template(260, fields))]), exporter, T0);
    const flow = (start: number, end: number) =>
      record(
        ipv4('10.1.1.1'),
        ipv4('10.2.2.2'),
        [17, 1],
        [5353, 2],
        [53, 2],
        [10, 4],
        [1000, 4],
        [start, 4],
        [end, 4],
      );
    const header = { sourceId: 5, sysUptimeMs: 100_000, unixSecs: 1_700_000_000, sequence: 1 };
    const [plain] = decoder.decode(v9(header, [set(260, flow(95_000, 99_000))]), exporter, T0);
    expect(plain).toMatchObject({
      flowProtocol: FlowProtocol.NETFLOW_V9,
      observationDomainId: 5,
      timeFlowStartNs: 1_699_999_995n * SECOND,
      timeFlowEndNs: 1_699_999_999n * SECOND,
      applicationName: 'DNS',
    });
    // Uptime 1 s after the counter wrapped; the flow started 1 s before the wrap.
    const wrapped = { ...header, sysUptimeMs: 1_000, sequence: 2 };
    const [afterWrap] = decoder.decode(v9(wrapped, [set(260, flow(0xffff_fc18, 500))]), exporter, T0);
    expect(afterWrap).toMatchObject({
      timeFlowStartNs: 1_699_999_998n * SECOND,
      timeFlowEndNs: 1_699_999_999_500_000_000n,
    });
  });

  it('decodes NetFlow v5 records with the header sampling interval', () => {
    const decoder = createNetflowDecoder();
    const packet = v5(
      {
        sysUptimeMs: 60_000,
        unixSecs: 1_700_000_000,
        unixNsecs: 5_000_000,
        engineType: 1,
        engineId: 2,
        samplingInterval: 0x4000 | 100,
      },
      [
        {
          src: [10, 0, 0, 1],
          dst: [172, 16, 0, 9],
          nextHop: [10, 0, 0, 254],
          input: 3,
          output: 4,
          packets: 2,
          bytes: 120,
          firstMs: 50_000,
          lastMs: 59_000,
          srcPort: 25,
          dstPort: 41000,
          tcpFlags: 0x12,
          protocol: 6,
          srcAs: 65001,
          dstAs: 65002,
          srcMask: 8,
          dstMask: 12,
        },
      ],
    );
    const [decoded] = decoder.decode(packet, exporter, T0);
    expect(decoded).toMatchObject({
      flowProtocol: FlowProtocol.NETFLOW_V5,
      observationDomainId: (1 << 8) | 2,
      timeFlowStartNs: 1_699_999_990_005_000_000n,
      timeFlowEndNs: 1_699_999_999_005_000_000n,
      inInterface: 3,
      outInterface: 4,
      ipVersion: IpVersion.V4,
      srcPort: 25,
      dstPort: 41000,
      protocol: 6,
      tcpFlags: 0x12,
      samplingRate: 100,
      bytes: 12_000n,
      packets: 200n,
      rawBytes: 120n,
      srcAs: 65001,
      dstAs: 65002,
      srcPrefixLength: 8,
      dstPrefixLength: 12,
      applicationName: 'SMTP',
    });
    expect(text(decoded!.nextHopAddress)).toBe('10.0.0.254');
  });
});

describe('padding and logging', () => {
  it('takes the zero octets that pad a v9 flowset to 32 bits for padding, not for a record', () => {
    const decoder = createNetflowDecoder();
    decoder.decode(v9({}, [set(0, template(300, [[11, 2]]))]), exporter, T0);
    const records = decoder.decode(
      v9({ sequence: 1 }, [set(300, record([443, 2], [53, 2], [123, 2]), 4)]),
      exporter,
      T0,
    );
    expect(records.map((r) => r.dstPort)).toEqual([443, 53, 123]);
  });

  it('reports malformed packets and dropped data sets to the rate-limited log, keyed by exporter and code', () => {
    const lines: Array<[string, Record<string, unknown>]> = [];
    const log = {
      warn: (key: string, obj: Record<string, unknown>) => {
        lines.push([key, obj]);
        return true;
      },
      flush: () => {},
    };
    const decoder = createNetflowDecoder({ maxPendingSetsPerDomain: 0 }, { log });
    decoder.decode(concat([u16(8), Buffer.alloc(20)]), exporter, T0);
    decoder.decode(ipfix({}, [set(300, Buffer.alloc(8))]), exporter, T0);
    expect(lines.map(([key, obj]) => [key, obj.code])).toEqual([
      ['netflow:192.0.2.1:KANSOKU_FLOW_BAD_VERSION', 'KANSOKU_FLOW_BAD_VERSION'],
      ['netflow:192.0.2.1:KANSOKU_FLOW_TEMPLATE_MISSING', 'KANSOKU_FLOW_TEMPLATE_MISSING'],
    ]);
    expect(statsOf(decoder)).toMatchObject({ pendingSets: 0, pendingSetsDropped: 1 });
  });
});

describe('sequence numbers', () => {
  it('counts gaps: IPFIX counts records, NetFlow v9 packets, NetFlow v5 records', () => {
    const decoder = createNetflowDecoder();
    const two = concat([record(ipv4('10.0.0.1'), [1, 4]), record(ipv4('10.0.0.2'), [1, 4])]);
    decoder.decode(
      ipfix({ sequence: 0 }, [
        set(
          2,
          template(256, [
            [8, 4],
            [1, 4],
          ]),
        ),
        set(256, two),
      ]),
      exporter,
      T0,
    );
    decoder.decode(ipfix({ sequence: 2 }, [set(256, two)]), exporter, T0);
    expect(statsOf(decoder).sequenceGaps).toBe(0);
    decoder.decode(ipfix({ sequence: 10 }, [set(256, two)]), exporter, T0);
    expect(statsOf(decoder)).toMatchObject({ sequenceGaps: 1, sequenceMissing: 6 });

    const v9Exporter = { address: ipv4('192.0.2.9'), port: 2055 };
    for (const sequence of [5, 6, 8]) decoder.decode(v9({ sequence }, []), v9Exporter, T0);
    expect(statsOf(decoder, '192.0.2.9')).toMatchObject({ sequenceGaps: 1, sequenceMissing: 1 });

    const v5Exporter = { address: ipv4('192.0.2.5'), port: 2055 };
    const r = {
      src: [1, 1, 1, 1],
      dst: [2, 2, 2, 2],
      packets: 1,
      bytes: 1,
      firstMs: 0,
      lastMs: 0,
      srcPort: 1,
      dstPort: 2,
      protocol: 17,
    };
    decoder.decode(v5({ sequence: 0 }, [r, r]), v5Exporter, T0);
    decoder.decode(v5({ sequence: 2 }, [r]), v5Exporter, T0);
    decoder.decode(v5({ sequence: 4 }, [r]), v5Exporter, T0);
    expect(statsOf(decoder, '192.0.2.5')).toMatchObject({ sequenceGaps: 1, sequenceMissing: 1 });
    expect(decoder.stats().totals.sequenceGaps).toBe(3);
  });
});

describe('malformed packets', () => {
  const good = record(ipv4('10.0.0.1'), [100, 4]);
  const withTemplate = () => {
    const decoder = createNetflowDecoder();
    decoder.decode(
      ipfix({}, [
        set(
          2,
          template(256, [
            [8, 4],
            [1, 4],
          ]),
        ),
      ]),
      exporter,
      T0,
    );
    return decoder;
  };

  const cases: Array<[string, Buffer, string]> = [
    ['an empty datagram', Buffer.alloc(0), NetflowErrorCode.TRUNCATED],
    ['a header cut short', ipfix({}, []).subarray(0, 9), NetflowErrorCode.TRUNCATED],
    ['version 7', concat([u16(7), Buffer.alloc(30)]), NetflowErrorCode.BAD_VERSION],
    [
      'an IPFIX length below its header',
      concat([u16(10), u16(10), Buffer.alloc(12)]),
      NetflowErrorCode.BAD_LENGTH,
    ],
    [
      'an IPFIX message longer than the datagram',
      ipfix({}, [set(256, good)]).subarray(0, 25),
      NetflowErrorCode.TRUNCATED,
    ],
    ['a set length below 4', ipfix({}, [concat([u16(256), u16(2), good])]), NetflowErrorCode.BAD_SET_LENGTH],
    [
      'a set length past the end',
      ipfix({}, [concat([u16(256), u16(40), good])]),
      NetflowErrorCode.BAD_SET_LENGTH,
    ],
    [
      'a v9 template with no fields',
      v9({}, [set(0, concat([u16(300), u16(0)]))]),
      NetflowErrorCode.BAD_TEMPLATE,
    ],
    ['a template id below 256', ipfix({}, [set(2, template(12, [[8, 4]]))]), NetflowErrorCode.BAD_TEMPLATE],
    [
      'a zero-length template',
      ipfix({}, [
        set(
          2,
          template(300, [
            [8, 0],
            [12, 0],
          ]),
        ),
      ]),
      NetflowErrorCode.BAD_TEMPLATE,
    ],
    [
      'a template cut inside its set',
      ipfix({}, [
        set(
          2,
          template(300, [
            [8, 4],
            [12, 4],
          ]).subarray(0, 10),
        ),
      ]),
      NetflowErrorCode.TRUNCATED,
    ],
    [
      'an options template without scope',
      ipfix({}, [set(3, ipfixOptionsTemplate(400, [], [[305, 4]]))]),
      NetflowErrorCode.BAD_TEMPLATE,
    ],
    ['v5 announcing more records than it has', v5({}, []).fill(3, 3, 4), NetflowErrorCode.TRUNCATED],
  ];

  it.each(cases)('counts %s by code, without throwing', (_name, packet, code) => {
    const decoder = withTemplate();
    expect(() => decoder.decode(packet, exporter, T0)).not.toThrow();
    expect(statsOf(decoder).decodeErrors).toEqual({ [code]: 1 });
    expect(decoder.stats().totals.decodeErrors).toEqual({ [code]: 1 });
  });

  it('keeps the records of sound sets before the broken one, and drops the broken set', () => {
    const decoder = createNetflowDecoder();
    decoder.decode(
      ipfix({}, [
        set(
          2,
          concat([
            template(256, [
              [8, 4],
              [1, 4],
            ]),
            template(257, [
              [8, 4],
              [82, 65535],
              [1, 4],
            ]),
          ]),
        ),
      ]),
      exporter,
      T0,
    );
    // Set 257's second record declares a 200-octet name in a set that ends first.
    const broken = concat([
      record(ipv4('10.0.0.3'), variable(Buffer.from('a')), [1, 4]),
      record(ipv4('10.0.0.4'), Buffer.from([200, 1, 2, 3, 4, 5])),
    ]);
    const packet = ipfix({}, [set(256, good), set(257, broken), set(256, good)]);
    const records = decoder.decode(packet, exporter, T0);
    expect(records.map((r) => text(r.srcAddress))).toEqual(['10.0.0.1']);
    expect(statsOf(decoder).decodeErrors).toEqual({ [NetflowErrorCode.BAD_RECORD]: 1 });

    const badLength = ipfix({}, [set(256, good), concat([u16(256), u16(60), good])]);
    expect(decoder.decode(badLength, exporter, T0)).toHaveLength(1);
  });
});

describe('bounded state', () => {
  it('evicts the least recently used template beyond the per-exporter limit', () => {
    const decoder = createNetflowDecoder({ maxTemplatesPerExporter: 2 });
    const fields: FieldSpec[] = [
      [8, 4],
      [1, 4],
    ];
    decoder.decode(ipfix({}, [set(2, concat([template(256, fields), template(257, fields)]))]), exporter, T0);
    // Using 256 makes 257 the least recently used one.
    expect(
      decoder.decode(ipfix({}, [set(256, record(ipv4('10.0.0.1'), [1, 4]))]), exporter, T0),
    ).toHaveLength(1);
    decoder.decode(ipfix({}, [set(2, template(258, fields))]), exporter, T0);
    expect(statsOf(decoder)).toMatchObject({ activeTemplates: 2, templatesEvicted: 1 });
    expect(decoder.decode(ipfix({}, [set(257, record(ipv4('10.0.0.1'), [1, 4]))]), exporter, T0)).toEqual([]);
    expect(
      decoder.decode(ipfix({}, [set(256, record(ipv4('10.0.0.1'), [1, 4]))]), exporter, T0),
    ).toHaveLength(1);
  });

  it('forgets the least recently heard exporter beyond maxExporters, and domains beyond their limit', () => {
    const decoder = createNetflowDecoder({ maxExporters: 2, maxDomainsPerExporter: 2 });
    for (const last of [1, 2, 3])
      decoder.decode(ipfix({}, []), { address: ipv4(`192.0.2.${last}`), port: 1 }, T0);
    const stats = decoder.stats();
    expect(stats.exporterCount).toBe(2);
    expect(stats.exportersEvicted).toBe(1);
    expect(stats.exporters.map((e) => e.exporter)).toEqual(['192.0.2.2', '192.0.2.3']);
    expect(stats.totals.packets).toBe(3);

    for (const domainId of [1, 2, 3]) {
      decoder.decode(ipfix({ domainId }, [set(2, template(256, [[8, 4]]))]), exporter, T0);
    }
    expect(statsOf(decoder)).toMatchObject({ domains: 2, activeTemplates: 2, templatesEvicted: 1 });
    expect(decoder.stats().domainsEvicted).toBe(1);
  });
});

describe('snapshot and restore', () => {
  it('lets a new decoder decode the next data packet without waiting for a template refresh', () => {
    const before = createNetflowDecoder();
    before.decode(
      ipfix({ domainId: 3 }, [
        set(
          3,
          ipfixOptionsTemplate(
            400,
            [[302, 4]],
            [
              [305, 4],
              [306, 4],
            ],
          ),
        ),
        set(400, record([1, 4], [1, 4], [31, 4])),
        set(2, template(256, V4_FIELDS)),
      ]),
      exporter,
      T0,
    );
    const v9Exporter = { address: parseIpAddress('2001:db8::9'), port: 2055 };
    before.decode(
      v9({ sourceId: 8 }, [
        set(
          0,
          template(300, [
            [8, 4],
            [12, 4],
            [1, 4],
          ]),
        ),
      ]),
      v9Exporter,
      T0,
    );

    const saved = JSON.parse(JSON.stringify(before.snapshot())) as unknown;
    const after = createNetflowDecoder();
    expect(after.restore(saved)).toEqual({ exporters: 2, templates: 3, rejected: 0 });

    const data = ipfix({ domainId: 3 }, [set(256, v4Record('10.0.0.1', 51000, 443, 1500, 3))]);
    const fromRestored = after.decode(data, exporter, T0);
    expect(fromRestored).toEqual(before.decode(data, exporter, T0));
    // The sampler table came across too (1 in 32): the domain's only sampler.
    expect(fromRestored[0]).toMatchObject({ samplingRate: 32, bytes: 48_000n });
    const v9Data = v9({ sourceId: 8 }, [set(300, record(ipv4('10.0.0.1'), ipv4('10.0.0.2'), [99, 4]))]);
    expect(after.decode(v9Data, v9Exporter, T0)).toHaveLength(1);
    expect(after.stats().totals.decodeErrors).toEqual({});
  });

  it('rejects a foreign object and leaves out invalid entries of a snapshot', () => {
    const decoder = createNetflowDecoder();
    expect(() => decoder.restore({ hello: 'world' })).toThrow(/snapshot/);
    const result = decoder.restore({
      format: 'kansoku.netflow.templates',
      version: 1,
      exporters: [
        { address: 'not an address', domains: [] },
        {
          address: '192.0.2.1',
          domains: [
            {
              protocol: 'ipfix',
              domainId: 0,
              samplers: [[1, 0]],
              templates: [
                { id: 256, options: false, scopeFieldCount: 0, fields: [[8, 4, 0]] },
                { id: 12, options: false, scopeFieldCount: 0, fields: [[8, 4, 0]] },
                { id: 257, options: false, scopeFieldCount: 0, fields: [] },
              ],
            },
            { protocol: 'sflow', domainId: 0, samplers: [], templates: [] },
          ],
        },
      ],
    });
    expect(result).toEqual({ exporters: 1, templates: 1, rejected: 5 });
  });
});

describe('records are valid contract messages', () => {
  it('serialises whatever the counters and times hold', () => {
    const decoder = createNetflowDecoder();
    decoder.decode(
      ipfix({}, [
        set(
          2,
          template(256, [
            [8, 4],
            [1, 8],
            [34, 4],
            [152, 8],
            [9, 8],
          ]),
        ),
      ]),
      exporter,
      T0,
    );
    const extreme = record(
      ipv4('10.0.0.1'),
      [0xffff_ffff_ffff_ffffn, 8],
      [0xffff_ffff, 4],
      [0xffff_ffff_ffff_ffffn, 8],
      [0xffff_ffff_ffffn, 8],
    );
    const [decoded] = decoder.decode(ipfix({}, [set(256, extreme)]), exporter, T0);
    expect(decoded).toMatchObject({ bytes: 0xffff_ffff_ffff_ffffn, timeFlowStartNs: 0xffff_ffff_ffff_ffffn });
    expect(() => toBinary(FlowRecordSchema, decoded!)).not.toThrow();
  });
});
