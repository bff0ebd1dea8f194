// Public API of @kansoku/contracts: the topic registry with its codec helpers, the generated messages of each
// domain (as namespaces, since domains may reuse a type name such as IpVersion), and address helpers.
//
//   import { bgp, encode, topics } from '@kansoku/contracts';
//   const bytes = encode(topics.bgpPeers, create(bgp.PeerEventSchema, { ... }));
//
// A domain's generated module can also be imported directly:
// `@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb`.

export {
  decodeFlowRecord,
  decodeFlowRecordBatch,
  encodeFlowRecord,
  encodeFlowRecordBatch,
} from './flow-record-codec.ts';
export * as bgp from './gen/kansoku/bgp/v1/bgp_pb.ts';
export * as bgpV2 from './gen/kansoku/bgp/v2/bgp_pb.ts';
export * as dns from './gen/kansoku/dns/v1/dns_pb.ts';
export * as dnsV2 from './gen/kansoku/dns/v2/dns_pb.ts';
export * as flows from './gen/kansoku/flows/v1/flows_pb.ts';
export * as flowsV2 from './gen/kansoku/flows/v2/flows_pb.ts';
export * as rtp from './gen/kansoku/rtp/v1/rtp_pb.ts';
export * as threats from './gen/kansoku/threats/v1/threats_pb.ts';
export { formatIpAddress, formatMacAddress, InvalidIpAddressError, parseIpAddress } from './ip-address.ts';
export { encodeRouteUpdateBatch, forEachRouteUpdate } from './route-update-batch.ts';
export {
  allTopics,
  DNS_CLIENT_SHARDS,
  type Domain,
  decode,
  dnsClientShard,
  dnsClientShardKey,
  encode,
  type KeyKind,
  keyOf,
  type RegisteredMessage,
  type RegisteredTopic,
  TOPIC_NAME_PATTERN,
  type Topic,
  TopicDecodeError,
  type TopicKey,
  type TopicMessage,
  TopicMessageMismatchError,
  type TopicName,
  type TopicNamed,
  topicByName,
  topics,
  UnknownTopicError,
} from './topics.ts';
