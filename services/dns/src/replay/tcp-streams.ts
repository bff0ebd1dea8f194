/**
 * DNS over TCP from captures (RFC 7766): each direction of a connection is a byte stream of messages, each
 * preceded by a 2-byte length. Segments are put back in sequence order (32-bit wraparound, retransmissions
 * and overlaps trimmed, out-of-order segments held until the gap fills), then the stream is cut into
 * messages, however segments split them. A stream whose SYN was not captured starts at its first segment.
 *
 * Bounded: at most `maxStreams` directions are tracked (the least recently started is dropped), at most
 * `maxOutOfOrder` segments wait per direction, and a stream whose buffered bytes pass 128 KiB without
 * making a message is reset. FIN and RST end a direction.
 */

import type { DecodedTcpPacket } from '@kansoku/kit/pcap/index';

const SYN = 0x02;
const FIN = 0x01;
const RST = 0x04;
const MAX_BUFFERED = 128 * 1024;

export interface TcpStreamsConfig {
  maxStreams: number;
  maxOutOfOrder: number;
}

export interface TcpStreamStats {
  segments: number;
  messages: number;
  /** Retransmitted bytes dropped because they were already in the stream. */
  retransmittedSegments: number;
  outOfOrderSegments: number;
  /** Streams dropped: too many at once, too much out of order, or junk that never framed. */
  streamsDropped: number;
  streams: number;
}

interface Stream {
  nextSeq: number;
  buffered: Buffer;
  outOfOrder: Map<number, Buffer>;
}

export type TcpMessageHandler = (message: Buffer, segment: DecodedTcpPacket) => void;

export class TcpDnsStreams {
  private readonly streams = new Map<string, Stream>();
  private readonly counts = {
    segments: 0,
    messages: 0,
    retransmittedSegments: 0,
    outOfOrderSegments: 0,
    streamsDropped: 0,
  };

  constructor(
    private readonly config: TcpStreamsConfig,
    private readonly onMessage: TcpMessageHandler,
  ) {}

  /** Adds one captured segment of a DNS connection. */
  segment(segment: DecodedTcpPacket): void {
    this.counts.segments++;
    const key = `${segment.src}|${segment.srcPort}|${segment.dst}|${segment.dstPort}`;
    const flags = segment.flags;
    let stream = this.streams.get(key);
    if ((flags & SYN) !== 0) {
      stream = { nextSeq: (segment.seq + 1) >>> 0, buffered: Buffer.alloc(0), outOfOrder: new Map() };
      this.track(key, stream);
    } else if (stream === undefined && segment.payload.length > 0) {
      stream = { nextSeq: segment.seq, buffered: Buffer.alloc(0), outOfOrder: new Map() };
      this.track(key, stream);
    }
    if (stream !== undefined && segment.payload.length > 0) this.data(key, stream, segment);
    if ((flags & (FIN | RST)) !== 0) this.streams.delete(key);
  }

  private track(key: string, stream: Stream): void {
    this.streams.delete(key);
    if (this.streams.size >= this.config.maxStreams) {
      const oldest = this.streams.keys().next();
      if (oldest.done !== true) {
        this.streams.delete(oldest.value);
        this.counts.streamsDropped++;
      }
    }
    this.streams.set(key, stream);
  }

  private data(key: string, stream: Stream, segment: DecodedTcpPacket): void {
    const diff = (segment.seq - stream.nextSeq) | 0;
    let payload = segment.payload;
    if (diff > 0) {
      if (stream.outOfOrder.size >= this.config.maxOutOfOrder) {
        this.streams.delete(key);
        this.counts.streamsDropped++;
        return;
      }
      this.counts.outOfOrderSegments++;
      stream.outOfOrder.set(segment.seq >>> 0, Buffer.from(payload));
      return;
    }
    if (diff < 0) {
      if (-diff >= payload.length) {
        this.counts.retransmittedSegments++;
        return;
      }
      payload = payload.subarray(-diff);
    }
    this.append(stream, payload);
    // Held segments that now fit (or overlap) the end of the stream.
    let progressed = true;
    while (progressed && stream.outOfOrder.size > 0) {
      progressed = false;
      for (const [seq, held] of stream.outOfOrder) {
        const d = (seq - stream.nextSeq) | 0;
        if (d > 0) continue;
        stream.outOfOrder.delete(seq);
        if (-d < held.length) this.append(stream, held.subarray(-d));
        progressed = true;
      }
    }
    this.frame(key, stream, segment);
  }

  private append(stream: Stream, bytes: Buffer): void {
    stream.buffered =
      stream.buffered.length === 0 ? Buffer.from(bytes) : Buffer.concat([stream.buffered, bytes]);
    stream.nextSeq = (stream.nextSeq + bytes.length) >>> 0;
  }

  private frame(key: string, stream: Stream, segment: DecodedTcpPacket): void {
    let buf = stream.buffered;
    let pos = 0;
    while (buf.length - pos >= 2) {
      const length = buf.readUInt16BE(pos);
      if (buf.length - pos - 2 < length) break;
      if (length > 0) {
        this.counts.messages++;
        this.onMessage(buf.subarray(pos + 2, pos + 2 + length), segment);
      }
      pos += 2 + length;
    }
    buf = pos === 0 ? buf : buf.subarray(pos);
    if (buf.length > MAX_BUFFERED) {
      this.streams.delete(key);
      this.counts.streamsDropped++;
      return;
    }
    stream.buffered = buf;
  }

  stats(): TcpStreamStats {
    return { ...this.counts, streams: this.streams.size };
  }
}
