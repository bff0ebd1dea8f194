/**
 * The flows processor: consumes normalised flow records and writes raw flows and the per-minute and
 * per-hour rollups, exactly once (kit's warehouse sink and ingest ledger). Everything here is
 * deterministic: a replayed offset range gives the same rows in the same order, inserted with the
 * same dedup token into each table (see tables.ts for why the hourly rollup is not a view).
 */
import { type FlowRecord, IpVersion } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import {
  type Component,
  Counter,
  createWarehouseSink,
  type IncomingMessage,
  insertSinkOutput,
  type KafkaConsumer,
  type Logger,
  type Registry,
  type SinkOutput,
  type SinkRowBinary,
  type SinkRows,
  type Warehouse,
} from '@kansoku/kit';
import { FlowBatchAggregator, type RollupCell } from './flow-batch-aggregator.ts';
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

function minuteCellsOf(records: readonly FlowRecord[]): RollupCell[] {
  const aggregator = new FlowBatchAggregator(rollupSourcePort, records.length);
  aggregator.addRecords(records);
  return aggregator.minuteCells(compareCells);
}

/** Sums records per minute and rollup key (see tables.ts), sorted by the table's key. */
export function rollupPerMinute(records: readonly FlowRecord[]): SinkRows {
  return { table: FLOWS_1M_TABLE, rows: cellRows(minuteCellsOf(records)) };
}

/** The same per hour: summed from the minute cells, so both rollups always agree. */
export function rollupPerHour(records: readonly FlowRecord[]): SinkRows {
  return { table: FLOWS_1H_TABLE, rows: cellRows(sumCells(minuteCellsOf(records), 3600)) };
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

/** Every table's rows from what an aggregator holds: what the sink inserts, each with the batch's dedup token. */
function outputsOf(aggregator: FlowBatchAggregator): SinkOutput[] {
  const minutes = aggregator.minuteCells(compareCells);
  const raw: SinkRowBinary = {
    table: FLOWS_RAW_TABLE,
    rowBinary: { columns: RAW_FLOW_COLUMNS, ...aggregator.rawRows() },
  };
  return [
    { table: FLOWS_1M_TABLE, rows: cellRows(minutes) },
    { table: FLOWS_1H_TABLE, rows: cellRows(sumCells(minutes, 3600)) },
    raw,
  ];
}

/** Every table's rows for these records, as the processor writes them. */
export function aggregateFlowRecords(records: readonly FlowRecord[]): SinkOutput[] {
  const aggregator = new FlowBatchAggregator(rollupSourcePort, records.length);
  aggregator.addRecords(records);
  return outputsOf(aggregator);
}

/** The raw table's rows for these records (RowBinary, RAW_FLOW_COLUMNS order). */
export function rawFlowRows(records: readonly FlowRecord[]): SinkRowBinary {
  const raw = aggregateFlowRecords(records)[2];
  if (!raw || !('rowBinary' in raw)) throw new Error('the raw table output is missing');
  return raw;
}

/** The processor's reading of Kafka messages: FlowRecordBatch bytes straight into one write's rows. */
/** A SinkAccumulator of flow record batches (tests feed it bare values). */
export interface FlowMessageAccumulator {
  add(message: Pick<IncomingMessage, 'value'>): void;
  readonly size: number;
  /** Records of well-framed batches whose own bytes were invalid: skipped. */
  readonly skipped: number;
  outputs(): SinkOutput[];
}

export function flowMessageAccumulator(expectedRecords = 1024): FlowMessageAccumulator {
  const aggregator = new FlowBatchAggregator(rollupSourcePort, expectedRecords);
  return {
    add: (message: Pick<IncomingMessage, 'value'>) => aggregator.addBatch(message.value),
    get size() {
      return aggregator.size;
    },
    get skipped() {
      return aggregator.skipped;
    },
    outputs: () => outputsOf(aggregator),
  };
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
  const skipped = new Counter({
    name: 'kansoku_flows_processor_records_skipped_total',
    help: 'Flow records skipped because their bytes were invalid inside a well-framed batch message',
    registers: [deps.metrics],
  });
  const sink = createWarehouseSink<never>(
    {
      name: 'flows',
      groupId: config.groupId,
      maxBatchMessages: config.maxBatchMessages,
      maxBatchDelayMs: config.maxBatchDelayMs,
      accumulate: () => {
        // About 24 records per message (one export packet).
        const accumulator = flowMessageAccumulator(config.maxBatchMessages * 24);
        return {
          add: (message) => accumulator.add(message),
          get size() {
            return accumulator.size;
          },
          outputs: () => {
            if (accumulator.skipped > 0) skipped.inc(accumulator.skipped);
            return accumulator.outputs();
          },
        };
      },
    },
    deps,
  );
  return { name: 'flows-processor', start: () => sink.start(), stop: () => sink.stop() };
}
