/**
 * The sFlow datagrams of the public captures (`<captures>/flows/sflow-*.pcap`), for the conformance tests
 * and the fuzzer. The captures folder is `KANSOKU_CAPTURES`, else `../shared/captures` beside the repository.
 */

import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { decodePacket, readPcapFile } from '@kansoku/kit/pcap/index';
import type { SflowSource } from './decoder.ts';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../../..');

export function capturesRoot(): string {
  return process.env.KANSOKU_CAPTURES ?? resolve(repoRoot, '../shared/captures');
}

export interface CapturedDatagram {
  /** File name inside `<captures>/flows`. */
  file: string;
  /** Frame number in the file, from 1. */
  frame: number;
  timestampNs: bigint;
  source: SflowSource;
  /** The UDP payload: the sFlow datagram. */
  datagram: Buffer;
}

/** The sflow-*.pcap files of the captures folder, sorted; empty when the folder is absent. */
export function sflowCaptureFiles(root = capturesRoot()): string[] {
  const folder = join(root, 'flows');
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((name) => /^sflow-.*\.pcap(ng)?$/.test(name))
    .sort();
}

/** Every UDP datagram of one capture file. */
export async function readSflowCapture(file: string, root = capturesRoot()): Promise<CapturedDatagram[]> {
  const out: CapturedDatagram[] = [];
  let frame = 0;
  for await (const packet of readPcapFile(join(root, 'flows', file))) {
    frame += 1;
    const decoded = decodePacket(packet.linkType, packet.data);
    if (decoded.kind !== 'udp') continue;
    out.push({
      file,
      frame,
      timestampNs: packet.timestampNs,
      source: { address: parseIpAddress(decoded.src), port: decoded.srcPort },
      datagram: Buffer.from(decoded.payload),
    });
  }
  return out;
}
