/**
 * The flows collector: NetFlow v5/v9 and IPFIX over UDP, IPFIX over TCP and sFlow v5 over UDP in; flow
 * records, origin AS filled in, out to Kafka. One NetFlow/IPFIX decoder serves the UDP ports and the TCP
 * connections (templates are per exporter address, whichever way they came), one sFlow decoder the sFlow
 * port. The NetFlow/IPFIX template state is saved to a file periodically and on stop, and loaded at start.
 */

import type { RemoteInfo } from 'node:dgram';
import type { Socket } from 'node:net';
import type { FlowRecord } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import {
  type Component,
  errorMessage,
  type KafkaProducer,
  type Logger,
  type OriginAsLookup,
  type Registry,
} from '@kansoku/kit';
import {
  createRateLimitedLog,
  createTcpListener,
  createUdpListener,
  type TcpListener,
  type UdpListener,
} from '@kansoku/kit/net/index';
import { createNetflowDecoder, type NetflowDecoder } from '../decoders/netflow/index.ts';
import { createSflowDecoder, type SflowDecoder } from '../decoders/sflow/index.ts';
import type { FlowsCollectorConfig } from './config.ts';
import { createIpfixFramer } from './ipfix-stream.ts';
import { collectorMetrics, type DecoderStatsSource } from './metrics.ts';
import { createRecordPublisher, type RecordPublisher } from './publisher.ts';
import { readTemplateState, writeTemplateState } from './state-file.ts';

export interface FlowsCollectorDeps {
  /** Started and stopped by its owner (before and after the collector); the collector only sends. */
  producer: Pick<KafkaProducer, 'send'>;
  log: Logger;
  metrics: Registry;
  /** Fills src_as / dst_as of records that carry 0; absent: records go out as decoded. */
  originAs?: OriginAsLookup;
}

export type ListenerKind = 'netflow' | 'ipfix' | 'ipfix-tcp' | 'sflow';

export interface FlowsCollectorEndpoint {
  kind: ListenerKind;
  transport: 'udp' | 'tcp';
  address: string;
  port: number;
}

export interface FlowsCollector extends Component {
  /** Where each listener is bound (the real ports when configured with 0). Empty unless started. */
  endpoints(): FlowsCollectorEndpoint[];
  /** Writes the template state file now (also done periodically and on stop). */
  saveState(): Promise<void>;
  /** Records queued for Kafka and not yet acknowledged. */
  queuedRecords(): number;
  readonly netflowDecoder: NetflowDecoder;
  readonly sflowDecoder: SflowDecoder;
  readonly publisher: RecordPublisher;
}

const NS_PER_MS = 1_000_000n;
const EXPIRE_PENDING_INTERVAL_MS = 5_000;

const nowNs = (): bigint => BigInt(Date.now()) * NS_PER_MS;

/** Text address of a socket peer as octets; an IPv4-mapped IPv6 address (dual-stack `::`) as IPv4. */
export function peerAddress(text: string): Uint8Array {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  return parseIpAddress(mapped?.[1] ?? text);
}

/** Fills the AS numbers a record lacks from `lookup`; returns [source filled, destination filled]. */
export function fillOriginAs(record: FlowRecord, lookup: OriginAsLookup): [boolean, boolean] {
  let src = false;
  let dst = false;
  if (record.srcAs === 0 && record.srcAddress.length > 0) {
    const asn = lookup.originAs(record.srcAddress);
    if (asn !== undefined && asn !== 0) {
      record.srcAs = asn;
      src = true;
    }
  }
  if (record.dstAs === 0 && record.dstAddress.length > 0) {
    const asn = lookup.originAs(record.dstAddress);
    if (asn !== undefined && asn !== 0) {
      record.dstAs = asn;
      dst = true;
    }
  }
  return [src, dst];
}

export function createFlowsCollector(config: FlowsCollectorConfig, deps: FlowsCollectorDeps): FlowsCollector {
  const log = deps.log;
  const metrics = collectorMetrics(deps.metrics);
  const decoderLog = createRateLimitedLog(log);
  const netflowDecoder = createNetflowDecoder(
    {
      defaultSamplingRate: config.defaultSamplingRate,
      maxExporters: config.maxExporters,
      maxTemplatesPerExporter: config.maxTemplatesPerExporter,
      maxDomainsPerExporter: config.maxDomainsPerExporter,
      maxPendingSetsPerDomain: config.maxPendingSetsPerDomain,
      pendingSetTimeoutMs: config.pendingSetTimeoutMs,
      maxSamplersPerDomain: config.maxSamplersPerDomain,
    },
    { log: decoderLog },
  );
  const sflowDecoder = createSflowDecoder(
    {
      maxAgents: config.maxAgents,
      maxSubAgentsPerAgent: config.maxSubAgentsPerAgent,
      discardedPackets: config.discardedPackets,
    },
    { log: decoderLog },
  );
  const publisher = createRecordPublisher(
    {
      topic: config.topic,
      maxQueuedRecords: config.maxQueuedRecords,
      maxSendRecords: config.maxSendRecords,
      maxRecordsPerMessage: config.maxRecordsPerMessage,
    },
    { producer: deps.producer, log, metrics },
  );
  const statsSource: DecoderStatsSource = {
    netflow: () => netflowDecoder.stats(),
    sflow: () => sflowDecoder.stats(),
  };
  const enrichedSrc = metrics.enriched.labels({ side: 'src' });
  const enrichedDst = metrics.enriched.labels({ side: 'dst' });
  const warnings = createRateLimitedLog(log);

  const emit = (records: FlowRecord[]) => {
    if (records.length === 0) return;
    const lookup = deps.originAs;
    if (lookup !== undefined) {
      for (const record of records) {
        const [src, dst] = fillOriginAs(record, lookup);
        if (src) enrichedSrc.inc();
        if (dst) enrichedDst.inc();
      }
    }
    publisher.publish(records);
  };

  const onNetflowDatagram = (datagram: Buffer, rinfo: RemoteInfo) => {
    const exporter = { address: peerAddress(rinfo.address), port: rinfo.port };
    emit(netflowDecoder.decode(datagram, exporter, nowNs()));
  };

  const onSflowDatagram = (datagram: Buffer, rinfo: RemoteInfo) => {
    const source = { address: peerAddress(rinfo.address), port: rinfo.port };
    emit(sflowDecoder.decode(datagram, source, nowNs()).records);
  };

  const udp = (name: string, port: number, onDatagram: (d: Buffer, r: RemoteInfo) => void): UdpListener =>
    createUdpListener(
      { name, address: config.address, port, recvBufferSize: config.recvBufferSize },
      { registry: deps.metrics, logger: log, onDatagram },
    );

  const listeners: { kind: ListenerKind; listener: UdpListener | TcpListener }[] = [
    { kind: 'netflow', listener: udp('netflow', config.netflowPort, onNetflowDatagram) },
    { kind: 'ipfix', listener: udp('ipfix', config.ipfixPort, onNetflowDatagram) },
    { kind: 'sflow', listener: udp('sflow', config.sflowPort, onSflowDatagram) },
    {
      kind: 'ipfix-tcp',
      listener: createTcpListener(
        {
          name: 'ipfix-tcp',
          address: config.address,
          port: config.ipfixTcpPort,
          maxConnections: config.maxTcpConnections,
        },
        {
          registry: deps.metrics,
          logger: log,
          onConnection(socket: Socket, info) {
            const framer = createIpfixFramer();
            const exporter = { address: peerAddress(info.remoteAddress), port: info.remotePort };
            socket.on('data', (chunk: Buffer) => {
              const { messages, error } = framer.push(chunk);
              const receivedNs = nowNs();
              for (const message of messages) emit(netflowDecoder.decode(message, exporter, receivedNs));
              if (error !== undefined) {
                metrics.tcpFramingErrors.inc({ code: error.code });
                warnings.warn(
                  `tcp:${info.remoteAddress}:${error.code}`,
                  {
                    exporter: info.remoteAddress,
                    port: info.remotePort,
                    code: error.code,
                    error: error.message,
                  },
                  'IPFIX over TCP: invalid message header, closing the connection',
                );
                socket.destroy();
              }
            });
            return undefined;
          },
        },
      ),
    },
  ];

  let started: typeof listeners = [];
  let saveTimer: NodeJS.Timeout | undefined;
  let expireTimer: NodeJS.Timeout | undefined;
  let saving: Promise<void> | undefined;
  let running = false;

  const saveState = async (): Promise<void> => {
    if (config.stateFile === '') return;
    // One write at a time; a save asked for during a write waits for it and writes again.
    while (saving !== undefined) await saving;
    const run = (async () => {
      try {
        await writeTemplateState(config.stateFile, netflowDecoder.snapshot());
        metrics.stateFile.inc({ operation: 'write', outcome: 'saved' });
      } catch (error) {
        metrics.stateFile.inc({ operation: 'write', outcome: 'failed' });
        warnings.warn(
          'state-write',
          { stateFile: config.stateFile, err: errorMessage(error) },
          'could not write the template state file',
        );
      }
    })();
    saving = run;
    await run;
    saving = undefined;
  };

  const loadState = async (): Promise<void> => {
    if (config.stateFile === '') return;
    const read = await readTemplateState(config.stateFile);
    if (read.status === 'missing') {
      metrics.stateFile.inc({ operation: 'read', outcome: 'missing' });
      log.info({ stateFile: config.stateFile }, 'no template state file yet: starting without templates');
      return;
    }
    let reason = read.status === 'corrupt' ? read.reason : undefined;
    if (read.status === 'loaded') {
      try {
        const result = netflowDecoder.restore(read.snapshot);
        metrics.stateFile.inc({ operation: 'read', outcome: 'loaded' });
        log.info({ stateFile: config.stateFile, ...result }, 'template state restored');
        return;
      } catch (error) {
        reason = errorMessage(error);
      }
    }
    metrics.stateFile.inc({ operation: 'read', outcome: 'corrupt' });
    log.warn(
      { stateFile: config.stateFile, reason },
      'template state file is corrupt: ignored, starting without templates',
    );
  };

  const endpoints = (): FlowsCollectorEndpoint[] =>
    started.map(({ kind, listener }) => {
      const bound = listener.address();
      return {
        kind,
        transport: kind === 'ipfix-tcp' ? 'tcp' : 'udp',
        address: bound.address,
        port: bound.port,
      };
    });

  const stopListeners = async () => {
    const stopping = started;
    started = [];
    for (const { listener } of stopping.reverse()) await listener.stop();
  };

  return {
    name: 'flows-collector',
    netflowDecoder,
    sflowDecoder,
    publisher,

    async start() {
      await loadState();
      try {
        for (const entry of listeners) {
          await entry.listener.start();
          started.push(entry);
        }
      } catch (error) {
        await stopListeners();
        throw error;
      }
      metrics.sources.add(statsSource);
      if (config.stateFile !== '') {
        saveTimer = setInterval(() => void saveState(), config.stateSaveIntervalMs);
        saveTimer.unref();
      }
      expireTimer = setInterval(() => netflowDecoder.expirePending(nowNs()), EXPIRE_PENDING_INTERVAL_MS);
      expireTimer.unref();
      running = true;
      log.info({ endpoints: endpoints(), topic: config.topic }, 'flows collector started');
    },

    async stop() {
      if (!running) return;
      running = false;
      clearInterval(saveTimer);
      clearInterval(expireTimer);
      saveTimer = undefined;
      expireTimer = undefined;
      await stopListeners();
      await saveState();
      await publisher.flush();
      metrics.sources.delete(statsSource);
      decoderLog.flush();
      warnings.flush();
      log.info({ ...publisher.counts() }, 'flows collector stopped');
    },

    endpoints,

    saveState,
    queuedRecords: () => publisher.queued(),
  };
}
