/** sFlow v5 datagrams for simulated flows: one flow sample per flow, sampled IP structure + gateway AS data. */
import {
  encodeSflowDatagram,
  extendedGatewayRecord,
  flowSample,
  sampledIpRecord,
} from '../decoders/sflow/encoder.ts';
import type { SimulatedFlow } from './flow-generator.ts';
import { LOCAL_AS } from './profile.ts';

export interface SflowAgentState {
  agentAddress: Uint8Array;
  samplingRate: number;
  datagrams: number;
  samples: number;
  bootMs: number;
}

export function createSflowAgentState(
  agentAddress: Uint8Array,
  samplingRate: number,
  bootMs: number,
): SflowAgentState {
  return { agentAddress, samplingRate, datagrams: 0, samples: 0, bootMs };
}

export function encodeSflowFlows(state: SflowAgentState, flows: SimulatedFlow[], nowMs: number): Buffer {
  const samples = flows.map((flow) => {
    state.samples++;
    const meanPacket = Number(flow.bytes / (flow.packets > 0n ? flow.packets : 1n));
    return flowSample({
      sequenceNumber: state.samples,
      sourceIdIndex: flow.inInterface,
      samplingRate: state.samplingRate,
      samplePool: state.samples * state.samplingRate,
      input: { format: 0, value: flow.inInterface },
      output: { format: 0, value: flow.outInterface },
      records: [
        sampledIpRecord({
          ipVersion: flow.ipVersion,
          length: Math.max(40, Math.min(1500, meanPacket)),
          protocol: flow.protocol,
          src: flow.srcAddress,
          dst: flow.dstAddress,
          srcPort: flow.srcPort,
          dstPort: flow.dstPort,
          tcpFlags: flow.tcpFlags,
          tos: 0,
        }),
        extendedGatewayRecord({
          nextHop: flow.ipVersion === 4 ? new Uint8Array(4) : new Uint8Array(16),
          as: LOCAL_AS,
          srcAs: flow.srcAs,
          srcPeerAs: flow.srcAs,
          dstAsPath: [{ type: 2, asns: [flow.dstAs] }],
          communities: [],
          localPref: 100,
        }),
      ],
    });
  });
  state.datagrams++;
  return encodeSflowDatagram({
    agentAddress: state.agentAddress,
    sequenceNumber: state.datagrams,
    uptimeMs: (nowMs - state.bootMs) >>> 0,
    samples,
  });
}
