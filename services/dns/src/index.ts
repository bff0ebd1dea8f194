// Public API of @kansoku/dns: the collector side (dnstap, query logs, pcap replay) and the processor side
// (rollups, queries, detection, simulator) each add their export lines here.
export {};
