export { resolveSflowDecoderConfig, type SflowDecoderConfig, sflowDecoderSchema } from './config.ts';
export {
  type AsPathSegment,
  CounterRecordFormat,
  type ExtendedGateway,
  type ExtendedRouter,
  type ExtendedSwitch,
  FlowRecordFormat,
  formatKey,
  type GenericInterfaceCounters,
  HeaderProtocol,
  InterfaceFormat,
  LOCAL_INTERFACE,
  parseSflowDatagram,
  type SampledEthernet,
  type SampledHeader,
  type SampledIp,
  SampleFormat,
  SFLOW_VERSION,
  type SflowCounterSample,
  type SflowDatagram,
  type SflowFlowSample,
  type SflowInterface,
  type SflowPartialHeader,
} from './datagram.ts';
export {
  createSflowDecoder,
  type InterfaceCounters,
  type SflowDecodeResult,
  type SflowDecoder,
  type SflowDecoderDeps,
  type SflowSource,
} from './decoder.ts';
export { SFLOW_ERROR_CODES, SflowDecodeError, SflowErrorCode } from './errors.ts';
export {
  decodeSampledHeader,
  HEADER_PROTOCOL_UNSUPPORTED,
  type SampledHeaderResult,
  type SampledPacket,
} from './sampled-header.ts';
export {
  MAX_COUNTER_KEYS,
  OTHER_KEY,
  type SflowAgentStats,
  type SflowCounts,
  type SflowDecoderStats,
} from './stats.ts';
