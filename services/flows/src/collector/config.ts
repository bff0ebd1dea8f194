/**
 * Settings of the flows collector: listeners, Kafka topic, template state file, enrichment table, and the
 * limits of both decoders (their own schemas, merged in).
 */

import { topics } from '@kansoku/contracts';
import { type Static, Type } from '@sinclair/typebox';
import { netflowDecoderSchema } from '../decoders/netflow/index.ts';
import { sflowDecoderSchema } from '../decoders/sflow/index.ts';

const port = (defaultPort: number, what: string) =>
  Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: defaultPort,
    description: `${what}; 0 picks a free port (tests)`,
  });

export const flowsCollectorSchema = Type.Object({
  address: Type.String({
    default: '127.0.0.1',
    minLength: 1,
    description: 'Local address every listener binds: 0.0.0.0 (or ::) in production to hear remote exporters',
  }),
  netflowPort: port(2055, 'UDP port for NetFlow v5/v9 (IPFIX is accepted there too)'),
  ipfixPort: port(4739, 'UDP port for IPFIX (NetFlow v5/v9 are accepted there too)'),
  ipfixTcpPort: port(4739, 'TCP port for IPFIX over TCP'),
  sflowPort: port(6343, 'UDP port for sFlow v5'),
  recvBufferSize: Type.Integer({
    minimum: 0,
    default: 0,
    description:
      'SO_RCVBUF of the UDP sockets in bytes (capped by net.core.rmem_max); 0 keeps the kernel default',
  }),
  maxTcpConnections: Type.Integer({
    minimum: 1,
    default: 256,
    description: 'IPFIX over TCP connections open at once; more are refused and counted',
  }),
  topic: Type.String({
    default: topics.flowRecords.name,
    minLength: 1,
    description: 'Kafka topic the flow records are published to',
  }),
  maxQueuedRecords: Type.Integer({
    minimum: 1,
    default: 200_000,
    description:
      'Records decoded but not yet acknowledged by Kafka; beyond it new records are dropped and counted',
  }),
  maxSendRecords: Type.Integer({
    minimum: 1,
    default: 10_000,
    description: 'Records handed to the Kafka producer in one call',
  }),
  maxRecordsPerMessage: Type.Integer({
    minimum: 1,
    maximum: 5_000,
    default: 200,
    description:
      'Records of one export packet carried by one Kafka message (FlowRecordBatch); a larger packet is split',
  }),
  stateFile: Type.String({
    default: '.data/flows/templates.json',
    description: 'Where NetFlow v9/IPFIX templates are kept across restarts; empty: not kept',
  }),
  stateSaveIntervalMs: Type.Integer({
    minimum: 1000,
    default: 30_000,
    description: 'How often the template state is written (and always on stop)',
  }),
  prefixes: Type.Array(Type.String(), {
    default: [],
    description:
      'Origin AS by longest prefix match, "prefix/length=AS" (192.0.2.0/24=64500, 2001:db8::/32=64501); ' +
      'fills src_as/dst_as of records that carry 0. Env: comma-separated',
  }),
  ...netflowDecoderSchema.properties,
  ...sflowDecoderSchema.properties,
});

export type FlowsCollectorConfig = Static<typeof flowsCollectorSchema>;
