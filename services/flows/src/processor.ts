/**
 * The flows processor: consumes normalised flow records and writes the per-minute rollup,
 * exactly once (kit's warehouse sink and ingest ledger).
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

/** Sums records per (minute, exporter, IP version, protocol, application), in a stable order. */
export function rollupPerMinute(records: readonly FlowRecord[]): SinkRows {
  const cells = new Map<
    string,
    {
      minute: number;
      exporter: string;
      ip_version: number;
      protocol: number;
      application: string;
      bytes: bigint;
      packets: bigint;
      flows: number;
    }
  >();
  for (const r of records) {
    const minute = Number(r.timeReceivedNs / 60_000_000_000n) * 60;
    const exporter = r.exporterAddress.length > 0 ? formatIpAddress(r.exporterAddress) : '';
    const ipVersion = ipVersionNumber(r.ipVersion);
    const key = `${minute}|${exporter}|${ipVersion}|${r.protocol}|${r.applicationName}`;
    let cell = cells.get(key);
    if (!cell) {
      cell = {
        minute,
        exporter,
        ip_version: ipVersion,
        protocol: r.protocol,
        application: r.applicationName,
        bytes: 0n,
        packets: 0n,
        flows: 0,
      };
      cells.set(key, cell);
    }
    cell.bytes += r.bytes;
    cell.packets += r.packets;
    cell.flows += 1;
  }
  const rows = [...cells.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, c]) => ({ ...c, bytes: c.bytes.toString(), packets: c.packets.toString() }));
  return { table: '{{db}}.flows_traffic_1m', rows };
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
      decode: (message: IncomingMessage) => fromBinary(FlowRecordSchema, message.value),
      aggregate: (records) => [rollupPerMinute(records)],
    },
    deps,
  );
  return { name: 'flows-processor', start: () => sink.start(), stop: () => sink.stop() };
}
