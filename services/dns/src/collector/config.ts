/**
 * Settings of the DNS collector: the dnstap listeners (TCP and a unix socket), frame and pairing limits,
 * the query-log feeds (a followed file, a syslog port) and the Kafka topic with its publish queue.
 */

import { topics } from '@kansoku/contracts';
import { type Static, Type } from '@sinclair/typebox';

export const dnsCollectorSchema = Type.Object({
  address: Type.String({
    default: '127.0.0.1',
    minLength: 1,
    description: 'Local address of the dnstap TCP listener: 0.0.0.0 (or ::) to hear remote resolvers',
  }),
  port: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 6000,
    description: 'TCP port for dnstap over Frame Streams; 0 picks a free port (tests)',
  }),
  unixSocketPath: Type.String({
    default: '',
    description: 'Unix socket path for dnstap over Frame Streams (local resolvers); empty: none',
  }),
  maxConnections: Type.Integer({
    minimum: 1,
    default: 256,
    description: 'Frame Streams connections open at once per listener; more are refused and counted',
  }),
  maxFrameBytes: Type.Integer({
    minimum: 512,
    maximum: 16 * 1024 * 1024,
    default: 256 * 1024,
    description: 'Largest dnstap data frame accepted; a sender of a larger one is disconnected and counted',
  }),
  handshakeTimeoutMs: Type.Integer({
    minimum: 100,
    default: 10_000,
    description:
      'A connection that has not completed the Frame Streams handshake by then is closed and counted',
  }),
  pairingTimeoutMs: Type.Integer({
    minimum: 100,
    default: 10_000,
    description: 'How long a query waits for its response before it is published without one',
  }),
  maxPendingQueries: Type.Integer({
    minimum: 1,
    default: 200_000,
    description: 'Queries waiting for their response at most; beyond it the oldest is published unpaired',
  }),
  queryLogFile: Type.String({
    default: '',
    description:
      'Resolver query log (Unbound log-queries/log-replies or BIND querylog) to follow; empty: none',
  }),
  queryLogFromStart: Type.Boolean({
    default: false,
    description: 'Read the query log file from its beginning instead of its end at start',
  }),
  syslogPort: Type.Integer({
    minimum: -1,
    maximum: 65535,
    default: -1,
    description: 'UDP port for query-log lines sent by syslog (RFC 5424 or 3164); -1: none, 0: a free port',
  }),
  topic: Type.String({
    default: topics.dnsQueries.name,
    minLength: 1,
    description:
      'Kafka topic the DnsQuery records are published to (DnsQueryBatch messages, one client shard each)',
  }),
  maxQueuedRecords: Type.Integer({
    minimum: 1,
    default: 200_000,
    description:
      'Records not yet acknowledged by Kafka at most; senders are paused near it, then records dropped',
  }),
  maxSendRecords: Type.Integer({
    minimum: 1,
    default: 10_000,
    description: 'Records handed to the Kafka producer in one call',
  }),
  maxRecordsPerMessage: Type.Optional(
    Type.Integer({
      minimum: 1,
      default: 500,
      description: 'Queries per Kafka message (DnsQueryBatch of one client shard) at most',
    }),
  ),
  maxMessageBytes: Type.Optional(
    Type.Integer({
      minimum: 1,
      default: 800,
      description:
        'A Kafka message is closed at this many bytes: the producer sends up to 1000 messages a request, and the broker refuses a partition batch over 1 MiB',
    }),
  ),
  messageLingerMs: Type.Optional(
    Type.Integer({
      minimum: 0,
      default: 20,
      description: 'Longest a query waits for its Kafka message to fill, in ms',
    }),
  ),
});

export type DnsCollectorConfig = Static<typeof dnsCollectorSchema>;
