/**
 * The flows processor: consumes normalised flow records and writes raw flows and the per-minute and
 * per-hour rollups, exactly once (kit's warehouse sink and ingest ledger). Everything here is
 * deterministic: a replayed offset range gives the same rows in the same order, inserted with the
 * same dedup token into each table (see tables.ts for why the hourly rollup is not a view).
 */
import { decodeFlowRecordBatch } from '@kansoku/contracts/flow-record-codec';
import { type FlowRecord, IpVersion } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import {
  type Component,
  createWarehouseSink,
  type IncomingMessage,
  insertSinkOutput,
  type KafkaConsumer,
  type Logger,
  type Registry,
  RowBinaryWriter,
  type SinkOutput,
  type SinkRowBinary,
  type SinkRows,
  type Warehouse,
} from '@kansoku/kit';
import { FLOWS_1H_TABLE, FLOWS_1M_TABLE, FLOWS_RAW_TABLE } from './tables.ts';

export const FLOW_RECORDS_TOPIC = 'kansoku.flows.records.v2';
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

function cellKey(c: RollupCell): string {
  return `${c.time}|${c.exporter}|${c.in_interface}|${c.out_interface}|${c.ip_version}|${c.protocol}|${c.src_port}|${c.application}|${c.src_as}|${c.dst_as}`;
}

function sumCells(cells: Iterable<RollupCell>, bucketSeconds: number): RollupCell[] {
  const out = new Map<string, RollupCell>();
  for (const c of cells) {
    const time = Math.floor(c.time / bucketSeconds) * bucketSeconds;
    const bucketed = time === c.time ? c : { ...c, time };
    const key = cellKey(bucketed);
    const cell = out.get(key);
    if (cell) {
      cell.bytes += c.bytes;
      cell.packets += c.packets;
      cell.flows += c.flows;
    } else {
      out.set(key, { ...bucketed });
    }
  }
  return [...out.values()].sort(compareCells);
}

function cellRows(cells: RollupCell[]): Record<string, unknown>[] {
  return cells.map((c) => ({ ...c, bytes: c.bytes.toString(), packets: c.packets.toString() }));
}

/**
 * One pass over the batch: a cell per (minute, key), created only for a key not seen yet in the batch (a
 * batch of tens of thousands of records has a few thousand cells), so most records cost a key and a lookup.
 */
function minuteCells(records: readonly FlowRecord[]): RollupCell[] {
  const cells = new Map<string, RollupCell>();
  let exporterBytes: Uint8Array | undefined;
  let exporter = '';
  for (const r of records) {
    // Records of one batch come from few exporters, mostly in runs: format the address once per run.
    if (r.exporterAddress !== exporterBytes) {
      exporterBytes = r.exporterAddress;
      exporter = exporterOf(r);
    }
    const time = Math.floor(Number(r.timeReceivedNs / 1_000_000_000n) / 60) * 60;
    const ipVersion = ipVersionNumber(r.ipVersion);
    const srcPort = rollupSourcePort(r.srcPort);
    const key = `${time}|${exporter}|${r.inInterface}|${r.outInterface}|${ipVersion}|${r.protocol}|${srcPort}|${r.applicationName}|${r.srcAs}|${r.dstAs}`;
    const cell = cells.get(key);
    if (cell) {
      cell.bytes += r.bytes;
      cell.packets += r.packets;
      cell.flows += 1;
    } else {
      cells.set(key, {
        time,
        exporter,
        in_interface: r.inInterface,
        out_interface: r.outInterface,
        ip_version: ipVersion,
        protocol: r.protocol,
        src_port: srcPort,
        application: r.applicationName,
        src_as: r.srcAs,
        dst_as: r.dstAs,
        bytes: r.bytes,
        packets: r.packets,
        flows: 1,
      });
    }
  }
  return [...cells.values()].sort(compareCells);
}

/** Sums records per minute and rollup key (see tables.ts), sorted by the table's key. */
export function rollupPerMinute(records: readonly FlowRecord[]): SinkRows {
  return { table: FLOWS_1M_TABLE, rows: cellRows(minuteCells(records)) };
}

/** The same per hour: summed from the minute cells, so both rollups always agree. */
export function rollupPerHour(records: readonly FlowRecord[]): SinkRows {
  return { table: FLOWS_1H_TABLE, rows: cellRows(sumCells(minuteCells(records), 3600)) };
}

/** The columns of flows_raw in the order the processor writes them. */
export const RAW_FLOW_COLUMNS = [
  'time_received',
  'time_flow_start',
  'time_flow_end',
  'exporter',
  'observation_domain_id',
  'flow_protocol',
  'in_interface',
  'out_interface',
  'direction',
  'ip_version',
  'src_address',
  'dst_address',
  'src_prefix_length',
  'dst_prefix_length',
  'src_port',
  'dst_port',
  'protocol',
  'tcp_flags',
  'bytes',
  'packets',
  'sampling_rate',
  'raw_bytes',
  'raw_packets',
  'src_as',
  'dst_as',
  'next_hop',
  'src_vlan_id',
  'dst_vlan_id',
  'application',
] as const;

/**
 * The raw table's rows in RowBinary, in RAW_FLOW_COLUMNS order with flows_raw's types: the engine reads it at a
 * fifth of the CPU time of the same rows as TabSeparated text (0.65 against 3.2 µs a row, docs/benchmarks.md).
 * Records go in the order they came; the table's ORDER BY sorts them.
 */
export function rawFlowRows(records: readonly FlowRecord[]): SinkRowBinary {
  const w = new RowBinaryWriter(records.length * 128);
  let exporterBytes: Uint8Array | undefined;
  let exporter = '';
  for (const r of records) {
    if (r.exporterAddress !== exporterBytes) {
      exporterBytes = r.exporterAddress;
      exporter = exporterOf(r);
    }
    w.dateTime64Ms(nsToMs(r.timeReceivedNs))
      .dateTime64Ms(nsToMs(r.timeFlowStartNs))
      .dateTime64Ms(nsToMs(r.timeFlowEndNs))
      .string(exporter)
      .uint32(r.observationDomainId)
      .uint8(r.flowProtocol)
      .uint32(r.inInterface)
      .uint32(r.outInterface)
      .uint8(r.direction)
      .uint8(ipVersionNumber(r.ipVersion));
    binaryAddress(w, r.srcAddress);
    binaryAddress(w, r.dstAddress);
    w.uint8(r.srcPrefixLength)
      .uint8(r.dstPrefixLength)
      .uint16(r.srcPort)
      .uint16(r.dstPort)
      .uint8(r.protocol)
      .uint16(r.tcpFlags)
      .uint64(r.bytes)
      .uint64(r.packets)
      .uint32(r.samplingRate)
      .uint64(r.rawBytes)
      .uint64(r.rawPackets)
      .uint32(r.srcAs)
      .uint32(r.dstAs);
    binaryAddress(w, r.nextHopAddress);
    w.uint16(r.srcVlanId).uint16(r.dstVlanId).string(r.applicationName).endRow();
  }
  return { table: FLOWS_RAW_TABLE, rowBinary: { columns: RAW_FLOW_COLUMNS, data: w.bytes(), rows: w.rows } };
}

function binaryAddress(w: RowBinaryWriter, bytes: Uint8Array): void {
  if (bytes.length === 4) w.ipv4Text(bytes);
  else w.string(addressOf(bytes));
}

function nsToMs(ns: bigint): number {
  // Divided as a bigint: Number(ns) is off by up to 256 ns today, enough to move a time across a millisecond.
  return Number(ns / 1_000_000n);
}

/** Every table's rows for one batch: what the sink inserts, each with the batch's dedup token. */
export function aggregateFlowRecords(records: readonly FlowRecord[]): SinkOutput[] {
  const minutes = minuteCells(records);
  return [
    { table: FLOWS_1M_TABLE, rows: cellRows(minutes) },
    { table: FLOWS_1H_TABLE, rows: cellRows(sumCells(minutes, 3600)) },
    rawFlowRows(records),
  ];
}

/** Appends the records of one Kafka message (a FlowRecordBatch) to `into`; throws when it is malformed. */
export function decodeFlowMessage(message: Pick<IncomingMessage, 'value'>, into: FlowRecord[]): void {
  const records = decodeFlowRecordBatch(message.value);
  for (const record of records) into.push(record);
}

/** Writes a batch of records as the processor does (tests, benchmarks and fixtures fill tables with it). */
export async function writeFlowRecords(
  warehouse: Warehouse,
  records: readonly FlowRecord[],
  dedupToken?: string,
): Promise<void> {
  for (const out of aggregateFlowRecords(records)) await insertSinkOutput(warehouse, out, { dedupToken });
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
      decodeInto: decodeFlowMessage,
      aggregate: (records) => aggregateFlowRecords(records),
    },
    deps,
  );
  return { name: 'flows-processor', start: () => sink.start(), stop: () => sink.stop() };
}
