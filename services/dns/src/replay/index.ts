export { type CaptureDecoderConfig, type CaptureDecoderStats, CaptureDnsDecoder } from './capture-decoder.ts';
export {
  type DnsFileKind,
  type DnsReplayOptions,
  type DnsReplaySummary,
  dnsFileKind,
  dnsReplayOptionsSchema,
  replayDnsFile,
} from './dns-replay.ts';
export { IpReassembler, parseUdpDatagram } from './ip-reassembly.ts';
export { dnsReplayer } from './replayer.ts';
export { TcpDnsStreams } from './tcp-streams.ts';
