/**
 * The flows processor: consumes normalised flow records and writes raw flows and the per-minute and
 * per-hour rollups, exactly once (kit's warehouse sink and ingest ledger). Everything here is
 * deterministic: a replayed offset range gives the same rows in the same order, inserted with the
 * same dedup token into each table (see tables.ts for why the hourly rollup is not a view).
 */
import { fromBinary } from '@bufbuild/protobuf';
import {
  type FlowRecord,
  FlowRecordSchema,
  IpVersion,
} from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import {
  type Component,
  createWarehouseSink,
  type IncomingMessage,
  type KafkaConsumer,
  type Logger,
  type Registry,
  type SinkRows,
  type Warehouse,
} from '@kansoku/kit';
import { FLOWS_1H_TABLE, FLOWS_1M_TABLE, FLOWS_RAW_TABLE } from './tables.ts';

export const FLOW_RECORDS_TOPIC = 'kansoku.flows.records.v1';
export const FLOWS_PROCESSOR_GROUP = 'kansoku-flows-processor';

export interface FlowsProcessorConfig {
  groupId: string;
  maxBatchMessages: number;
  maxBatchDelayMs: number;
}

export function ipVersionNumber(version: IpVersion): 4 | 6 | 0 {
  if (version === IpVersion.V4) return 4;
  if (version === IpVersion.V6) return 6;
  return 0;
}

/**
 * Source ports at or above 1024 that keep their number in the rollups. Everything else from 1024 up
 * is an ephemeral (client) port and is folded to 0: a rollup keyed by raw source ports would grow by
 * up to 64k keys per (minute, exporter, interface, AS pair) and hold nothing a NOC reads, while the
 * report's port mix (Fig. 9, 10) is about server ports. Below 1024 every port is kept (bounded).
 */
export const KEPT_HIGH_SOURCE_PORTS: ReadonlySet<number> = new Set([
  1935, // RTMP
  3478, // STUN/TURN (WebRTC media)
  4500, // IPsec NAT traversal
  8080, // HTTP alternate
  8443, // HTTPS alternate
]);

export function rollupSourcePort(port: number): number {
  return port < 1024 || KEPT_HIGH_SOURCE_PORTS.has(port) ? port : 0;
}

interface RollupCell {
  time: number;
  exporter: string;
  in_interface: number;
  out_interface: number;
  ip_version: number;
  protocol: number;
  src_port: number;
  application: string;
  src_as: number;
  dst_as: number;
  bytes: bigint;
  packets: bigint;
  flows: number;
}

/** The key fields of a cell in the order of the tables' ORDER BY, which is also the rows' sort order. */
function compareCells(a: RollupCell, b: RollupCell): number {
  return (
    a.time - b.time ||
    compareStrings(a.exporter, b.exporter) ||
    a.ip_version - b.ip_version ||
    a.protocol - b.protocol ||
    a.src_port - b.src_port ||
    compareStrings(a.application, b.application) ||
    a.src_as - b.src_as ||
    a.dst_as - b.dst_as ||
    a.in_interface - b.in_interface ||
    a.out_interface - b.out_interface
  );
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function exporterOf(r: FlowRecord): string {
  return r.exporterAddress.length > 0 ? formatIpAddress(r.exporterAddress) : '';
}

function addressOf(bytes: Uint8Array): string {
  return bytes.length === 4 || bytes.length === 16 ? formatIpAddress(bytes) : '';
}

function sumCells(cells: Iterable<RollupCell>, bucketSeconds: number): RollupCell[] {
  const out = new Map<string, RollupCell>();
  for (const c of cells) {
    const time = Math.floor(c.time / bucketSeconds) * bucketSeconds;
    const key = `${time}|${c.exporter}|${c.in_interface}|${c.out_interface}|${c.ip_version}|${c.protocol}|${c.src_port}|${c.application}|${c.src_as}|${c.dst_as}`;
    const cell = out.get(key);
    if (cell) {
      cell.bytes += c.bytes;
      cell.packets += c.packets;
      cell.flows += c.flows;
    } else {
      out.set(key, { ...c, time });
    }
  }
  return [...out.values()].sort(compareCells);
}

function cellRows(cells: RollupCell[]): Record<string, unknown>[] {
  return cells.map((c) => ({ ...c, bytes: c.bytes.toString(), packets: c.packets.toString() }));
}

function minuteCells(records: readonly FlowRecord[]): RollupCell[] {
  return sumCells(
    records.map((r) => ({
      time: Number(r.timeReceivedNs / 1_000_000_000n),
      exporter: exporterOf(r),
      in_interface: r.inInterface,
      out_interface: r.outInterface,
      ip_version: ipVersionNumber(r.ipVersion),
      protocol: r.protocol,
      src_port: rollupSourcePort(r.srcPort),
      application: r.applicationName,
      src_as: r.srcAs,
      dst_as: r.dstAs,
      bytes: r.bytes,
      packets: r.packets,
      flows: 1,
    })),
    60,
  );
}

/** Sums records per minute and rollup key (see tables.ts), sorted by the table's key. */
export function rollupPerMinute(records: readonly FlowRecord[]): SinkRows {
  return { table: FLOWS_1M_TABLE, rows: cellRows(minuteCells(records)) };
}

/** The same per hour: summed from the minute cells, so both rollups always agree. */
export function rollupPerHour(records: readonly FlowRecord[]): SinkRows {
  return { table: FLOWS_1H_TABLE, rows: cellRows(sumCells(minuteCells(records), 3600)) };
}

/**
 * DateTime64(3, 'UTC') input as 'YYYY-MM-DD hh:mm:ss.sss' (plain numbers are ambiguous to ClickHouse).
 * The records of a batch share few seconds, so the text of the last second is reused.
 */
function dateTime64Formatter(): (ns: bigint) => string {
  let second = -1;
  let prefix = '';
  return (ns) => {
    const ms = Number(ns / 1_000_000n);
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      prefix = new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' ');
    }
    return `${prefix}.${String(ms - s * 1000).padStart(3, '0')}`;
  };
}

/** One row per record, in receive order (stable, so a replay gives the same block). */
export function rawFlowRows(records: readonly FlowRecord[]): SinkRows {
  const sorted = [...records].sort((a, b) =>
    a.timeReceivedNs < b.timeReceivedNs ? -1 : a.timeReceivedNs > b.timeReceivedNs ? 1 : 0,
  );
  const received = dateTime64Formatter();
  const flowStart = dateTime64Formatter();
  const flowEnd = dateTime64Formatter();
  const rows = sorted.map((r) => ({
    time_received: received(r.timeReceivedNs),
    time_flow_start: flowStart(r.timeFlowStartNs),
    time_flow_end: flowEnd(r.timeFlowEndNs),
    exporter: exporterOf(r),
    observation_domain_id: r.observationDomainId,
    flow_protocol: r.flowProtocol,
    in_interface: r.inInterface,
    out_interface: r.outInterface,
    direction: r.direction,
    ip_version: ipVersionNumber(r.ipVersion),
    src_address: addressOf(r.srcAddress),
    dst_address: addressOf(r.dstAddress),
    src_prefix_length: r.srcPrefixLength,
    dst_prefix_length: r.dstPrefixLength,
    src_port: r.srcPort,
    dst_port: r.dstPort,
    protocol: r.protocol,
    tcp_flags: r.tcpFlags,
    bytes: r.bytes.toString(),
    packets: r.packets.toString(),
    sampling_rate: r.samplingRate,
    raw_bytes: r.rawBytes.toString(),
    raw_packets: r.rawPackets.toString(),
    src_as: r.srcAs,
    dst_as: r.dstAs,
    next_hop: addressOf(r.nextHopAddress),
    src_vlan_id: r.srcVlanId,
    dst_vlan_id: r.dstVlanId,
    application: r.applicationName,
  }));
  return { table: FLOWS_RAW_TABLE, rows };
}

/** Every table's rows for one batch: what the sink inserts, each with the batch's dedup token. */
export function aggregateFlowRecords(records: readonly FlowRecord[]): SinkRows[] {
  const minutes = minuteCells(records);
  return [
    { table: FLOWS_1M_TABLE, rows: cellRows(minutes) },
    { table: FLOWS_1H_TABLE, rows: cellRows(sumCells(minutes, 3600)) },
    rawFlowRows(records),
  ];
}

export function decodeFlowRecord(message: Pick<IncomingMessage, 'value'>): FlowRecord {
  return fromBinary(FlowRecordSchema, message.value);
}

export function createFlowsProcessor(
  config: FlowsProcessorConfig,
  deps: { consumer: KafkaConsumer; warehouse: Warehouse; log: Logger; metrics: Registry },
): Component {
  const sink = createWarehouseSink<FlowRecord>(
    {
      name: 'flows',
      groupId: config.groupId,
      maxBatchMessages: config.maxBatchMessages,
      maxBatchDelayMs: config.maxBatchDelayMs,
      decode: decodeFlowRecord,
      aggregate: (records) => aggregateFlowRecords(records),
    },
    deps,
  );
  return { name: 'flows-processor', start: () => sink.start(), stop: () => sink.stop() };
}
