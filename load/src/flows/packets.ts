/**
 * Export packets for the flows benchmarks, made with the simulator's encoders (report-shaped flows): the
 * packets that carry the templates come first and are sent once; the data packets after them can be replayed
 * in a loop (the decoders keep the templates per exporter). NetFlow v9 and IPFIX carry 24 records per packet,
 * sFlow 8 samples per datagram, as the simulator sends them.
 */
import { createFlowGenerator, type SimulatedFlow } from '@kansoku/flows/simulator/flow-generator';
import {
  createNetflowExporterState,
  type ExportProtocol,
  encodeExportPacket,
} from '@kansoku/flows/simulator/netflow-encoder';
import { createSflowAgentState, encodeSflowFlows } from '@kansoku/flows/simulator/sflow-encoder';

export type BenchProtocol = ExportProtocol | 'sflow';

export const BENCH_PROTOCOLS: readonly BenchProtocol[] = ['netflow-v9', 'ipfix', 'sflow'];

export const RECORDS_PER_PACKET: Readonly<Record<BenchProtocol, number>> = {
  'netflow-v9': 24,
  ipfix: 24,
  sflow: 8,
};

export interface PacketSet {
  protocol: BenchProtocol;
  recordsPerPacket: number;
  /** Packets to send once before the others (NetFlow v9/IPFIX: the template-bearing first packet). */
  setup: Buffer[];
  /** Data packets only, each with `recordsPerPacket` records; may be replayed in any order, repeatedly. */
  data: Buffer[];
}

export interface PacketSetOptions {
  protocol: BenchProtocol;
  /** Data packets to make (the replay loops over them). */
  packets: number;
  seed?: number;
  /** Simulated export time of the first packet (ms since the epoch). */
  startMs?: number;
  /** NetFlow v9 source id / IPFIX observation domain id. */
  domainId?: number;
}

/** A set of packets, the same for the same options. */
export function makePacketSet(options: PacketSetOptions): PacketSet {
  const { protocol } = options;
  const recordsPerPacket = RECORDS_PER_PACKET[protocol];
  const generator = createFlowGenerator(options.seed ?? 1);
  const startMs = options.startMs ?? Date.UTC(2025, 0, 6, 12, 0, 0);
  const flowsAt = (i: number): { flows: SimulatedFlow[]; nowMs: number } => {
    const nowMs = startMs + i * 10;
    const flows: SimulatedFlow[] = [];
    for (let r = 0; r < recordsPerPacket; r++) flows.push(generator.next(nowMs));
    return { flows, nowMs };
  };
  if (protocol === 'sflow') {
    const state = createSflowAgentState(Uint8Array.of(192, 0, 2, 1), 1, startMs - 60_000);
    const data: Buffer[] = [];
    for (let i = 0; i < options.packets; i++) {
      const { flows, nowMs } = flowsAt(i);
      data.push(encodeSflowFlows(state, flows, nowMs));
    }
    return { protocol, recordsPerPacket, setup: [], data };
  }
  // Templates only in the first packet: it is the setup packet, and its records count like any other's.
  const state = createNetflowExporterState(
    protocol,
    options.domainId ?? 1,
    startMs - 60_000,
    Number.MAX_SAFE_INTEGER,
  );
  const { flows, nowMs } = flowsAt(0);
  const setup = [encodeExportPacket(state, flows, nowMs)];
  const data: Buffer[] = [];
  for (let i = 1; i <= options.packets; i++) {
    const next = flowsAt(i);
    data.push(encodeExportPacket(state, next.flows, next.nowMs));
  }
  return { protocol, recordsPerPacket, setup, data };
}
