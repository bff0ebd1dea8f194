import { clone, toBinary } from '@bufbuild/protobuf';
import { type FlowRecord, FlowRecordSchema } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';

/**
 * A record in a form that compares across two decodings of the same packets at different moments: the
 * receive time (and flow times derived from it, as sFlow's are) zeroed, every other field as is.
 */
export function canonical(record: FlowRecord): string {
  const copy = clone(FlowRecordSchema, record);
  if (copy.timeFlowStartNs === copy.timeReceivedNs) copy.timeFlowStartNs = 0n;
  if (copy.timeFlowEndNs === copy.timeReceivedNs) copy.timeFlowEndNs = 0n;
  copy.timeReceivedNs = 0n;
  return Buffer.from(toBinary(FlowRecordSchema, copy)).toString('base64');
}

export function sortedCanonical(records: readonly FlowRecord[]): string[] {
  return records.map(canonical).sort();
}

export interface Totals {
  flows: number;
  bytes: bigint;
  packets: bigint;
}

export function totalsOf(records: readonly FlowRecord[]): Totals {
  let bytes = 0n;
  let packets = 0n;
  for (const record of records) {
    bytes += record.bytes;
    packets += record.packets;
  }
  return { flows: records.length, bytes, packets };
}
