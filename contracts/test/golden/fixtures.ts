// The messages behind the golden byte vectors: one fully populated message per message type (and one per
// alternative of a oneof), every field set to a value other than its default. `contracts.test.ts` checks that
// they encode to the committed `.hex` files; `scripts/write-golden.ts` rewrites those files deliberately.
//
// Changing a value here or a field's number in a .proto changes the bytes: that is the point.

import { create, type DescMessage, type Message, type MessageInitShape } from '@bufbuild/protobuf';
import {
  Afi,
  AsPathSegmentType,
  FeedSource,
  Origin,
  PeerDownReason,
  PeerEventSchema,
  PeerEventType,
  type PeerSchema,
  PeerType,
  RibType,
  RouteAction,
  type RouteUpdate,
  RouteUpdateSchema,
  Safi,
} from '../../src/gen/kansoku/bgp/v1/bgp_pb.ts';
import { RouteUpdateBatchSchema } from '../../src/gen/kansoku/bgp/v2/bgp_pb.ts';
import {
  DnsEventSource,
  IpVersion as DnsIpVersion,
  type DnsQuery,
  DnsQuerySchema,
  DnsTransport,
} from '../../src/gen/kansoku/dns/v1/dns_pb.ts';
import { DnsQueryBatchSchema } from '../../src/gen/kansoku/dns/v2/dns_pb.ts';
import {
  FlowDirection,
  IpVersion as FlowIpVersion,
  FlowProtocol,
  type FlowRecord,
  FlowRecordSchema,
} from '../../src/gen/kansoku/flows/v1/flows_pb.ts';
import { FlowRecordBatchSchema } from '../../src/gen/kansoku/flows/v2/flows_pb.ts';
import {
  RtcpPacketType,
  RtcpReportSchema,
  RtpStreamSecondSchema,
  StreamPath,
} from '../../src/gen/kansoku/rtp/v1/rtp_pb.ts';
import {
  AuthActivity,
  AuthenticationEventSchema,
  AuthMethod,
  AuthResult,
  DetectionFindingSchema,
  type EntitySchema,
  EntityType,
  type EventMetadataSchema,
  FindingActivity,
  IngestChannel,
  NetworkRemediationSchema,
  RemediationActivity,
  RemediationState,
  Severity,
  type VnfSchema,
} from '../../src/gen/kansoku/threats/v1/threats_pb.ts';
import { parseIpAddress as ip } from '../../src/ip-address.ts';

export interface GoldenFixture {
  /** File stem of the vector: the message's full type name, plus a variant name for oneof alternatives. */
  readonly name: string;
  readonly schema: DescMessage;
  readonly message: Message;
}

function fixture<Desc extends DescMessage>(
  schema: Desc,
  init: MessageInitShape<Desc>,
  variant?: string,
): GoldenFixture {
  return {
    name: variant ? `${schema.typeName}.${variant}` : schema.typeName,
    schema,
    message: create(schema, init),
  };
}

const mac = (text: string) => Uint8Array.from(text.split(':'), (part) => Number.parseInt(part, 16));

// 2017-09-26T03:20:00Z and offsets from it, the period of the seed report.
const T0_MS = 1_506_396_000_000n;
const T0_NS = T0_MS * 1_000_000n;

const flowRecord = fixture(FlowRecordSchema, {
  timeReceivedNs: T0_NS + 1_250_000_000n,
  timeFlowStartNs: T0_NS - 30_000_000_000n,
  timeFlowEndNs: T0_NS + 1_000_000_000n,
  exporterAddress: ip('192.0.2.1'),
  observationDomainId: 512,
  flowProtocol: FlowProtocol.IPFIX,
  exportSequenceNumber: 4_000_000_123,
  inInterface: 17,
  outInterface: 42,
  direction: FlowDirection.INGRESS,
  ipVersion: FlowIpVersion.V6,
  srcAddress: ip('2001:db8:1::10'),
  dstAddress: ip('2001:db8:2::20'),
  srcPrefixLength: 48,
  dstPrefixLength: 32,
  srcPort: 443,
  dstPort: 51_234,
  protocol: 17,
  tcpFlags: 0x1b,
  bytes: 1_500_000_000n,
  packets: 1_200_000n,
  samplingRate: 1000,
  rawBytes: 1_500_000n,
  rawPackets: 1_200n,
  srcAs: 15_169,
  dstAs: 4_200_000_001,
  nextHopAddress: ip('2001:db8::ffff:1'),
  srcVlanId: 100,
  dstVlanId: 4094,
  applicationName: 'QUIC',
});

// The Kafka message of kansoku.flows.records.v2: the record above and a second, IPv4 one of the same exporter.
const flowRecordBatch = fixture(FlowRecordBatchSchema, {
  records: [
    flowRecord.message as FlowRecord,
    create(FlowRecordSchema, {
      timeReceivedNs: T0_NS + 1_250_000_000n,
      exporterAddress: ip('192.0.2.1'),
      flowProtocol: FlowProtocol.NETFLOW_V9,
      ipVersion: FlowIpVersion.V4,
      srcAddress: ip('198.51.100.20'),
      dstAddress: ip('203.0.113.9'),
      srcPort: 80,
      dstPort: 40_000,
      protocol: 6,
      bytes: 9_000n,
      packets: 6n,
      samplingRate: 1,
      applicationName: 'HTTP',
    }),
  ],
});

const peer: MessageInitShape<typeof PeerSchema> = {
  address: ip('198.51.100.7'),
  asn: 64_500,
  bgpId: ip('198.51.100.7'),
  distinguisher: 0x0000_fde8_0000_0064n, // type 0 route distinguisher 65000:100
  type: PeerType.RD_INSTANCE,
};

const routeUpdate = fixture(RouteUpdateSchema, {
  timeReceivedNs: T0_NS + 5_000_000n,
  timeObservedNs: T0_NS,
  routerAddress: ip('192.0.2.254'),
  peer,
  ribType: RibType.ADJ_RIB_IN_POST_POLICY,
  source: FeedSource.BMP,
  action: RouteAction.ANNOUNCE,
  afi: Afi.IPV6,
  safi: Safi.UNICAST,
  prefix: ip('2001:db8:8000::'),
  prefixLength: 33,
  pathId: 7,
  asPath: [
    { type: AsPathSegmentType.AS_SEQUENCE, asns: [64_500, 2_914, 4_200_000_001] },
    { type: AsPathSegmentType.AS_SET, asns: [65_001, 65_002] },
  ],
  originAs: 4_200_000_001,
  nextHopAddress: ip('2001:db8::1'),
  communities: [2914 * 65_536 + 410, 0xffff_ff01],
  largeCommunities: [{ globalAdministrator: 4_200_000_001, localData1: 1, localData2: 2 }],
  extendedCommunities: [0x0002_fde8_0000_0064n],
  localPref: 0,
  med: 120,
  origin: Origin.INCOMPLETE,
  atomicAggregate: true,
});

// The Kafka message of kansoku.bgp.updates.v2: the update above and a withdrawal of an IPv4 prefix by the same peer.
const routeUpdateBatch = fixture(RouteUpdateBatchSchema, {
  updates: [
    routeUpdate.message as RouteUpdate,
    create(RouteUpdateSchema, {
      timeReceivedNs: T0_NS + 6_000_000n,
      timeObservedNs: T0_NS + 1_000_000n,
      routerAddress: ip('192.0.2.254'),
      peer,
      ribType: RibType.ADJ_RIB_IN_POST_POLICY,
      source: FeedSource.BMP,
      action: RouteAction.WITHDRAW,
      afi: Afi.IPV4,
      safi: Safi.UNICAST,
      prefix: ip('203.0.113.0'),
      prefixLength: 24,
    }),
  ],
});

const peerEventBase = {
  timeReceivedNs: T0_NS + 9_000_000n,
  timeObservedNs: T0_NS + 8_000_000n,
  routerAddress: ip('192.0.2.254'),
  peer,
  source: FeedSource.BMP,
} satisfies Partial<MessageInitShape<typeof PeerEventSchema>>;

const peerUp = fixture(
  PeerEventSchema,
  {
    ...peerEventBase,
    type: PeerEventType.UP,
    detail: {
      case: 'up',
      value: {
        localAddress: ip('198.51.100.6'),
        localPort: 179,
        remotePort: 50_123,
        localAsn: 64_496,
        holdTimeSeconds: 90,
        fourOctetAsn: true,
        addPathFamilies: [{ afi: Afi.IPV4, safi: Safi.UNICAST }],
      },
    },
  },
  'up',
);

const peerDown = fixture(
  PeerEventSchema,
  {
    ...peerEventBase,
    type: PeerEventType.DOWN,
    detail: {
      case: 'down',
      value: {
        reason: PeerDownReason.REMOTE_NOTIFICATION,
        notificationCode: 6,
        notificationSubcode: 2,
        fsmEventCode: 18,
      },
    },
  },
  'down',
);

const peerStats = fixture(
  PeerEventSchema,
  {
    ...peerEventBase,
    type: PeerEventType.STATS,
    detail: {
      case: 'stats',
      value: {
        stats: [
          { statType: 7, value: 812_345n },
          { statType: 9, family: { afi: Afi.IPV6, safi: Safi.UNICAST }, value: 45_678n },
        ],
      },
    },
  },
  'stats',
);

const dnsQuery = fixture(DnsQuerySchema, {
  timeQueryNs: T0_NS + 123_456_789n,
  timeReceivedNs: T0_NS + 124_000_000n,
  clientAddress: ip('2001:db8:c::53'),
  clientPort: 40_000,
  serverAddress: ip('2001:db8:d::1'),
  serverPort: 853,
  ipVersion: DnsIpVersion.V6,
  transport: DnsTransport.DOT,
  messageId: 0xbeef,
  qname: 'www.example.jp.',
  qtype: 28,
  qclass: 1,
  recursionDesired: true,
  dnssecOk: true,
  querySizeBytes: 61,
  responseSeen: true,
  rcode: 3,
  responseTimeUs: 1_834n,
  responseSizeBytes: 143,
  answerCount: 2,
  truncated: true,
  source: DnsEventSource.DNSTAP,
  resolverIdentity: 'resolver-tokyo-1',
});

// The Kafka message of kansoku.dns.queries.v2: the query above and a second, unanswered IPv6 query of the same client.
const dnsQueryBatch = fixture(DnsQueryBatchSchema, {
  queries: [
    dnsQuery.message as DnsQuery,
    create(DnsQuerySchema, {
      timeQueryNs: T0_NS + 250_000_000n,
      timeReceivedNs: T0_NS + 251_000_000n,
      clientAddress: ip('2001:db8:c::53'),
      clientPort: 40_001,
      serverAddress: ip('2001:db8:d::1'),
      serverPort: 53,
      ipVersion: DnsIpVersion.V6,
      transport: DnsTransport.UDP,
      messageId: 0x1234,
      qname: 'x7f3k.example.jp.',
      qtype: 1,
      qclass: 1,
      querySizeBytes: 46,
      source: DnsEventSource.DNSTAP,
      resolverIdentity: 'resolver-tokyo-1',
    }),
  ],
});

const streamKey = {
  sourceAddress: ip('10.20.30.40'),
  destinationAddress: ip('239.1.2.3'),
  sourcePort: 5004,
  destinationPort: 5004,
  ssrc: 0x1234_5678,
  payloadType: 96,
};

const rtpStreamSecond = fixture(RtpStreamSecondSchema, {
  stream: streamKey,
  path: StreamPath.MERGED,
  streamName: 'studio-a/cam-1/video',
  probeId: 'probe-1',
  windowStartUnixMs: T0_MS,
  windowDurationMs: 1000,
  packets: 262_000n,
  bytes: 370_000_000n,
  bitrateBps: 2_970_000_000n,
  packetsLost: 3n,
  packetsReordered: 2n,
  packetsDuplicated: 1n,
  jitterMs: 0.125,
  jitterMaxMs: 0.5,
  maxInterPacketGapUs: 180n,
  frames: 60,
  mediaClockRateHz: 90_000,
});

const senderReport = fixture(RtcpReportSchema, {
  timeReceivedNs: T0_NS + 2_000_000n,
  probeId: 'probe-1',
  sourceAddress: ip('10.20.30.40'),
  destinationAddress: ip('239.1.2.3'),
  sourcePort: 5005,
  destinationPort: 5005,
  packetType: RtcpPacketType.SENDER_REPORT,
  senderSsrc: 0x1234_5678,
  senderInfo: {
    ntpTimestamp: 0xdd6f_1a60_8000_0000n,
    rtpTimestamp: 3_000_000_000,
    senderPacketCount: 262_000,
    senderOctetCount: 370_000_000,
  },
  reportBlocks: [
    {
      sourceSsrc: 0x0bad_cafe,
      fractionLost: 12,
      cumulativePacketsLost: -2,
      extendedHighestSequence: 131_072 + 42,
      interarrivalJitter: 11,
      lastSenderReport: 0x6f1a_6080,
      delaySinceLastSenderReport: 32_768,
    },
  ],
  cname: 'cam-1@studio-a',
});

function metadata(uid: string, offsetMs: bigint): MessageInitShape<typeof EventMetadataSchema> {
  return {
    eventUid: uid,
    timeUnixMs: T0_MS + offsetMs,
    timeReceivedNs: (T0_MS + offsetMs) * 1_000_000n + 750_000n,
    sensorId: 'fseg-node-osaka-2',
    productName: 'fseg-controller',
    controllerId: 'fseg-ctl-osaka',
    channel: IngestChannel.NATS,
  };
}

const entity: MessageInitShape<typeof EntitySchema> = {
  uid: 'entity-7f3a',
  type: EntityType.USER,
  ijId: 'taro.yamada@example.co.jp',
  webAccount: 'tyamada',
  macAddress: mac('02:00:5e:10:00:01'),
  ipAddress: ip('172.16.5.23'),
  name: 'Taro Yamada',
};

const ips: MessageInitShape<typeof VnfSchema> = {
  uid: 'vnf-ips-1',
  name: 'IPS on-premises',
  kind: 'ips',
  location: 'fseg-node-osaka-2',
};

const authenticationEvent = fixture(AuthenticationEventSchema, {
  metadata: metadata('auth-0001', 0n),
  activity: AuthActivity.LOGON,
  entity,
  checks: [
    { method: AuthMethod.IJ_ID_MFA, result: AuthResult.SUCCESS },
    { method: AuthMethod.TIME_RANGE, result: AuthResult.FAILURE, detail: 'outside_time_range' },
  ],
  isMfa: true,
  location: { switchId: 'of:0000000000000a01', switchPort: 12, site: 'osaka-hq' },
  allowedTimeRange: { startUnixMs: T0_MS - 3_600_000n, endUnixMs: T0_MS - 600_000n },
  result: AuthResult.FAILURE,
  resultDetail: 'time range check failed',
  segments: ['project-a', 'project-b'],
});

const detectionFinding = fixture(DetectionFindingSchema, {
  metadata: metadata('finding-event-0001', 60_000n),
  activity: FindingActivity.CREATE,
  findingUid: 'finding-0001',
  title: 'Ransomware command-and-control beacon',
  analyticUid: 'sid:2027865',
  analyticName: 'ET MALWARE beacon',
  category: 'malware',
  severity: Severity.CRITICAL,
  confidencePercent: 85,
  vnf: ips,
  entity,
  segments: ['project-a', 'project-b'],
  srcAddress: ip('172.16.5.23'),
  dstAddress: ip('203.0.113.66'),
  srcPort: 49_822,
  dstPort: 8443,
  protocol: 6,
});

const remediationBase = {
  metadata: metadata('remediation-event-0001', 61_000n),
  remediationUid: 'remediation-0001',
  entity,
  findingUids: ['finding-0001'],
  targetControllerIds: ['fseg-ctl-osaka', 'fseg-ctl-tokyo'],
  reason: 'critical threat in segment project-a',
} satisfies Partial<MessageInitShape<typeof NetworkRemediationSchema>>;

const segmentIsolation = fixture(
  NetworkRemediationSchema,
  {
    ...remediationBase,
    activity: RemediationActivity.ISOLATE,
    state: RemediationState.INTENT,
    action: {
      case: 'segmentIsolation',
      value: { segment: 'project-a', policy: 'quarantine', untilUnixMs: T0_MS + 3_600_000n },
    },
  },
  'segment-isolation',
);

const vnfChainChange = fixture(
  NetworkRemediationSchema,
  {
    ...remediationBase,
    activity: RemediationActivity.HARDEN,
    state: RemediationState.APPLIED,
    action: {
      case: 'vnfChainChange',
      value: {
        segment: 'project-a',
        trafficClass: 'all',
        previousChain: [
          { uid: 'vnf-fw-1', name: 'Firewall', kind: 'firewall', location: 'fseg-node-osaka-2' },
        ],
        newChain: [
          { uid: 'vnf-fw-1', name: 'Firewall', kind: 'firewall', location: 'fseg-node-osaka-2' },
          { uid: 'vnf-ips-cloud-1', name: 'IPS in the cloud', kind: 'ips', location: 'cloud' },
        ],
      },
    },
  },
  'vnf-chain-change',
);

export const goldenFixtures: readonly GoldenFixture[] = [
  flowRecord,
  flowRecordBatch,
  routeUpdate,
  routeUpdateBatch,
  peerUp,
  peerDown,
  peerStats,
  dnsQuery,
  dnsQueryBatch,
  rtpStreamSecond,
  senderReport,
  authenticationEvent,
  detectionFinding,
  segmentIsolation,
  vnfChainChange,
];
