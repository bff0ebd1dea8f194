// Public API of @kansoku/dns: the collector side (dnstap, query logs, pcap replay) and the processor side
// (rollups, queries, detection, simulator) each add their export lines here.
export * from './collector/index.ts';
export * from './decoders/index.ts';
export * from './detection/client-rate-spike.ts';
export * from './detection/detector-service.ts';
export * from './detection/labels.ts';
export * from './detection/random-subdomain.ts';
export * from './detection/servfail-surge.ts';
export { dnsCollectorSection, dnsDetectorSection, dnsModule, dnsProcessorSection } from './module.ts';
export * from './processor/aggregate.ts';
export { ByteKeyTable, DnsQueryBatchAggregator } from './processor/batch-aggregator.ts';
export * from './processor/dns-query-decoder.ts';
export * from './processor/processor.ts';
export { registeredDomain } from './processor/zone.ts';
export * from './queries.ts';
export * from './replay/index.ts';
export * from './simulator/dnstap-encoder.ts';
export {
  dataFrames,
  type FrameStreamClient,
  openFrameStreamClient,
} from './simulator/frame-stream-client.ts';
export * from './simulator/profile.ts';
export * from './simulator/query-generator.ts';
export * from './simulator/simulator.ts';
export * from './tables.ts';
