export { ByteReader, type ByteReaderOptions, INPUT_TRUNCATED, TruncatedInputError } from './byte-reader.ts';
export { formatIPAddress, formatIPv4, formatIPv6 } from './ip-address.ts';
export type { ListenerLogger } from './logger.ts';
export { parseProcNetUdp, type UdpSocketRow } from './proc-net-udp.ts';
export {
  createRateLimitedLog,
  type RateLimitedLog,
  type RateLimitedLogOptions,
  type WarnLogger,
} from './rate-limited-log.ts';
export {
  createTcpListener,
  type TcpConnectionHandler,
  type TcpConnectionInfo,
  type TcpListener,
  type TcpListenerConfig,
  type TcpListenerDeps,
  type TcpListenerSettings,
  tcpListenerSchema,
} from './tcp-listener.ts';
export {
  createUdpListener,
  OTHER_SOURCE,
  type UdpListener,
  type UdpListenerAddress,
  type UdpListenerConfig,
  type UdpListenerDeps,
  type UdpListenerSettings,
  udpListenerSchema,
} from './udp-listener.ts';
