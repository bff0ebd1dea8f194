// Public API of @kansoku/dns: the collector side (dnstap, query logs, pcap replay) and the processor side
// (rollups, queries, detection, simulator) each add their export lines here.
export * from './collector/index.ts';
export * from './decoders/index.ts';
export { dnsCollectorSection, dnsModule } from './module.ts';
