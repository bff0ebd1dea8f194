// Public API of @kansoku/dns: the collector side (dnstap, query logs, pcap replay) and the processor side
// (rollups, queries, detection, simulator) each add their export lines here.
export * from './collector/index.ts';
export * from './decoders/index.ts';
export { dnsCollectorSection, dnsModule, dnsProcessorSection } from './module.ts';
export * from './processor/aggregate.ts';
export * from './processor/processor.ts';
export { registeredDomain } from './processor/zone.ts';
export * from './queries.ts';
export * from './replay/index.ts';
export * from './tables.ts';
