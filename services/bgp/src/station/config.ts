/**
 * Settings of the BMP station (`bgpStation` section): where it listens, the topics it publishes to and its
 * bounds (publish queue, peers per router, message size).
 */

import { topics } from '@kansoku/contracts';
import { tcpListenerSchema } from '@kansoku/kit/net/tcp-listener';
import { type Static, Type } from '@sinclair/typebox';
import { DEFAULT_MAX_PEERS_PER_ROUTER } from '../decoders/bmp/session.ts';

/** IANA's BMP port (RFC 7854 names none; 11019 is what routers and collectors use). */
export const BMP_DEFAULT_PORT = 11019;

export const bgpStationSchema = Type.Object({
  // Loopback like every listener of the single-machine defaults: routers on other hosts need
  // KANSOKU_BGP_STATION_ADDRESS (the Helm chart sets 0.0.0.0).
  ...tcpListenerSchema({ port: BMP_DEFAULT_PORT, address: '127.0.0.1', maxConnections: 1024 }).properties,
  updatesTopic: Type.String({
    default: topics.bgpUpdates.name,
    minLength: 1,
    description: 'Kafka topic of RouteUpdate messages (one per prefix announced or withdrawn)',
  }),
  peersTopic: Type.String({
    default: topics.bgpPeers.name,
    minLength: 1,
    description: 'Kafka topic of PeerEvent messages (peer up, peer down, statistics)',
  }),
  maxQueuedMessages: Type.Integer({
    minimum: 1,
    default: 200_000,
    description:
      'Routes and peer events decoded but not yet acknowledged by Kafka; at this bound the station stops reading from the ' +
      'routers (TCP back-pressure) until half of them are acknowledged. Routes are never dropped for it',
  }),
  maxSendMessages: Type.Integer({
    minimum: 1,
    default: 10_000,
    description: 'Kafka messages handed to the producer in one call',
  }),
  maxRoutesPerMessage: Type.Integer({
    minimum: 1,
    default: 500,
    description:
      'Routes of one peer carried by one Kafka message (RouteUpdateBatch) at most; consecutive routes of a peer ' +
      'share a message, which costs the station, the broker and the processor far less than one message each',
  }),
  maxPeersPerRouter: Type.Integer({
    minimum: 1,
    default: DEFAULT_MAX_PEERS_PER_ROUTER,
    description: 'BGP peers remembered per router connection; more Peer Ups are counted, not remembered',
  }),
  maxMessageLength: Type.Integer({
    minimum: 4096,
    default: 1 << 20,
    description: 'Longest BMP message accepted (bytes); a longer one closes the connection',
  }),
});

export type BgpStationConfig = Static<typeof bgpStationSchema>;
