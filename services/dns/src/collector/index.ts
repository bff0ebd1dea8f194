export {
  createDnsCollector,
  type DnsCollector,
  type DnsCollectorDeps,
  type DnsCollectorEndpoint,
} from './collector.ts';
export { type DnsCollectorConfig, dnsCollectorSchema } from './config.ts';
export { DnsQueryBatchBuilder, encodeDnsQuery, encodeDnsQueryBatch } from './dns-query-codec.ts';
export { createFileFollower, type FileFollower } from './file-follower.ts';
export { createQueryPublisher, type QueryPublisher } from './publisher.ts';
export { createQueryLogFeeds, type QueryLogFeeds } from './query-log-feeds.ts';
