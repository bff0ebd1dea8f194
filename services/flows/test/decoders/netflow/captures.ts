/**
 * Real export captures for the conformance tests: read from `<captures>/flows` (the captures folder is
 * `$KANSOKU_CAPTURES`, else `../shared/captures` beside the repository), never copied into the repository.
 */

import { join } from 'node:path';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { tryDecodePacket } from '@kansoku/kit/pcap/packet';
import { readPcapFile } from '@kansoku/kit/pcap/reader';
import { capturesPresent, capturesRoot, captureFiles as filesIn } from '@kansoku/kit/testing/captures';

export const flowCaptures = join(capturesRoot(), 'flows');
export const haveCaptures = capturesPresent('flows');
export const missingCapturesMessage = `flow captures not found at ${flowCaptures} (set KANSOKU_CAPTURES): conformance tests skipped`;

export interface ExportPacket {
  payload: Buffer;
  exporter: { address: Uint8Array; port: number };
  /** The collector port the capture sent to (tshark needs it to pick the NetFlow dissector). */
  collectorPort: number;
  receivedNs: bigint;
}

/** The names of the flow captures matching `pattern`, sorted; empty when the folder is absent. */
export function captureFiles(pattern: RegExp): string[] {
  return filesIn('flows', pattern);
}

/** The UDP payloads of a capture, with their source address and capture time. */
export async function readExportPackets(name: string): Promise<ExportPacket[]> {
  const packets: ExportPacket[] = [];
  for await (const frame of readPcapFile(join(flowCaptures, name))) {
    const decoded = tryDecodePacket(frame.linkType, frame.data);
    if (!decoded.ok || decoded.packet.kind !== 'udp') continue;
    const udp = decoded.packet;
    packets.push({
      payload: Buffer.from(udp.payload),
      exporter: { address: parseIpAddress(udp.src), port: udp.srcPort },
      collectorPort: udp.dstPort,
      receivedNs: frame.timestampNs,
    });
  }
  return packets;
}

/**
 * The captures to feed before a data-only capture, as the file names pair them: `X-data.pcap` needs
 * `X-template(s).pcap`, and options data needs its options template. Returned in feeding order.
 */
export function companionsOf(name: string): string[] {
  const all = new Set(captureFiles(/\.pcap$/));
  const match = /^(.*)-data\.pcap$/.exec(name);
  if (match === null) return [];
  const base = match[1]!;
  const companions: string[] = [];
  for (const candidate of [
    `${base}-options-template.pcap`,
    `${base}-options-data.pcap`,
    `${base}-template.pcap`,
    `${base}-templates.pcap`,
  ]) {
    if (candidate !== name && all.has(candidate)) companions.push(candidate);
  }
  return companions;
}
