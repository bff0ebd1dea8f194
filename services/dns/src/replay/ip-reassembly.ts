/**
 * IPv4 and IPv6 fragment reassembly for captures: large DNS responses (DNSSEC, many records over EDNS)
 * travel fragmented. Fragments are kept per (version, source, destination, protocol, identification)
 * until the last one (no more-fragments flag) is in and the pieces cover the payload without gaps; the
 * whole IP payload (the UDP header and its data) is then returned.
 *
 * Bounded: a datagram that does not complete within `timeoutMs` of capture time is dropped, so are the
 * oldest when more than `maxDatagrams` are in progress, and a payload over 65,535 bytes or a fragment that
 * overlaps another with different bytes (a known evasion trick) discards the datagram. All counted.
 */

import type { DecodedFragment } from '@kansoku/kit/pcap/index';

export interface ReassemblyConfig {
  maxDatagrams: number;
  timeoutMs: number;
}

export interface ReassemblyStats {
  fragments: number;
  reassembled: number;
  timedOut: number;
  evicted: number;
  /** Oversize or inconsistent (overlapping with different bytes) datagrams discarded. */
  invalid: number;
  inProgress: number;
}

interface Piece {
  offset: number;
  data: Buffer;
}

interface Datagram {
  pieces: Piece[];
  /** Payload length, known once the last fragment is in. */
  total: number;
  firstSeenMs: number;
}

const MAX_PAYLOAD = 65_535;

export class IpReassembler {
  private readonly datagrams = new Map<string, Datagram>();
  private readonly counts = { fragments: 0, reassembled: 0, timedOut: 0, evicted: 0, invalid: 0 };

  constructor(private readonly config: ReassemblyConfig) {}

  /**
   * Adds a fragment seen at `nowMs` (capture time). Returns the whole IP payload when this fragment
   * completes its datagram, else undefined.
   */
  add(fragment: DecodedFragment, nowMs: number): Buffer | undefined {
    this.counts.fragments++;
    this.expire(nowMs);
    const key = `${fragment.ipVersion}|${fragment.src}|${fragment.dst}|${fragment.protocol}|${fragment.fragment.id}`;
    let datagram = this.datagrams.get(key);
    if (datagram === undefined) {
      if (this.datagrams.size >= this.config.maxDatagrams) {
        const oldest = this.datagrams.keys().next();
        if (oldest.done !== true) {
          this.datagrams.delete(oldest.value);
          this.counts.evicted++;
        }
      }
      datagram = { pieces: [], total: -1, firstSeenMs: nowMs };
      this.datagrams.set(key, datagram);
    }
    const { offset, moreFragments } = fragment.fragment;
    const end = offset + fragment.payload.length;
    if (end > MAX_PAYLOAD || (!moreFragments && datagram.total >= 0 && datagram.total !== end)) {
      this.discard(key);
      return undefined;
    }
    if (!moreFragments) datagram.total = end;
    // Copied: the payload is a view into the capture reader's buffer.
    datagram.pieces.push({ offset, data: Buffer.from(fragment.payload) });
    if (datagram.total < 0) return undefined;

    datagram.pieces.sort((a, b) => a.offset - b.offset);
    let covered = 0;
    for (const piece of datagram.pieces) {
      if (piece.offset > covered) return undefined; // a gap: more to come
      covered = Math.max(covered, piece.offset + piece.data.length);
    }
    if (covered < datagram.total) return undefined;

    const whole = Buffer.alloc(datagram.total);
    const written = new Uint8Array(datagram.total);
    for (const piece of datagram.pieces) {
      for (let i = 0; i < piece.data.length && piece.offset + i < datagram.total; i++) {
        const at = piece.offset + i;
        if (written[at] === 1 && whole[at] !== piece.data[i]) {
          this.discard(key);
          return undefined;
        }
        whole[at] = piece.data[i]!;
        written[at] = 1;
      }
    }
    this.datagrams.delete(key);
    this.counts.reassembled++;
    return whole;
  }

  private discard(key: string): void {
    this.datagrams.delete(key);
    this.counts.invalid++;
  }

  /** Drops datagrams older than the timeout at `nowMs`. */
  expire(nowMs: number): void {
    for (const [key, datagram] of this.datagrams) {
      if (nowMs - datagram.firstSeenMs < this.config.timeoutMs) break;
      this.datagrams.delete(key);
      this.counts.timedOut++;
    }
  }

  stats(): ReassemblyStats {
    return { ...this.counts, inProgress: this.datagrams.size };
  }
}

/** Source and destination ports and the data of a reassembled UDP datagram; undefined if it is not one. */
export function parseUdpDatagram(
  payload: Buffer,
): { srcPort: number; dstPort: number; data: Buffer } | undefined {
  if (payload.length < 8) return undefined;
  const length = payload.readUInt16BE(4);
  // Length 0 is legal for IPv6 jumbograms only; otherwise it must fit what arrived.
  const end = length >= 8 && length <= payload.length ? length : payload.length;
  return {
    srcPort: payload.readUInt16BE(0),
    dstPort: payload.readUInt16BE(2),
    data: payload.subarray(8, end),
  };
}
