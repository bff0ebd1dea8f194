/**
 * The BMP station: a TCP listener (RFC 7854 §3.2: the router connects to the station) that decodes each
 * router's stream and publishes RouteUpdates and PeerEvents to Kafka.
 *
 * Per router connection: a framer (one message of at most `maxMessageLength` buffered), a BMP session (the
 * capabilities of each peer from its Peer Up, bounded by `maxPeersPerRouter`) and the set of peers up.
 * Messages are decoded and published as the bytes arrive, in order, so one peer's stream stays ordered on
 * the topics.
 *
 * Malformed input: a message that cannot be decoded is counted (per router, by error code), logged
 * rate-limited and skipped: the common header's length still frames the next one. A stream that cannot be
 * resynchronised (bad version, impossible length) is closed. When a connection ends for any reason, or the
 * router sends Termination, a PEER_EVENT_TYPE_DOWN is published for every peer still up (or that sent routes
 * without a Peer Up), so the processor drops their routes; a router that reconnects sends Peer Up and its routes again (RFC 7854 §5), and the RIB
 * resynchronises without stale routes.
 */

import { isIPv4, isIPv6, type Socket } from 'node:net';
import type { Peer } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { errorMessage, type KafkaProducer, KansokuError, type Logger, type Registry } from '@kansoku/kit';
import { createRateLimitedLog } from '@kansoku/kit/net/rate-limited-log';
import { createTcpListener, type TcpConnectionInfo, type TcpListener } from '@kansoku/kit/net/tcp-listener';

import { BmpErrorCode } from '../decoders/bmp/errors.ts';
import { type BmpFramer, createBmpFramer } from '../decoders/bmp/framer.ts';
import { parseBmpMessage } from '../decoders/bmp/parse.ts';
import { type BmpSession, createBmpSession, peerKey } from '../decoders/bmp/session.ts';
import type { BmpMessage } from '../decoders/bmp/types.ts';
import {
  type BmpMappingContext,
  connectionLostEvent,
  peerDownEvent,
  peerOfHeader,
  peerUpEvent,
  routeMonitoringEncoded,
  statsEvent,
} from './bmp-mapping.ts';
import { epochClockNs } from './clock.ts';
import type { BgpStationConfig } from './config.ts';
import { type StationMetrics, stationMetrics } from './metrics.ts';
import { type BgpPublisher, createBgpPublisher, routeKeyOf } from './publisher.ts';
import { RouteUpdateBatchWriter } from './route-update-codec.ts';

export interface BgpStationDeps {
  producer: Pick<KafkaProducer, 'send'>;
  log: Logger;
  metrics: Registry;
  /** Clock in nanoseconds since the epoch (tests). */
  nowNs?: () => bigint;
}

/** What the station knows about one connected router (for tests and the endpoints line). */
export interface RouterStatus {
  address: string;
  port: number;
  sysName?: string;
  sysDescr?: string;
  peersUp: number;
  messages: number;
  announced: number;
  withdrawn: number;
  decodeErrors: number;
}

export interface BgpStation {
  readonly name: string;
  start(): Promise<void>;
  /** Stops accepting, ends every connection (DOWN for their peers), then flushes to Kafka. */
  stop(): Promise<void>;
  /** Bound address and port; throws unless started. */
  address(): { address: string; port: number };
  routers(): RouterStatus[];
  /** Messages waiting for Kafka. */
  queued(): number;
  /** Sends what is buffered and waits for Kafka's acknowledgements. */
  flush(): Promise<void>;
}

interface RouterConnection {
  socket: Socket;
  info: TcpConnectionInfo;
  /** Router address as text (IPv4-mapped IPv6 unmapped): the metrics label. */
  label: string;
  context: BmpMappingContext;
  framer: BmpFramer;
  session: BmpSession;
  /** Peers with a Peer Up and no Peer Down yet, by the session's peer key. */
  up: Map<string, Peer>;
  /**
   * Peers that sent routes without a Peer Up on this connection (a Loc-RIB instance some routers never bring
   * up, e.g. gobgpd; a session that started before the capture): they are taken down with the others.
   */
  unannounced: Map<string, Peer>;
  /** The Peer message of each peer seen, built once (bounded by maxPeersPerRouter; cleared with the peers). */
  peerMessages: Map<string, Peer>;
  /** The record key of each Peer message's routes (this router's address is fixed). */
  routeKeys: WeakMap<Peer, Buffer>;
  /** Counts of the current socket read, added to the metrics once per read (label lookups cost per call). */
  pending: { messages: Map<string, number>; announced: number; withdrawn: number };
  status: RouterStatus;
  closing: boolean;
}

/** `::ffff:a.b.c.d` (a dual-stack listener's IPv4 client) → `a.b.c.d`. */
function unmappedAddress(address: string): string {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return match ? match[1]! : address;
}

function addressBytes(address: string): Uint8Array {
  if (isIPv4(address)) return Uint8Array.from(address.split('.').map(Number));
  if (!isIPv6(address)) return new Uint8Array(0);
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const zeros = 8 - left.length - right.length;
  const all = [...left, ...Array<string>(Math.max(0, zeros)).fill('0'), ...right];
  const out = new Uint8Array(16);
  all.forEach((group, i) => {
    const value = Number.parseInt(group, 16);
    out[i * 2] = value >> 8;
    out[i * 2 + 1] = value & 0xff;
  });
  return out;
}

const MESSAGE_TYPE_LABEL: Record<BmpMessage['type'], string> = {
  'route-monitoring': 'route_monitoring',
  'statistics-report': 'statistics_report',
  'peer-down': 'peer_down',
  'peer-up': 'peer_up',
  initiation: 'initiation',
  termination: 'termination',
  'route-mirroring': 'route_mirroring',
};

/** Stream-level errors: the byte stream cannot be framed any more, so the connection is closed. */
const STREAM_ERRORS = new Set<string>([
  BmpErrorCode.BAD_VERSION,
  BmpErrorCode.BAD_LENGTH,
  BmpErrorCode.STREAM_CLOSED,
]);

/** How long a connection closed by the station may take to finish its FIN handshake before it is destroyed. */
const CLOSE_TIMEOUT_MS = 2000;

export function createBgpStation(config: BgpStationConfig, deps: BgpStationDeps): BgpStation {
  const log = deps.log;
  const metrics: StationMetrics = stationMetrics(deps.metrics);
  const warnings = createRateLimitedLog(log);
  const nowNs = deps.nowNs ?? epochClockNs();
  const connections = new Set<RouterConnection>();
  /** Every route message of one UPDATE is written into one buffer (used synchronously, so shared). */
  const writer = new RouteUpdateBatchWriter();
  let paused = false;

  const publisher: BgpPublisher<RouterConnection> = createBgpPublisher<RouterConnection>(
    {
      updatesTopic: config.updatesTopic,
      peersTopic: config.peersTopic,
      maxQueued: config.maxQueuedMessages,
      maxSend: config.maxSendMessages,
      maxRoutesPerMessage: config.maxRoutesPerMessage,
    },
    {
      producer: deps.producer,
      log,
      metrics,
      onPressure(full) {
        paused = full;
        if (full) metrics.backpressurePauses.inc();
        for (const connection of connections) {
          if (full) connection.socket.pause();
          else if (!connection.closing) connection.socket.resume();
        }
      },
      onLost(owners) {
        for (const connection of owners) {
          if (connections.has(connection)) closeConnection(connection, 'publish-failed');
        }
      },
    },
  );

  const countError = (connection: RouterConnection, code: string, error: unknown) => {
    connection.status.decodeErrors++;
    metrics.decodeErrors.inc({ router: connection.label, code });
    warnings.warn(
      `decode:${connection.label}:${code}`,
      { router: connection.label, code, err: errorMessage(error) },
      'malformed BMP message from router',
    );
  };

  /** DOWN for every peer still up on this connection; the session forgets them. */
  const downAll = (connection: RouterConnection) => {
    if (connection.up.size === 0 && connection.unannounced.size === 0) return;
    const context = { ...connection.context, timeReceivedNs: nowNs() };
    for (const peer of [...connection.up.values(), ...connection.unannounced.values()]) {
      publisher.publishPeerEvent(connectionLostEvent(peer, context), connection);
      metrics.connectionLostDowns.inc();
    }
    metrics.peersUp.dec(connection.up.size);
    connection.up.clear();
    connection.unannounced.clear();
    connection.peerMessages.clear();
    connection.session.clear();
    connection.status.peersUp = 0;
  };

  /** Ends a connection the station gives up on: peers down now, FIN, then destroy if the router lingers. */
  const closeConnection = (connection: RouterConnection, why: string) => {
    if (connection.closing) return;
    connection.closing = true;
    downAll(connection);
    log.info({ router: connection.label, port: connection.info.remotePort, why }, 'closing BMP connection');
    connection.socket.pause();
    connection.socket.end();
    setTimeout(() => connection.socket.destroy(), CLOSE_TIMEOUT_MS).unref();
  };

  const handleMessage = (connection: RouterConnection, message: BmpMessage, receivedNs: bigint) => {
    const context: BmpMappingContext = {
      routerAddress: connection.context.routerAddress,
      timeReceivedNs: receivedNs,
    };
    const status = connection.status;
    switch (message.type) {
      case 'route-monitoring': {
        const key = peerKey(message.peer);
        let peer = connection.peerMessages.get(key);
        if (peer === undefined) {
          peer = peerOfHeader(message.peer);
          if (connection.peerMessages.size < config.maxPeersPerRouter) connection.peerMessages.set(key, peer);
        }
        const mapped = routeMonitoringEncoded(message, context, peer, writer);
        if (mapped.values.length > 0) {
          if (!connection.up.has(key) && !connection.unannounced.has(key))
            connection.unannounced.set(key, peer);
          let routeKey = connection.routeKeys.get(peer);
          if (routeKey === undefined) {
            routeKey = routeKeyOf(connection.context.routerAddress, peer);
            connection.routeKeys.set(peer, routeKey);
          }
          publisher.publishEncodedUpdates(routeKey, mapped.values, connection);
        }
        status.announced += mapped.announced;
        status.withdrawn += mapped.withdrawn;
        connection.pending.announced += mapped.announced;
        connection.pending.withdrawn += mapped.withdrawn;
        for (const family of mapped.skipped) {
          metrics.unknownFamilies.inc(
            { router: connection.label, afi: String(family.afi), safi: String(family.safi) },
            Math.max(1, family.prefixes),
          );
        }
        if (mapped.endOfRib) metrics.endOfRib.inc({ router: connection.label });
        break;
      }
      case 'peer-up': {
        const key = peerKey(message.peer);
        connection.unannounced.delete(key);
        connection.peerMessages.delete(key);
        if (!connection.up.has(key)) metrics.peersUp.inc();
        connection.up.set(key, peerOfHeader(message.peer));
        status.peersUp = connection.up.size;
        publisher.publishPeerEvent(peerUpEvent(message, context), connection);
        break;
      }
      case 'peer-down': {
        const key = peerKey(message.peer);
        connection.unannounced.delete(key);
        connection.peerMessages.delete(key);
        if (connection.up.delete(key)) metrics.peersUp.dec();
        status.peersUp = connection.up.size;
        publisher.publishPeerEvent(peerDownEvent(message, context), connection);
        break;
      }
      case 'statistics-report':
        publisher.publishPeerEvent(statsEvent(message, context), connection);
        break;
      case 'initiation':
        if (message.information.sysName !== undefined) status.sysName = message.information.sysName;
        if (message.information.sysDescr !== undefined) status.sysDescr = message.information.sysDescr;
        log.info(
          { router: connection.label, sysName: status.sysName, sysDescr: status.sysDescr },
          'BMP router initiated',
        );
        break;
      case 'termination':
        log.info(
          { router: connection.label, reason: message.reason, strings: message.strings },
          'BMP router terminated the session',
        );
        closeConnection(connection, 'termination');
        break;
      case 'route-mirroring':
        // Counted by type; mirrored PDUs are verbatim copies for troubleshooting, not RIB changes.
        break;
    }
  };

  const onData = (connection: RouterConnection, chunk: Buffer) => {
    if (connection.closing) return;
    let frames: Buffer[];
    try {
      frames = connection.framer.push(chunk);
    } catch (error) {
      const code = error instanceof KansokuError ? error.code : 'KANSOKU_BMP_INTERNAL';
      countError(connection, code, error);
      closeConnection(connection, code);
      return;
    }
    if (frames.length === 0) return;
    const receivedNs = nowNs();
    for (const frame of frames) {
      if (connection.closing) break;
      let message: BmpMessage;
      try {
        message = parseBmpMessage(frame, connection.session);
      } catch (error) {
        const code = error instanceof KansokuError ? error.code : 'KANSOKU_BMP_INTERNAL';
        countError(connection, code, error);
        if (STREAM_ERRORS.has(code)) {
          closeConnection(connection, code);
          break;
        }
        continue;
      }
      connection.status.messages++;
      const type = MESSAGE_TYPE_LABEL[message.type];
      connection.pending.messages.set(type, (connection.pending.messages.get(type) ?? 0) + 1);
      handleMessage(connection, message, receivedNs);
    }
    flushCounts(connection);
  };

  const flushCounts = (connection: RouterConnection) => {
    const pending = connection.pending;
    for (const [type, n] of pending.messages) metrics.messages.inc({ type }, n);
    pending.messages.clear();
    if (pending.announced > 0) {
      metrics.routes.inc({ router: connection.label, action: 'announce' }, pending.announced);
      pending.announced = 0;
    }
    if (pending.withdrawn > 0) {
      metrics.routes.inc({ router: connection.label, action: 'withdraw' }, pending.withdrawn);
      pending.withdrawn = 0;
    }
  };

  const listener: TcpListener = createTcpListener(
    {
      name: 'bmp',
      address: config.address,
      port: config.port,
      maxConnections: config.maxConnections,
      gracePeriodMs: config.gracePeriodMs,
      keepAliveMs: config.keepAliveMs,
      ipv6Only: config.ipv6Only,
    },
    {
      registry: deps.metrics,
      logger: log,
      onConnection(socket, info) {
        const label = unmappedAddress(info.remoteAddress);
        const connection: RouterConnection = {
          socket,
          info,
          label,
          context: { routerAddress: addressBytes(label), timeReceivedNs: 0n },
          framer: createBmpFramer({ maxMessageLength: config.maxMessageLength }),
          session: createBmpSession({ maxPeers: config.maxPeersPerRouter }),
          up: new Map(),
          unannounced: new Map(),
          peerMessages: new Map(),
          routeKeys: new WeakMap(),
          pending: { messages: new Map(), announced: 0, withdrawn: 0 },
          status: {
            address: label,
            port: info.remotePort,
            peersUp: 0,
            messages: 0,
            announced: 0,
            withdrawn: 0,
            decodeErrors: 0,
          },
          closing: false,
        };
        connections.add(connection);
        metrics.routersConnected.inc();
        log.info({ router: label, port: info.remotePort }, 'BMP router connected');
        if (paused) socket.pause();
        socket.on('data', (chunk: Buffer) => onData(connection, chunk));
        return {
          onClose() {
            downAll(connection);
            connection.closing = true;
            connections.delete(connection);
            metrics.routersConnected.dec();
            log.info(
              {
                router: label,
                port: info.remotePort,
                messages: connection.status.messages,
                announced: connection.status.announced,
                withdrawn: connection.status.withdrawn,
                decodeErrors: connection.status.decodeErrors,
              },
              'BMP router disconnected',
            );
          },
        };
      },
    },
  );

  return {
    name: 'bgp-station',
    async start() {
      await listener.start();
    },
    async stop() {
      // Reading must go on while connections end, so a paused socket sees its FIN.
      paused = false;
      for (const connection of connections) connection.socket.resume();
      await listener.stop();
      await publisher.flush();
      warnings.flush();
    },
    address() {
      const bound = listener.address();
      return { address: bound.address, port: bound.port };
    },
    routers() {
      return [...connections].map((connection) => ({ ...connection.status }));
    },
    queued: () => publisher.queued(),
    flush: () => publisher.flush(),
  };
}
