/**
 * The DNS collector: dnstap over Frame Streams in (TCP, and a unix socket for a local resolver), resolver
 * query-log lines in (a followed file, syslog), DnsQuery records out to Kafka.
 *
 * One dnstap assembler serves every connection, so a query and its response pair even when a resolver
 * sends them on different connections (one per worker thread). A sender that breaks the protocol (garbage,
 * an oversize frame, data before START) is disconnected and counted per sender; a frame whose content is
 * unreadable is counted and skipped, the stream goes on. When Kafka falls behind, the sockets are paused
 * instead of records being dropped.
 */

import type { Socket } from 'node:net';
import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { type Component, errorMessage, type KafkaProducer, type Logger, type Registry } from '@kansoku/kit';
import { createRateLimitedLog, createTcpListener, type TcpListener } from '@kansoku/kit/net/index';
import { DnstapQueryAssembler } from '../decoders/dnstap-queries.ts';
import {
  DNSTAP_CONTENT_TYPE,
  FrameStreamError,
  FrameStreamParser,
  ReceiverSession,
} from '../decoders/frame-streams.ts';
import type { DnsCollectorConfig } from './config.ts';
import { type CollectorStatsSource, dnsCollectorMetrics } from './metrics.ts';
import { createQueryPublisher, type QueryPublisher } from './publisher.ts';
import { createQueryLogFeeds, type QueryLogFeeds } from './query-log-feeds.ts';
import { createUnixListener, type UnixListener } from './unix-listener.ts';

export interface DnsCollectorDeps {
  /** Started and stopped by its owner (before and after the collector); the collector only sends. */
  producer: Pick<KafkaProducer, 'send'>;
  log: Logger;
  metrics: Registry;
}

export interface DnsCollectorEndpoint {
  kind: 'dnstap' | 'syslog' | 'query-log';
  transport: 'tcp' | 'unix' | 'udp' | 'file';
  /** Address and port, or a path. */
  where: string;
}

export interface DnsCollector extends Component {
  /** Where each listener is bound (real ports when configured with 0). Empty unless started. */
  endpoints(): DnsCollectorEndpoint[];
  /** The dnstap TCP port (after start). */
  tcpPort(): number;
  readonly publisher: QueryPublisher;
  readonly assembler: DnstapQueryAssembler;
  /** The query-log feeds, once started with a file or a syslog port configured. */
  queryLogs(): QueryLogFeeds | undefined;
  /** Senders disconnected for breaking the protocol, by error code. */
  disconnects(): Record<string, number>;
}

const NS_PER_MS = 1_000_000n;
const EXPIRE_INTERVAL_MS = 1000;
/** Distinct senders whose errors are kept apart; more are summed under `other` (bounded label sets). */
const MAX_SENDERS = 1000;
const GRACE_PERIOD_MS = 5000;

export function createDnsCollector(config: DnsCollectorConfig, deps: DnsCollectorDeps): DnsCollector {
  const log = deps.log;
  const metrics = dnsCollectorMetrics(deps.metrics);
  const warnings = createRateLimitedLog(log);
  const publisher = createQueryPublisher(
    {
      topic: config.topic,
      maxQueuedRecords: config.maxQueuedRecords,
      maxSendRecords: config.maxSendRecords,
      maxRecordsPerMessage: config.maxRecordsPerMessage,
      maxMessageBytes: config.maxMessageBytes,
      messageLingerMs: config.messageLingerMs,
    },
    { producer: deps.producer, log, metrics: metrics.publisher(config.topic) },
  );
  const emit = (record: DnsQuery) => {
    publisher.publish(record);
  };
  const assembler = new DnstapQueryAssembler(
    { maxPending: config.maxPendingQueries, timeoutMs: config.pairingTimeoutMs },
    emit,
  );
  const frames: Record<string, number> = { tcp: 0, unix: 0 };
  const senderErrors = new Map<string, Map<string, number>>();
  const disconnects: Record<string, number> = {};

  const countSenderError = (sender: string, code: string) => {
    const key = senderErrors.has(sender) || senderErrors.size < MAX_SENDERS ? sender : 'other';
    let codes = senderErrors.get(key);
    if (codes === undefined) {
      codes = new Map();
      senderErrors.set(key, codes);
    }
    codes.set(code, (codes.get(code) ?? 0) + 1);
  };

  let queryLogs: QueryLogFeeds | undefined;
  const statsSource: CollectorStatsSource = {
    frames: () => ({ ...frames }),
    dnstap: () => assembler.stats(),
    senderErrors: () =>
      [...senderErrors].flatMap(([sender, codes]) =>
        [...codes].map(([code, count]) => ({ sender, code, count })),
      ),
    queryLog: () => queryLogs?.stats(),
  };

  /** Runs one Frame Streams connection. */
  const serve = (socket: Socket, listener: 'tcp' | 'unix', sender: string) => {
    const parser = new FrameStreamParser(config.maxFrameBytes);
    let receivedNs = 0n;
    let receivedMs = 0;
    const session = new ReceiverSession({
      contentType: DNSTAP_CONTENT_TYPE,
      reply: (bytes) => {
        socket.write(bytes);
      },
      onData: (payload) => {
        frames[listener] = (frames[listener] ?? 0) + 1;
        const code = assembler.frame(payload, receivedNs, receivedMs);
        if (code !== undefined) countSenderError(sender, code);
      },
      // The sender is done: after FINISH (written before this), close our side.
      onStop: () => socket.end(),
    });
    // A peer that connects and never starts a stream would hold a connection slot for good.
    const handshakeTimer = setTimeout(() => {
      if (session.state === 'started' || session.state === 'stopped' || socket.destroyed) return;
      const code = 'KANSOKU_FSTRM_HANDSHAKE_TIMEOUT';
      countSenderError(sender, code);
      disconnects[code] = (disconnects[code] ?? 0) + 1;
      metrics.disconnects.inc({ listener, code });
      warnings.warn(
        `disconnect:${code}`,
        { sender, listener, code, handshakeTimeoutMs: config.handshakeTimeoutMs },
        'dnstap sender disconnected: no Frame Streams START in time',
      );
      socket.destroy();
    }, config.handshakeTimeoutMs);
    handshakeTimer.unref();
    socket.once('close', () => clearTimeout(handshakeTimer));
    let paused = false;
    socket.on('data', (chunk: Buffer) => {
      receivedMs = Date.now();
      receivedNs = BigInt(receivedMs) * NS_PER_MS;
      try {
        parser.push(chunk, session);
      } catch (error) {
        const code = error instanceof FrameStreamError ? error.code : 'KANSOKU_DNS_COLLECTOR_INTERNAL';
        countSenderError(sender, code);
        disconnects[code] = (disconnects[code] ?? 0) + 1;
        metrics.disconnects.inc({ listener, code });
        warnings.warn(
          `disconnect:${code}`,
          { sender, listener, code, error: errorMessage(error) },
          'dnstap sender disconnected: it broke the Frame Streams protocol',
        );
        socket.destroy();
        return;
      }
      if (!paused && !publisher.hasRoom()) {
        // Kafka is behind: stop reading until the queue drains; the resolver's buffer takes the strain.
        paused = true;
        socket.pause();
        publisher.whenRoom(() => {
          paused = false;
          if (!socket.destroyed) socket.resume();
        });
      }
    });
  };

  let tcp: TcpListener | undefined;
  let unix: UnixListener | undefined;
  let expireTimer: NodeJS.Timeout | undefined;

  return {
    name: 'dns-collector',
    publisher,
    assembler,
    disconnects: () => ({ ...disconnects }),
    queryLogs: () => queryLogs,

    async start() {
      metrics.sources.add(statsSource);
      tcp = createTcpListener(
        {
          name: 'dnstap',
          address: config.address,
          port: config.port,
          maxConnections: config.maxConnections,
          gracePeriodMs: GRACE_PERIOD_MS,
        },
        {
          registry: deps.metrics,
          logger: log,
          onConnection: (socket, info) => {
            serve(socket, 'tcp', info.remoteAddress.replace(/^::ffff:/i, ''));
            return undefined;
          },
        },
      );
      await tcp.start();
      if (config.unixSocketPath !== '') {
        unix = createUnixListener(
          {
            path: config.unixSocketPath,
            maxConnections: config.maxConnections,
            gracePeriodMs: GRACE_PERIOD_MS,
          },
          {
            log,
            onConnection: (socket) => serve(socket, 'unix', 'unix'),
            onRefused: () =>
              metrics.disconnects.inc({ listener: 'unix', code: 'KANSOKU_DNS_TOO_MANY_CONNECTIONS' }),
          },
        );
        await unix.start();
      }
      if (config.queryLogFile !== '' || config.syslogPort >= 0) {
        queryLogs = createQueryLogFeeds(config, { log, registry: deps.metrics, emit });
        await queryLogs.start();
      }
      expireTimer = setInterval(() => assembler.expire(Date.now()), EXPIRE_INTERVAL_MS);
      expireTimer.unref();
      log.info({ endpoints: this.endpoints() }, 'DNS collector started');
    },

    async stop() {
      if (expireTimer !== undefined) clearInterval(expireTimer);
      expireTimer = undefined;
      await Promise.all([tcp?.stop(), unix?.stop(), queryLogs?.stop()]);
      // Queries still waiting for a response go out without one rather than being lost.
      assembler.flush();
      await publisher.flush();
      warnings.flush();
      metrics.sources.delete(statsSource);
      log.info({ published: publisher.counts() }, 'DNS collector stopped');
    },

    endpoints() {
      const out: DnsCollectorEndpoint[] = [];
      if (tcp !== undefined) {
        try {
          const a = tcp.address();
          out.push({ kind: 'dnstap', transport: 'tcp', where: `${a.address}:${a.port}` });
        } catch {
          // Not listening (stopped).
        }
      }
      if (unix !== undefined) out.push({ kind: 'dnstap', transport: 'unix', where: config.unixSocketPath });
      if (queryLogs !== undefined) out.push(...queryLogs.endpoints());
      return out;
    },

    tcpPort() {
      if (tcp === undefined) throw new Error('DNS collector is not started');
      return tcp.address().port;
    },
  };
}
