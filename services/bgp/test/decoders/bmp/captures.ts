/**
 * BMP captures for the conformance tests, read from `<captures>/bmp` (the captures folder is
 * `$KANSOKU_CAPTURES`, else `../shared/captures` beside the repository), never copied into the repository.
 * BMP runs over TCP, so a capture holds segments: they are put back into one byte stream per connection
 * (ordered by sequence number; retransmitted and overlapping bytes dropped) and framed into messages.
 */

import { join } from 'node:path';
import { decodePacket } from '@kansoku/kit/pcap/packet';
import { readPcapFile } from '@kansoku/kit/pcap/reader';
import { capturesPresent, capturesRoot, captureFiles as filesIn } from '@kansoku/kit/testing/captures';
import { createBmpFramer } from '../../../src/decoders/bmp/framer.ts';

export const bmpCaptures = join(capturesRoot(), 'bmp');
export const haveCaptures = capturesPresent('bmp');
export const missingCapturesMessage = `BMP captures not found at ${bmpCaptures} (set KANSOKU_CAPTURES): conformance tests skipped`;

/** The names of the BMP captures matching `pattern`, sorted; empty when the folder is absent. */
export function captureFiles(pattern: RegExp): string[] {
  return filesIn('bmp', pattern);
}

export interface TcpStream {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  /** The payload bytes in order. */
  data: Buffer;
  /** Holes left by segments missing from the capture (bytes after a hole are still appended). */
  gaps: number;
  /** Segments whose bytes were all seen already (retransmissions). */
  duplicates: number;
}

interface Segment {
  seq: number;
  payload: Buffer;
}

/** Reassembles `segments` of one direction of one connection, in capture order. */
export function reassemble(segments: readonly Segment[]): { data: Buffer; gaps: number; duplicates: number } {
  const first = segments[0];
  if (first === undefined) return { data: Buffer.alloc(0), gaps: 0, duplicates: 0 };
  // Positions relative to the first segment's sequence number, signed so an earlier (reordered) segment
  // sorts before it, and modulo 2^32 so a wrapping sequence number stays in order. A SYN's own data is taken
  // to start at its sequence number: pmacct's test captures are crafted so (their SYN carries the first
  // message and the next segment follows it directly), and on a real stack, where SYN data starts one
  // later, that only shows as a one-byte gap.
  const positioned = segments.map((segment) => ({
    at: (segment.seq - first.seq) | 0,
    payload: segment.payload,
  }));
  positioned.sort((a, b) => a.at - b.at);
  const parts: Buffer[] = [];
  let next = positioned[0]!.at;
  let gaps = 0;
  let duplicates = 0;
  for (const { at, payload } of positioned) {
    if (payload.length === 0) continue;
    const end = at + payload.length;
    if (end <= next) {
      duplicates += 1;
      continue;
    }
    if (at > next) gaps += 1;
    parts.push(at < next ? payload.subarray(next - at) : payload);
    next = end;
  }
  return { data: Buffer.concat(parts), gaps, duplicates };
}

/** Every TCP connection direction of capture `name` that carries bytes, reassembled, in order of first packet. */
export async function readTcpStreams(name: string): Promise<TcpStream[]> {
  const byKey = new Map<
    string,
    { src: string; srcPort: number; dst: string; dstPort: number; segments: Segment[] }
  >();
  for await (const frame of readPcapFile(join(bmpCaptures, name))) {
    const packet = decodePacket(frame.linkType, frame.data);
    if (packet.kind !== 'tcp') continue;
    const key = `${packet.src}|${packet.srcPort}|${packet.dst}|${packet.dstPort}`;
    let entry = byKey.get(key);
    if (entry === undefined) {
      entry = {
        src: packet.src,
        srcPort: packet.srcPort,
        dst: packet.dst,
        dstPort: packet.dstPort,
        segments: [],
      };
      byKey.set(key, entry);
    }
    entry.segments.push({ seq: packet.seq, payload: Buffer.from(packet.payload) });
  }
  const streams: TcpStream[] = [];
  for (const { segments, ...ends } of byKey.values()) {
    const { data, gaps, duplicates } = reassemble(segments);
    if (data.length > 0) streams.push({ ...ends, data, gaps, duplicates });
  }
  return streams;
}

export interface BmpStream extends TcpStream {
  /** The BMP messages framed from the stream, in order. */
  messages: Buffer[];
  /** Bytes left after the last whole message. */
  leftover: number;
}

/** The BMP connections of capture `name`, framed into messages (fed to the framer in 1,000-byte chunks). */
export async function readBmpStreams(name: string): Promise<BmpStream[]> {
  const streams = await readTcpStreams(name);
  return streams.map((stream) => {
    const framer = createBmpFramer();
    const messages: Buffer[] = [];
    for (let at = 0; at < stream.data.length; at += 1000) {
      messages.push(...framer.push(stream.data.subarray(at, at + 1000)));
    }
    return { ...stream, messages, leftover: framer.buffered };
  });
}
