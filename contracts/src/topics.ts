// The registry of Kafka topics: for each topic its name, the protobuf message it carries, how its record key is
// computed, and its default partition count and retention. Producers and consumers go through `encode`,
// `decode` and `keyOf` so that a topic's payload is always the message registered here.

import { type DescMessage, fromBinary, type MessageShape, toBinary } from '@bufbuild/protobuf';
import { type PeerEvent, PeerEventSchema, type RouteUpdate } from './gen/kansoku/bgp/v1/bgp_pb.ts';
import { RouteUpdateBatchSchema } from './gen/kansoku/bgp/v2/bgp_pb.ts';
import { DnsQueryBatchSchema } from './gen/kansoku/dns/v2/dns_pb.ts';
import { FlowRecordBatchSchema } from './gen/kansoku/flows/v2/flows_pb.ts';
import { RtcpReportSchema, RtpStreamSecondSchema } from './gen/kansoku/rtp/v1/rtp_pb.ts';
import {
  AuthenticationEventSchema,
  DetectionFindingSchema,
  type Entity,
  NetworkRemediationSchema,
} from './gen/kansoku/threats/v1/threats_pb.ts';
import { formatIpAddress, formatMacAddress } from './ip-address.ts';

/** `kansoku.<domain>.<name>.v<N>`: name in lower case words joined by `-`, version from 1. */
export const TOPIC_NAME_PATTERN =
  /^kansoku\.(flows|bgp|dns|rtp|threats)\.[a-z][a-z0-9]*(-[a-z0-9]+)*\.v[1-9][0-9]*$/;

export type Domain = 'flows' | 'bgp' | 'dns' | 'rtp' | 'threats';

/** What a topic's record key identifies; records with the same key go to the same partition, in order. */
export type KeyKind = 'exporter' | 'peer' | 'client' | 'stream' | 'rtcp-reporter' | 'entity';

export interface TopicKey<Desc extends DescMessage> {
  readonly kind: KeyKind;
  /** How the key is built, for humans. */
  readonly description: string;
  /** The record key of a message. Deterministic: depends only on the message's fields. */
  of(message: MessageShape<Desc>): string;
}

export interface Topic<Name extends string = string, Desc extends DescMessage = DescMessage> {
  readonly name: Name;
  readonly domain: Domain;
  readonly description: string;
  /** Schema of the message every record of the topic carries. */
  readonly schema: Desc;
  readonly key: TopicKey<Desc>;
  /** Partitions to create the topic with when it does not exist. */
  readonly defaultPartitions: number;
  /** `retention.ms` to create the topic with. Kafka is a buffer here; the warehouse keeps history. */
  readonly retentionMs: number;
}

const HOUR_MS = 60 * 60 * 1000;
const NO_ADDRESS = new Uint8Array(0);
const DAY_MS = 24 * HOUR_MS;

function defineTopic<const Name extends string, Desc extends DescMessage>(
  topic: Topic<Name, Desc>,
): Topic<Name, Desc> {
  return Object.freeze({ ...topic, key: Object.freeze({ ...topic.key }) });
}

function peerKey(message: RouteUpdate | PeerEvent): string {
  const peer = message.peer;
  const distinguisher = peer?.distinguisher ?? 0n;
  const address = peer ? formatIpAddress(peer.address) : '';
  return `${formatIpAddress(message.routerAddress)}|${distinguisher}|${address}`;
}

function entityKey(entity: Entity | undefined): string {
  if (!entity) return '';
  if (entity.uid !== '') return entity.uid;
  if (entity.macAddress.length > 0) return `mac=${formatMacAddress(entity.macAddress)}`;
  if (entity.ipAddress.length > 0) return `ip=${formatIpAddress(entity.ipAddress)}`;
  return '';
}

/** Client shards of kansoku.dns.queries.v2: queries of one client always share one (so one partition). */
export const DNS_CLIENT_SHARDS = 64;

/**
 * The client shard of a DNS query's client address (raw octets): FNV-1a of the octets, modulo
 * DNS_CLIENT_SHARDS. Every query of a batch is in the same shard.
 */
export function dnsClientShard(clientAddress: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < clientAddress.length; i++) h = Math.imul(h ^ clientAddress[i]!, 0x01000193);
  return (h >>> 0) % DNS_CLIENT_SHARDS;
}

/** The record key of a client shard's batches: `client-shard-<n>`. */
export function dnsClientShardKey(shard: number): string {
  return `client-shard-${shard}`;
}

const ENTITY_KEY_DESCRIPTION =
  "entity.uid; when empty, `mac=<entity MAC>`, else `ip=<entity IP>`, else '' (no entity)";

/** Every topic, by a short property name. */
export const topics = {
  flowRecords: defineTopic({
    name: 'kansoku.flows.records.v2',
    domain: 'flows',
    description:
      'Flow records decoded from NetFlow v5/v9, IPFIX and sFlow, sampling applied, enriched; in batches of one exporter',
    schema: FlowRecordBatchSchema,
    key: {
      kind: 'exporter',
      description:
        "exporter address of the batch's records in text form (keeps one exporter in order, for sequence accounting)",
      of: (batch) => formatIpAddress(batch.records[0]?.exporterAddress ?? NO_ADDRESS),
    },
    defaultPartitions: 12,
    retentionMs: DAY_MS,
  }),
  bgpUpdates: defineTopic({
    name: 'kansoku.bgp.updates.v2',
    domain: 'bgp',
    description:
      'Prefixes announced or withdrawn by one peer in one RIB (BMP and MRT), one RouteUpdate each; in batches of one peer',
    schema: RouteUpdateBatchSchema,
    key: {
      kind: 'peer',
      description: "`<router address>|<peer distinguisher>|<peer address>` of the batch's updates",
      of: (batch) => (batch.updates[0] === undefined ? '' : peerKey(batch.updates[0])),
    },
    defaultPartitions: 6,
    retentionMs: 7 * DAY_MS,
  }),
  bgpPeers: defineTopic({
    name: 'kansoku.bgp.peers.v1',
    domain: 'bgp',
    description: 'Peer up, peer down and statistics reports',
    schema: PeerEventSchema,
    key: {
      kind: 'peer',
      description: '`<router address>|<peer distinguisher>|<peer address>`, as for kansoku.bgp.updates.v2',
      of: peerKey,
    },
    defaultPartitions: 1,
    retentionMs: 30 * DAY_MS,
  }),
  dnsQueries: defineTopic({
    name: 'kansoku.dns.queries.v2',
    domain: 'dns',
    description:
      'DNS queries (with their response when seen) from dnstap, query logs and captures; in batches of one client shard',
    schema: DnsQueryBatchSchema,
    key: {
      kind: 'client',
      description:
        '`client-shard-<n>`, n = FNV-1a of the client address octets mod 64 (per-client rate detection sees all of a client)',
      of: (batch) => dnsClientShardKey(dnsClientShard(batch.queries[0]?.clientAddress ?? NO_ADDRESS)),
    },
    defaultPartitions: 12,
    retentionMs: DAY_MS,
  }),
  rtpStreamStats: defineTopic({
    name: 'kansoku.rtp.stream-stats.v1',
    domain: 'rtp',
    description: 'Per-stream, per-second RTP measurements (loss, jitter, bitrate) per ST 2022-7 path',
    schema: RtpStreamSecondSchema,
    key: {
      kind: 'stream',
      description:
        '`<source address>|<source port>|<destination address>|<destination port>|<ssrc>` of stream',
      of: (second) => {
        const s = second.stream;
        if (!s) return '';
        return [
          formatIpAddress(s.sourceAddress),
          s.sourcePort,
          formatIpAddress(s.destinationAddress),
          s.destinationPort,
          s.ssrc,
        ].join('|');
      },
    },
    defaultPartitions: 4,
    retentionMs: 3 * DAY_MS,
  }),
  rtpRtcp: defineTopic({
    name: 'kansoku.rtp.rtcp.v1',
    domain: 'rtp',
    description: 'RTCP sender and receiver reports',
    schema: RtcpReportSchema,
    key: {
      kind: 'rtcp-reporter',
      description: '`<source address>|<sender ssrc>` of the report',
      of: (report) => `${formatIpAddress(report.sourceAddress)}|${report.senderSsrc}`,
    },
    defaultPartitions: 2,
    retentionMs: 3 * DAY_MS,
  }),
  threatAuth: defineTopic({
    name: 'kansoku.threats.auth.v1',
    domain: 'threats',
    description: 'FSEG authentication attempts (OCSF 3002)',
    schema: AuthenticationEventSchema,
    key: { kind: 'entity', description: ENTITY_KEY_DESCRIPTION, of: (event) => entityKey(event.entity) },
    defaultPartitions: 3,
    retentionMs: 30 * DAY_MS,
  }),
  threatFindings: defineTopic({
    name: 'kansoku.threats.findings.v1',
    domain: 'threats',
    description: 'Threats detected by security VNFs and sensors (OCSF 2004)',
    schema: DetectionFindingSchema,
    key: { kind: 'entity', description: ENTITY_KEY_DESCRIPTION, of: (finding) => entityKey(finding.entity) },
    defaultPartitions: 3,
    retentionMs: 30 * DAY_MS,
  }),
  threatRemediations: defineTopic({
    name: 'kansoku.threats.remediations.v1',
    domain: 'threats',
    description: 'Segment isolations and VNF chain changes, intended and applied (OCSF 7004)',
    schema: NetworkRemediationSchema,
    key: {
      kind: 'entity',
      description: ENTITY_KEY_DESCRIPTION,
      of: (remediation) => entityKey(remediation.entity),
    },
    defaultPartitions: 3,
    retentionMs: 90 * DAY_MS,
  }),
} as const;

/** One of the registered topics. */
export type RegisteredTopic = (typeof topics)[keyof typeof topics];
export type TopicName = RegisteredTopic['name'];
/** The registered topic with this name. */
export type TopicNamed<N extends TopicName> = Extract<RegisteredTopic, { readonly name: N }>;
/** The message carried by a topic (a Topic or a registered topic's name). */
export type TopicMessage<T extends Topic | TopicName> = T extends TopicName
  ? TopicMessage<TopicNamed<T>>
  : T extends Topic<string, infer Desc>
    ? MessageShape<Desc>
    : never;
/** The message of any registered topic. */
export type RegisteredMessage = TopicMessage<RegisteredTopic>;

/** Every registered topic, in declaration order. */
export const allTopics: readonly RegisteredTopic[] = Object.freeze(Object.values(topics));

const topicsByName: ReadonlyMap<string, RegisteredTopic> = new Map(
  allTopics.map((topic) => [topic.name, topic]),
);

/** A topic name that is not in the registry. Code: `KANSOKU_CONTRACTS_UNKNOWN_TOPIC`. */
export class UnknownTopicError extends Error {
  readonly code = 'KANSOKU_CONTRACTS_UNKNOWN_TOPIC';
  constructor(readonly topicName: string) {
    super(`unknown topic ${JSON.stringify(topicName)}; known topics: ${[...topicsByName.keys()].join(', ')}`);
    this.name = 'UnknownTopicError';
  }
}

/** A payload that is not a valid message of its topic. Code: `KANSOKU_CONTRACTS_DECODE_FAILED`. */
export class TopicDecodeError extends Error {
  readonly code = 'KANSOKU_CONTRACTS_DECODE_FAILED';
  constructor(
    readonly topicName: string,
    readonly byteLength: number,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`cannot decode a ${byteLength}-byte record of topic ${topicName}: ${reason}`, { cause });
    this.name = 'TopicDecodeError';
  }
}

/** A message of another type than the topic carries. Code: `KANSOKU_CONTRACTS_WRONG_MESSAGE`. */
export class TopicMessageMismatchError extends Error {
  readonly code = 'KANSOKU_CONTRACTS_WRONG_MESSAGE';
  constructor(
    readonly topicName: string,
    readonly expectedType: string,
    readonly actualType: string,
  ) {
    super(`topic ${topicName} carries ${expectedType}, not ${actualType}`);
    this.name = 'TopicMessageMismatchError';
  }
}

/** The registered topic with this name; throws UnknownTopicError for any other name. */
export function topicByName<N extends TopicName>(name: N): TopicNamed<N>;
export function topicByName(name: string): RegisteredTopic;
export function topicByName(name: string): RegisteredTopic {
  const topic = topicsByName.get(name);
  if (!topic) throw new UnknownTopicError(name);
  return topic;
}

function resolve(topic: Topic | string): Topic {
  return typeof topic === 'string' ? topicByName(topic) : topic;
}

/**
 * Serialises a message for a topic (protobuf binary). A topic may be given by name (registered topics) or as a
 * Topic object, e.g. a registered topic renamed for a test: `{ ...topics.flowRecords, name: 'test-…' }`.
 */
export function encode<Desc extends DescMessage>(
  topic: Topic<string, Desc>,
  message: MessageShape<Desc>,
): Uint8Array;
export function encode<N extends TopicName>(topic: N, message: TopicMessage<N>): Uint8Array;
export function encode(topic: Topic | string, message: MessageShape<DescMessage>): Uint8Array {
  const resolved = resolve(topic);
  if (message.$typeName !== resolved.schema.typeName) {
    throw new TopicMessageMismatchError(resolved.name, resolved.schema.typeName, String(message.$typeName));
  }
  return toBinary(resolved.schema, message);
}

/** Parses a record value of a topic; throws TopicDecodeError when the bytes are not a valid message. */
export function decode<Desc extends DescMessage>(
  topic: Topic<string, Desc>,
  bytes: Uint8Array,
): MessageShape<Desc>;
export function decode<N extends TopicName>(topic: N, bytes: Uint8Array): TopicMessage<N>;
export function decode(topic: string, bytes: Uint8Array): RegisteredMessage;
export function decode(topic: Topic | string, bytes: Uint8Array): MessageShape<DescMessage> {
  const resolved = resolve(topic);
  try {
    return fromBinary(resolved.schema, bytes);
  } catch (error) {
    throw new TopicDecodeError(resolved.name, bytes.byteLength, error);
  }
}

/** The record key of a message on a topic. */
export function keyOf<Desc extends DescMessage>(
  topic: Topic<string, Desc>,
  message: MessageShape<Desc>,
): string;
export function keyOf<N extends TopicName>(topic: N, message: TopicMessage<N>): string;
export function keyOf(topic: Topic | string, message: MessageShape<DescMessage>): string {
  return resolve(topic).key.of(message);
}
