import { topics } from '@kansoku/contracts';
import { defineSection } from '@kansoku/kit';
import { ORIGIN_AS_SUBJECT } from '@kansoku/kit/enrichment';
import { type Static, Type } from '@sinclair/typebox';
import { bgpDetectionSchema } from '../detection/detectors.ts';

export const BGP_PROCESSOR_GROUP = 'kansoku-bgp-processor';

export const bgpProcessorSchema = Type.Object({
  updatesTopic: Type.String({
    default: topics.bgpUpdates.name,
    minLength: 1,
    description: 'Route updates to consume',
  }),
  peersTopic: Type.String({
    default: topics.bgpPeers.name,
    minLength: 1,
    description: 'Peer events to consume',
  }),
  groupId: Type.String({
    default: BGP_PROCESSOR_GROUP,
    minLength: 1,
    description: 'Kafka consumer group (a generation suffix is added when no snapshot exists; see README)',
  }),
  stateFile: Type.String({
    default: '.data/bgp/rib.snapshot',
    minLength: 1,
    description: 'RIB snapshot: loaded at start, written every snapshotIntervalMs and on stop',
  }),
  snapshotIntervalMs: Type.Integer({
    default: 60_000,
    minimum: 1000,
    description: 'How often the RIB is saved and consumer offsets committed',
  }),
  flushIntervalMs: Type.Integer({
    default: 5000,
    minimum: 100,
    description: 'How often update rates, peer events and origin changes are written',
  }),
  snapshotRowsIntervalMs: Type.Integer({
    default: 60_000,
    minimum: 1000,
    description:
      'How often routes by prefix length and peer state are written (one row set per minute bucket)',
  }),
  originAsSubject: Type.String({
    default: ORIGIN_AS_SUBJECT,
    minLength: 1,
    description: 'NATS subject where IP → origin AS requests are answered',
  }),
  serveOriginAsOverNats: Type.Boolean({
    default: true,
    description: 'Answer IP → origin AS requests on NATS',
  }),
  detection: Type.Object(bgpDetectionSchema.properties, { default: {} }),
});

export type BgpProcessorConfig = Static<typeof bgpProcessorSchema>;

export const bgpProcessorSection = defineSection('bgpProcessor', bgpProcessorSchema);
