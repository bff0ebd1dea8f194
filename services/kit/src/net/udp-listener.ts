/**
 * A UDP socket for a collector (NetFlow, IPFIX, sFlow, RTP, syslog): measured per listener and per source,
 * with the kernel's own drop counter read at scrape time, and a handler that can throw without taking the
 * socket down.
 */

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { type Static, Type } from '@sinclair/typebox';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Component } from '../lifecycle.ts';
import { describeError, type ListenerLogger } from './logger.ts';
import { UdpSocketStatsReader } from './proc-net-udp.ts';
import { createRateLimitedLog, type RateLimitedLog } from './rate-limited-log.ts';

export interface UdpListenerConfig {
  /** Names the listener in metrics and logs (`netflow`, `sflow`, …); unique per registry. */
  name: string;
  /** Local address to bind: `0.0.0.0`, `::` (both families unless ipv6Only), or one address. */
  address: string;
  /** Local port; 0 picks a free one (tests). */
  port: number;
  /** SO_REUSEADDR: several sockets (or processes) may bind the same address and port. */
  reuseAddr?: boolean;
  /** For `::`: accept IPv6 only, so an IPv4 socket can bind the same port. */
  ipv6Only?: boolean;
  /**
   * SO_RCVBUF in bytes, asked for after binding. The kernel caps it at net.core.rmem_max (and Linux reports
   * twice the value asked for); the effective size is logged and exported. Unset or 0: the kernel default.
   */
  recvBufferSize?: number;
  /** Distinct source addresses given their own label value; the rest are counted as `other`. Default 100. */
  maxTrackedSources?: number;
}

/**
 * The configurable part of a UDP listener, for a service's config section; `defaults` holds the protocol's
 * usual port (2055 NetFlow, 4739 IPFIX, 6343 sFlow, …) and buffer size.
 */
export function udpListenerSchema(defaults: { port: number; address?: string; recvBufferSize?: number }) {
  return Type.Object({
    address: Type.String({
      default: defaults.address ?? '0.0.0.0',
      description: 'Local address to bind; :: for IPv6 and IPv4',
    }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: defaults.port, description: 'Local UDP port' }),
    reuseAddr: Type.Boolean({
      default: false,
      description: 'SO_REUSEADDR: share the port with other sockets',
    }),
    ipv6Only: Type.Boolean({ default: false, description: 'With ::, accept IPv6 only' }),
    recvBufferSize: Type.Integer({
      minimum: 0,
      default: defaults.recvBufferSize ?? 0,
      description: 'SO_RCVBUF in bytes (capped by net.core.rmem_max); 0 keeps the kernel default',
    }),
    maxTrackedSources: Type.Integer({
      minimum: 0,
      default: 100,
      description: 'Source addresses with their own metric labels; the rest are counted as "other"',
    }),
  });
}

export type UdpListenerSettings = Static<ReturnType<typeof udpListenerSchema>>;

export interface UdpListenerDeps {
  registry: Registry;
  logger: ListenerLogger;
  /**
   * Called for every datagram. The buffer is the datagram's own (not reused). A throw or a rejected
   * promise is counted as a handler error and logged rate-limited; the listener carries on.
   */
  onDatagram(datagram: Buffer, rinfo: RemoteInfo): void | Promise<void>;
  /** Root of the proc filesystem, for tests. Default `/proc`. */
  procRoot?: string;
}

export interface UdpListenerAddress {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

export interface UdpListener extends Component {
  /** Binds the socket; resolves once it listens, rejects if it cannot bind (EADDRINUSE, EACCES). */
  start(): Promise<void>;
  /** Closes the socket; resolves once closed. Safe to call twice or before start. */
  stop(): Promise<void>;
  /** The bound address and port (the real one when configured with port 0). Throws unless started. */
  address(): UdpListenerAddress;
  /** The effective SO_RCVBUF reported by the kernel, once started. */
  recvBufferSize(): number | undefined;
}

/** Label value for the sources beyond `maxTrackedSources`. */
export const OTHER_SOURCE = 'other';

const LABELS = ['listener', 'source'] as const;
type SourceLabel = (typeof LABELS)[number];

interface UdpMetrics {
  datagrams: Counter<SourceLabel>;
  bytes: Counter<SourceLabel>;
  handlerErrors: Counter<SourceLabel>;
  receiveBuffer: Gauge<'listener'>;
  kernelDrops: Gauge<'listener'>;
  receiveQueue: Gauge<'listener'>;
  /** Listeners whose kernel counters are read at scrape time. */
  running: Set<RunningListener>;
}

interface RunningListener {
  name: string;
  stats: UdpSocketStatsReader;
}

const metricsByRegistry = new WeakMap<Registry, UdpMetrics>();

function udpMetrics(registry: Registry): UdpMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing !== undefined) return existing;
  const running = new Set<RunningListener>();
  const readAll = async () => {
    const values = new Map<string, { drops: number; rxQueueBytes: number }>();
    await Promise.all(
      [...running].map(async (listener) => {
        try {
          const row = await listener.stats.read();
          if (row !== undefined) values.set(listener.name, row);
        } catch {
          // No /proc (not Linux) or it vanished: no value rather than a wrong one.
        }
      }),
    );
    return values;
  };
  const metrics: UdpMetrics = {
    datagrams: new Counter({
      name: 'kansoku_udp_datagrams_received_total',
      help: 'Datagrams received, per listener and source address (beyond the tracked sources: "other").',
      labelNames: LABELS,
      registers: [registry],
    }),
    bytes: new Counter({
      name: 'kansoku_udp_bytes_received_total',
      help: 'Payload bytes of the datagrams received, per listener and source address.',
      labelNames: LABELS,
      registers: [registry],
    }),
    handlerErrors: new Counter({
      name: 'kansoku_udp_handler_errors_total',
      help: 'Datagrams whose handler threw or rejected, per listener and source address.',
      labelNames: LABELS,
      registers: [registry],
    }),
    receiveBuffer: new Gauge({
      name: 'kansoku_udp_receive_buffer_bytes',
      help: 'Effective SO_RCVBUF of the listener socket, as the kernel reports it.',
      labelNames: ['listener'],
      registers: [registry],
    }),
    kernelDrops: new Gauge({
      name: 'kansoku_udp_socket_drops',
      help: 'Datagrams the kernel dropped for the socket since it was opened (receive buffer full), from /proc/net/udp.',
      labelNames: ['listener'],
      registers: [registry],
      async collect() {
        const values = await readAll();
        for (const [name, row] of values) this.set({ listener: name }, row.drops);
      },
    }),
    receiveQueue: new Gauge({
      name: 'kansoku_udp_socket_receive_queue_bytes',
      help: 'Bytes waiting in the socket receive queue at scrape time, from /proc/net/udp.',
      labelNames: ['listener'],
      registers: [registry],
      async collect() {
        const values = await readAll();
        for (const [name, row] of values) this.set({ listener: name }, row.rxQueueBytes);
      },
    }),
    running,
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}

interface SourceCounters {
  datagrams: Counter.Internal;
  bytes: Counter.Internal;
  handlerErrors: Counter.Internal;
  source: string;
}

type State = 'idle' | 'starting' | 'running' | 'stopping';

export function createUdpListener(config: UdpListenerConfig, deps: UdpListenerDeps): UdpListener {
  const name = config.name;
  const maxTrackedSources = config.maxTrackedSources ?? 100;
  const metrics = udpMetrics(deps.registry);
  const warnings: RateLimitedLog = createRateLimitedLog(deps.logger);
  const sources = new Map<string, SourceCounters>();
  const countersFor = (source: string): SourceCounters => {
    const labels = { listener: name, source };
    return {
      source,
      datagrams: metrics.datagrams.labels(labels),
      bytes: metrics.bytes.labels(labels),
      handlerErrors: metrics.handlerErrors.labels(labels),
    };
  };
  let other: SourceCounters | undefined;
  const sourceCounters = (address: string): SourceCounters => {
    const known = sources.get(address);
    if (known !== undefined) return known;
    if (sources.size < maxTrackedSources) {
      const counters = countersFor(address);
      sources.set(address, counters);
      return counters;
    }
    other ??= countersFor(OTHER_SOURCE);
    return other;
  };

  let state: State = 'idle';
  let socket: Socket | undefined;
  let bound: UdpListenerAddress | undefined;
  let effectiveRecvBuffer: number | undefined;
  let running: RunningListener | undefined;

  const handlerFailed = (counters: SourceCounters, rinfo: RemoteInfo, error: unknown) => {
    counters.handlerErrors.inc();
    const { name: errorName, code, message } = describeError(error);
    warnings.warn(
      `${code ?? errorName}`,
      { listener: name, source: rinfo.address, error: message, code },
      'UDP datagram handler failed',
    );
  };

  const onMessage = (datagram: Buffer, rinfo: RemoteInfo) => {
    const counters = sourceCounters(rinfo.address);
    counters.datagrams.inc();
    counters.bytes.inc(datagram.length);
    try {
      const result = deps.onDatagram(datagram, rinfo);
      if (result instanceof Promise) result.catch((error: unknown) => handlerFailed(counters, rinfo, error));
    } catch (error) {
      handlerFailed(counters, rinfo, error);
    }
  };

  const applyRecvBuffer = (s: Socket) => {
    const requested =
      config.recvBufferSize !== undefined && config.recvBufferSize > 0 ? config.recvBufferSize : 0;
    if (requested > 0) {
      try {
        s.setRecvBufferSize(requested);
      } catch (error) {
        deps.logger.warn(
          { listener: name, requested, error: describeError(error).message },
          'could not set the UDP receive buffer size',
        );
      }
    }
    effectiveRecvBuffer = s.getRecvBufferSize();
    metrics.receiveBuffer.set({ listener: name }, effectiveRecvBuffer);
    // Linux doubles the size asked for (bookkeeping overhead) and caps it at twice net.core.rmem_max, so
    // a capped buffer can still report more than was asked for.
    const expected = process.platform === 'linux' ? requested * 2 : requested;
    if (effectiveRecvBuffer < expected) {
      deps.logger.warn(
        { listener: name, requested, effective: effectiveRecvBuffer },
        'UDP receive buffer is smaller than configured: raise net.core.rmem_max',
      );
    }
  };

  return {
    name,

    async start() {
      if (state !== 'idle') throw new Error(`UDP listener ${name} is already ${state}`);
      state = 'starting';
      const family = isIPv6(config.address) ? 'udp6' : 'udp4';
      const s = createSocket({
        type: family,
        reuseAddr: config.reuseAddr ?? false,
        ipv6Only: config.ipv6Only ?? false,
      });
      try {
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.bind({ address: config.address, port: config.port, exclusive: true }, () => {
            s.off('error', reject);
            resolve();
          });
        });
      } catch (error) {
        state = 'idle';
        s.close();
        throw error;
      }
      applyRecvBuffer(s);
      const info = s.address();
      bound = { address: info.address, family: info.family === 'IPv6' ? 'IPv6' : 'IPv4', port: info.port };
      s.on('message', onMessage);
      s.on('error', (error) => {
        deps.logger.warn({ listener: name, error: describeError(error).message }, 'UDP socket error');
      });
      socket = s;
      running = { name, stats: new UdpSocketStatsReader(deps.procRoot ?? '/proc', bound.family, bound.port) };
      metrics.running.add(running);
      state = 'running';
      deps.logger.info(
        {
          listener: name,
          address: bound.address,
          port: bound.port,
          recvBufferSize: effectiveRecvBuffer,
          requestedRecvBufferSize: config.recvBufferSize,
        },
        'UDP listener started',
      );
    },

    async stop() {
      if (state !== 'running' || socket === undefined) return;
      state = 'stopping';
      const s = socket;
      if (running !== undefined) metrics.running.delete(running);
      running = undefined;
      await new Promise<void>((resolve) => s.close(() => resolve()));
      metrics.kernelDrops.remove({ listener: name });
      metrics.receiveQueue.remove({ listener: name });
      warnings.flush();
      socket = undefined;
      state = 'idle';
      deps.logger.info({ listener: name }, 'UDP listener stopped');
    },

    address() {
      if (bound === undefined || state !== 'running') throw new Error(`UDP listener ${name} is not started`);
      return bound;
    },

    recvBufferSize() {
      return effectiveRecvBuffer;
    },
  };
}
