/**
 * A TCP server for stream protocols (IPFIX over TCP, BMP, dnstap over Frame Streams): bounded in
 * connections, measured, and stopped gracefully: stop accepting, let each connection say goodbye within a
 * grace period, then cut what is left.
 */

import { type AddressInfo, createServer, isIPv6, type Server, type Socket } from 'node:net';
import { type Static, Type } from '@sinclair/typebox';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Component } from '../lifecycle.ts';
import { describeError, type ListenerLogger } from './logger.ts';
import { createRateLimitedLog } from './rate-limited-log.ts';

export interface TcpListenerConfig {
  /** Names the listener in metrics and logs (`bmp`, `dnstap`, …); unique per registry. */
  name: string;
  /** Local address: `0.0.0.0`, `::` (both families unless ipv6Only), or one address. */
  address: string;
  /** Local port; 0 picks a free one (tests). */
  port: number;
  /** Connections open at once; more are refused (closed at once) and counted. Default 256. */
  maxConnections?: number;
  /** How long stop() lets connections end by themselves before destroying them. Default 5000 ms. */
  gracePeriodMs?: number;
  /** TCP keepalive delay, so a peer that vanished is noticed; 0 turns it off. Default 60000 ms. */
  keepAliveMs?: number;
  ipv6Only?: boolean;
  backlog?: number;
}

/**
 * The configurable part of a TCP listener, for a service's config section; `defaults` holds the protocol's
 * usual port (4739 IPFIX, 11019 BMP, 6000 dnstap, …).
 */
export function tcpListenerSchema(defaults: { port: number; address?: string; maxConnections?: number }) {
  return Type.Object({
    address: Type.String({
      default: defaults.address ?? '0.0.0.0',
      description: 'Local address to listen on; :: for IPv6 and IPv4',
    }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: defaults.port, description: 'Local TCP port' }),
    maxConnections: Type.Integer({
      minimum: 1,
      default: defaults.maxConnections ?? 256,
      description: 'Connections open at once; more are refused and counted',
    }),
    gracePeriodMs: Type.Integer({
      minimum: 0,
      default: 5000,
      description: 'On stop, how long connections may take to end before they are destroyed',
    }),
    keepAliveMs: Type.Integer({
      minimum: 0,
      default: 60_000,
      description: 'TCP keepalive delay; 0 turns it off',
    }),
    ipv6Only: Type.Boolean({ default: false, description: 'With ::, accept IPv6 only' }),
  });
}

export type TcpListenerSettings = Static<ReturnType<typeof tcpListenerSchema>>;

export interface TcpConnectionInfo {
  /** Sequence number of the connection within this listener, from 1. */
  id: number;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
}

/** What a protocol keeps per connection; every member is optional. */
export interface TcpConnectionHandler {
  /**
   * Called by stop() before the socket is ended: send the protocol's goodbye (Frame Streams FINISH), flush
   * state. Bounded by the grace period.
   */
  close?(): void | Promise<void>;
  /** Called once the socket has closed, whoever closed it. */
  onClose?(hadError: boolean): void;
}

export interface TcpListenerDeps {
  registry: Registry;
  logger: ListenerLogger;
  /**
   * Called for every accepted connection. Attach the socket's 'data' (or readable) listeners here. A throw
   * counts as a connection error and the socket is destroyed. Socket 'error' events are counted and
   * logged by the listener; the handler does not need its own error listener.
   */
  onConnection(socket: Socket, info: TcpConnectionInfo): TcpConnectionHandler | undefined;
}

export interface TcpListener extends Component {
  /** Listens; resolves once listening, rejects if it cannot (EADDRINUSE, EACCES). */
  start(): Promise<void>;
  /** Stops accepting, ends connections (grace period, then destroy), resolves once the server has closed. */
  stop(): Promise<void>;
  /** The bound address and port. Throws unless started. */
  address(): AddressInfo;
  /** Connections open now. */
  activeConnections(): number;
}

interface Connection {
  socket: Socket;
  info: TcpConnectionInfo;
  handler: TcpConnectionHandler | undefined;
  /** socket.bytesRead already added to the bytes counter. */
  countedBytes: number;
  closed: Promise<void>;
}

interface RunningListener {
  name: string;
  connections: Set<Connection>;
}

interface TcpMetrics {
  accepted: Counter<'listener'>;
  refused: Counter<'listener'>;
  closed: Counter<'listener'>;
  errors: Counter<'listener'>;
  active: Gauge<'listener'>;
  bytes: Counter<'listener'>;
  running: Set<RunningListener>;
}

const metricsByRegistry = new WeakMap<Registry, TcpMetrics>();

function countBytes(metrics: TcpMetrics, listener: string, connection: Connection): void {
  const delta = connection.socket.bytesRead - connection.countedBytes;
  if (delta > 0) {
    metrics.bytes.inc({ listener }, delta);
    connection.countedBytes += delta;
  }
}

function tcpMetrics(registry: Registry): TcpMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing !== undefined) return existing;
  const running = new Set<RunningListener>();
  const metrics: TcpMetrics = {
    accepted: new Counter({
      name: 'kansoku_tcp_connections_accepted_total',
      help: 'Connections accepted and handed to the protocol handler.',
      labelNames: ['listener'],
      registers: [registry],
    }),
    refused: new Counter({
      name: 'kansoku_tcp_connections_refused_total',
      help: 'Connections closed on arrival because the listener was at its maximum.',
      labelNames: ['listener'],
      registers: [registry],
    }),
    closed: new Counter({
      name: 'kansoku_tcp_connections_closed_total',
      help: 'Accepted connections that have closed.',
      labelNames: ['listener'],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'kansoku_tcp_connection_errors_total',
      help: 'Socket errors (resets, timeouts) and handler failures on accepted connections.',
      labelNames: ['listener'],
      registers: [registry],
    }),
    active: new Gauge({
      name: 'kansoku_tcp_connections_active',
      help: 'Connections open now.',
      labelNames: ['listener'],
      registers: [registry],
    }),
    bytes: new Counter({
      name: 'kansoku_tcp_bytes_received_total',
      help: 'Bytes received on accepted connections (open ones counted up to the scrape).',
      labelNames: ['listener'],
      registers: [registry],
      collect() {
        for (const listener of running) {
          for (const connection of listener.connections) countBytes(metrics, listener.name, connection);
        }
      },
    }),
    running,
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}

type State = 'idle' | 'starting' | 'running' | 'stopping';

export function createTcpListener(config: TcpListenerConfig, deps: TcpListenerDeps): TcpListener {
  const name = config.name;
  const labels = { listener: name };
  const maxConnections = config.maxConnections ?? 256;
  const gracePeriodMs = config.gracePeriodMs ?? 5000;
  const keepAliveMs = config.keepAliveMs ?? 60_000;
  const metrics = tcpMetrics(deps.registry);
  const warnings = createRateLimitedLog(deps.logger);
  const connections = new Set<Connection>();
  const self: RunningListener = { name, connections };
  let state: State = 'idle';
  let server: Server | undefined;
  let nextId = 1;
  metrics.active.set(labels, 0);

  const onSocket = (socket: Socket) => {
    if (state !== 'running' || connections.size >= maxConnections) {
      metrics.refused.inc(labels);
      warnings.warn(
        'refused',
        { listener: name, remoteAddress: socket.remoteAddress, maxConnections, state },
        'TCP connection refused: listener at its maximum or stopping',
      );
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    const info: TcpConnectionInfo = {
      id: nextId++,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? '',
      localPort: socket.localPort ?? 0,
    };
    let markClosed = () => {};
    const connection: Connection = {
      socket,
      info,
      handler: undefined,
      countedBytes: 0,
      closed: new Promise<void>((resolve) => {
        markClosed = resolve;
      }),
    };
    connections.add(connection);
    metrics.accepted.inc(labels);
    metrics.active.inc(labels);
    if (keepAliveMs > 0) socket.setKeepAlive(true, keepAliveMs);

    socket.on('error', (error) => {
      metrics.errors.inc(labels);
      const { code, message } = describeError(error);
      warnings.warn(
        `socket:${code ?? 'error'}`,
        {
          listener: name,
          remoteAddress: info.remoteAddress,
          remotePort: info.remotePort,
          error: message,
          code,
        },
        'TCP connection error',
      );
    });
    socket.on('close', (hadError) => {
      countBytes(metrics, name, connection);
      connections.delete(connection);
      metrics.active.dec(labels);
      metrics.closed.inc(labels);
      try {
        connection.handler?.onClose?.(hadError);
      } catch (error) {
        metrics.errors.inc(labels);
        warnings.warn(
          'handler-close',
          { listener: name, error: describeError(error).message },
          'TCP connection close handler failed',
        );
      }
      markClosed();
    });

    try {
      connection.handler = deps.onConnection(socket, info) ?? undefined;
    } catch (error) {
      metrics.errors.inc(labels);
      const { code, message } = describeError(error);
      warnings.warn(
        `handler:${code ?? 'error'}`,
        { listener: name, remoteAddress: info.remoteAddress, error: message, code },
        'TCP connection handler failed',
      );
      socket.destroy();
    }
  };

  const endConnection = async (connection: Connection) => {
    try {
      await connection.handler?.close?.();
    } catch (error) {
      metrics.errors.inc(labels);
      warnings.warn(
        'handler-stop',
        { listener: name, error: describeError(error).message },
        'TCP connection handler failed to close',
      );
    }
    connection.socket.end();
    await connection.closed;
  };

  return {
    name,

    async start() {
      if (state !== 'idle') throw new Error(`TCP listener ${name} is already ${state}`);
      state = 'starting';
      const s = createServer({ keepAlive: false }, onSocket);
      try {
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen(
            {
              host: config.address,
              port: config.port,
              ipv6Only: config.ipv6Only ?? false,
              backlog: config.backlog,
              exclusive: true,
            },
            () => {
              s.off('error', reject);
              resolve();
            },
          );
        });
      } catch (error) {
        state = 'idle';
        throw error;
      }
      s.on('error', (error) => {
        deps.logger.warn({ listener: name, error: describeError(error).message }, 'TCP server error');
      });
      server = s;
      metrics.running.add(self);
      state = 'running';
      const bound = s.address() as AddressInfo;
      deps.logger.info(
        {
          listener: name,
          address: bound.address,
          port: bound.port,
          maxConnections,
          family: isIPv6(bound.address) ? 'IPv6' : 'IPv4',
        },
        'TCP listener started',
      );
    },

    async stop() {
      if (state !== 'running' || server === undefined) return;
      state = 'stopping';
      const s = server;
      const serverClosed = new Promise<void>((resolve) => s.close(() => resolve()));
      const open = [...connections];
      if (open.length > 0) {
        let timer: NodeJS.Timeout | undefined;
        const graceOver = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), gracePeriodMs);
          timer.unref();
        });
        const outcome = await Promise.race([Promise.all(open.map(endConnection)), graceOver]);
        clearTimeout(timer);
        if (outcome === 'timeout') {
          const left = [...connections];
          deps.logger.warn(
            { listener: name, connections: left.length, gracePeriodMs },
            'TCP connections still open after the grace period: destroying them',
          );
          for (const connection of left) connection.socket.destroy();
          await Promise.all(left.map((connection) => connection.closed));
        }
      }
      await serverClosed;
      metrics.running.delete(self);
      warnings.flush();
      server = undefined;
      state = 'idle';
      deps.logger.info({ listener: name }, 'TCP listener stopped');
    },

    address() {
      if (server === undefined || state !== 'running') throw new Error(`TCP listener ${name} is not started`);
      return server.address() as AddressInfo;
    },

    activeConnections() {
      return connections.size;
    },
  };
}
