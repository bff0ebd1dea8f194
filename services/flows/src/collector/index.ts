export {
  createFlowsCollector,
  type FlowsCollector,
  type FlowsCollectorDeps,
  type FlowsCollectorEndpoint,
  fillOriginAs,
  type ListenerKind,
  peerAddress,
} from './collector.ts';
export { type FlowsCollectorConfig, flowsCollectorSchema } from './config.ts';
export {
  createIpfixFramer,
  IPFIX_HEADER_LENGTH,
  type IpfixFramer,
  type IpfixFramerOutput,
  IpfixStreamError,
  IpfixStreamErrorCode,
} from './ipfix-stream.ts';
export { type CollectorMetrics, collectorMetrics } from './metrics.ts';
export {
  createPrefixAsTable,
  type PrefixAsTable,
  type PrefixEntry,
  parsePrefixEntry,
} from './prefix-table.ts';
export { createRecordPublisher, type PublisherCounts, type RecordPublisher } from './publisher.ts';
export { readTemplateState, type StateFileReadResult, writeTemplateState } from './state-file.ts';
