/**
 * NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) export packets for the simulated flows: one template per IP
 * version, sent at the start and then every `templateEvery` packets, as exporters refresh them.
 */
import type { SimulatedFlow } from './flow-generator.ts';

const TEMPLATE_V4 = 256;
const TEMPLATE_V6 = 257;

/** [information element, length]; the same element ids serve NetFlow v9 and IPFIX here. */
const COMMON_FIELDS: [number, number][] = [
  [7, 2], // source port
  [11, 2], // destination port
  [4, 1], // protocol
  [6, 1], // TCP flags (reduced size in IPFIX)
  [10, 4], // ingress interface
  [14, 4], // egress interface
  [1, 8], // octets
  [2, 8], // packets
  [16, 4], // source AS
  [17, 4], // destination AS
];
const ADDRESSES: Record<4 | 6, [number, number][]> = {
  4: [
    [8, 4],
    [12, 4],
  ],
  6: [
    [27, 16],
    [28, 16],
  ],
};
/** v9: first/last switched in sysUptime ms; IPFIX: flowStart/EndMilliseconds. */
const TIMES_V9: [number, number][] = [
  [22, 4],
  [21, 4],
];
const TIMES_IPFIX: [number, number][] = [
  [152, 8],
  [153, 8],
];

export type ExportProtocol = 'netflow-v9' | 'ipfix';

function fieldsFor(protocol: ExportProtocol, ipVersion: 4 | 6): [number, number][] {
  return [...ADDRESSES[ipVersion], ...COMMON_FIELDS, ...(protocol === 'ipfix' ? TIMES_IPFIX : TIMES_V9)];
}

function recordLength(fields: [number, number][]): number {
  return fields.reduce((n, [, length]) => n + length, 0);
}

function writeRecord(
  buf: Buffer,
  offset: number,
  flow: SimulatedFlow,
  protocol: ExportProtocol,
  bootMs: number,
): number {
  let o = offset;
  buf.set(flow.srcAddress, o);
  o += flow.srcAddress.length;
  buf.set(flow.dstAddress, o);
  o += flow.dstAddress.length;
  o = buf.writeUInt16BE(flow.srcPort, o);
  o = buf.writeUInt16BE(flow.dstPort, o);
  o = buf.writeUInt8(flow.protocol, o);
  o = buf.writeUInt8(flow.tcpFlags, o);
  o = buf.writeUInt32BE(flow.inInterface, o);
  o = buf.writeUInt32BE(flow.outInterface, o);
  o = buf.writeBigUInt64BE(flow.bytes, o);
  o = buf.writeBigUInt64BE(flow.packets, o);
  o = buf.writeUInt32BE(flow.srcAs, o);
  o = buf.writeUInt32BE(flow.dstAs, o);
  if (protocol === 'ipfix') {
    o = buf.writeBigUInt64BE(BigInt(flow.startMs), o);
    o = buf.writeBigUInt64BE(BigInt(flow.endMs), o);
  } else {
    o = buf.writeUInt32BE((flow.startMs - bootMs) >>> 0, o);
    o = buf.writeUInt32BE((flow.endMs - bootMs) >>> 0, o);
  }
  return o;
}

export interface NetflowExporterState {
  protocol: ExportProtocol;
  /** v9 source id / IPFIX observation domain id. */
  domainId: number;
  /** Simulated time the exporter booted (v9 times are relative to it). */
  bootMs: number;
  packetsSent: number;
  /** v9: export packets sent; IPFIX: data records sent (what each header's sequence counts). */
  sequence: number;
  templateEvery: number;
}

export function createNetflowExporterState(
  protocol: ExportProtocol,
  domainId: number,
  bootMs: number,
  templateEvery = 50,
): NetflowExporterState {
  return { protocol, domainId, bootMs, packetsSent: 0, sequence: 0, templateEvery };
}

/**
 * One export packet with the given flows (all of one IP version for simplicity of the data set), preceded by
 * the templates when they are due. `nowMs` is the simulated export time.
 */
export function encodeExportPacket(
  state: NetflowExporterState,
  flows: SimulatedFlow[],
  nowMs: number,
): Buffer {
  const ipfix = state.protocol === 'ipfix';
  const withTemplates = state.packetsSent % state.templateEvery === 0;
  const byVersion: Record<4 | 6, SimulatedFlow[]> = { 4: [], 6: [] };
  for (const f of flows) byVersion[f.ipVersion].push(f);

  const parts: Buffer[] = [];
  let recordCount = 0;
  if (withTemplates) {
    const templates: Buffer[] = [];
    for (const [id, version] of [
      [TEMPLATE_V4, 4],
      [TEMPLATE_V6, 6],
    ] as const) {
      const fields = fieldsFor(state.protocol, version);
      const t = Buffer.alloc(4 + fields.length * 4);
      t.writeUInt16BE(id, 0);
      t.writeUInt16BE(fields.length, 2);
      fields.forEach(([ie, length], i) => {
        t.writeUInt16BE(ie, 4 + i * 4);
        t.writeUInt16BE(length, 6 + i * 4);
      });
      templates.push(t);
      recordCount++;
    }
    const body = Buffer.concat(templates);
    const header = Buffer.alloc(4);
    header.writeUInt16BE(ipfix ? 2 : 0, 0);
    header.writeUInt16BE(4 + body.length, 2);
    parts.push(header, body);
  }
  let dataRecords = 0;
  for (const version of [4, 6] as const) {
    const list = byVersion[version];
    if (list.length === 0) continue;
    const fields = fieldsFor(state.protocol, version);
    const size = recordLength(fields);
    const unpadded = 4 + size * list.length;
    const set = Buffer.alloc(unpadded + ((4 - (unpadded % 4)) % 4));
    set.writeUInt16BE(version === 4 ? TEMPLATE_V4 : TEMPLATE_V6, 0);
    set.writeUInt16BE(set.length, 2);
    let o = 4;
    for (const flow of list) o = writeRecord(set, o, flow, state.protocol, state.bootMs);
    parts.push(set);
    recordCount += list.length;
    dataRecords += list.length;
  }

  const headerLength = ipfix ? 16 : 20;
  const bodyLength = parts.reduce((n, p) => n + p.length, 0);
  const header = Buffer.alloc(headerLength);
  const exportSecs = Math.floor(nowMs / 1000);
  if (ipfix) {
    header.writeUInt16BE(10, 0);
    header.writeUInt16BE(headerLength + bodyLength, 2);
    header.writeUInt32BE(exportSecs >>> 0, 4);
    header.writeUInt32BE(state.sequence >>> 0, 8);
    header.writeUInt32BE(state.domainId, 12);
    state.sequence += dataRecords;
  } else {
    header.writeUInt16BE(9, 0);
    header.writeUInt16BE(recordCount, 2);
    header.writeUInt32BE((nowMs - state.bootMs) >>> 0, 4);
    header.writeUInt32BE(exportSecs >>> 0, 8);
    header.writeUInt32BE(state.sequence >>> 0, 12);
    header.writeUInt32BE(state.domainId, 16);
    state.sequence += 1;
  }
  state.packetsSent++;
  return Buffer.concat([header, ...parts]);
}
