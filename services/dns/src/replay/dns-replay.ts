/**
 * `kansoku replay dns <file>`: a packet capture (pcap or pcapng, DNS over UDP and TCP, IPv4 and IPv6,
 * fragments) or a dnstap Frame Streams file (`.fstrm`), told apart by their first bytes, published to the
 * DNS topic as the collector publishes a live feed. Pairing runs on the file's clock (packet times, dnstap
 * message times), so a replay at full speed pairs as the live traffic did. Nothing is dropped: when the
 * publish queue is full, reading waits for Kafka.
 */

import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { topics } from '@kansoku/contracts';
import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { type KafkaProducer, KansokuError, type Logger, type ReplayProgress } from '@kansoku/kit';
import { readPcapStream } from '@kansoku/kit/pcap/index';
import { type Static, Type } from '@sinclair/typebox';
import { createQueryPublisher } from '../collector/publisher.ts';
import { DnstapDecodeError, decodeDnstap } from '../decoders/dnstap.ts';
import { DnstapQueryAssembler, dnstapTimeNs } from '../decoders/dnstap-queries.ts';
import { looksLikeFstrm, readFstrmFile } from '../decoders/fstrm-file.ts';
import { CaptureDnsDecoder } from './capture-decoder.ts';

export const dnsReplayOptionsSchema = Type.Object({
  topic: Type.String({
    default: topics.dnsQueries.name,
    minLength: 1,
    description: 'Kafka topic to publish to',
  }),
  ports: Type.String({
    default: '53',
    pattern: '^[0-9]+(,[0-9]+)*$',
    description: 'Ports that carry DNS in a capture, comma-separated',
  }),
  pairingTimeoutMs: Type.Integer({
    minimum: 1,
    default: 10_000,
    description: 'How long (file time) a query waits for its response before it is published without one',
  }),
  resolverIdentity: Type.String({
    default: '',
    description:
      'resolver_identity of capture records; empty: the server address (dnstap files keep their own)',
  }),
  maxQueuedRecords: Type.Integer({ minimum: 1, default: 200_000 }),
  maxSendRecords: Type.Integer({ minimum: 1, default: 10_000 }),
});

export type DnsReplayOptions = Static<typeof dnsReplayOptionsSchema>;

export type DnsFileKind = 'pcap' | 'pcapng' | 'fstrm';

export class DnsReplayError extends KansokuError {
  constructor(message: string) {
    super('KANSOKU_DNS_REPLAY_UNKNOWN_FILE', message);
  }
}

/** The kind of a file from its first bytes; undefined when it is none of them. */
export function dnsFileKind(head: Uint8Array): DnsFileKind | undefined {
  if (head.length >= 4) {
    const magic = Buffer.from(head.buffer, head.byteOffset, 4).readUInt32BE(0);
    if (magic === 0xa1b2c3d4 || magic === 0xd4c3b2a1 || magic === 0xa1b23c4d || magic === 0x4d3cb2a1)
      return 'pcap';
    if (magic === 0x0a0d0d0a) return 'pcapng';
  }
  if (looksLikeFstrm(head)) return 'fstrm';
  return undefined;
}

export interface DnsReplayDeps {
  producer: Pick<KafkaProducer, 'send'>;
  log: Logger;
  progress?: ReplayProgress;
  signal?: AbortSignal;
}

export interface DnsReplaySummary {
  kind: DnsFileKind;
  /** Packets (capture) or data frames (dnstap) read. */
  units: number;
  records: number;
  paired: number;
  unpaired: number;
  unmatchedResponses: number;
  /** Unreadable packets, frames or DNS messages. */
  errors: number;
  fragmentsReassembled: number;
  tcpMessages: number;
  published: number;
  failed: number;
  seconds: number;
}

const NS_PER_MS = 1_000_000n;

/** Replays one file; resolves once every record has been acknowledged by Kafka (or failed). */
export async function replayDnsFile(
  file: string,
  options: DnsReplayOptions,
  deps: DnsReplayDeps,
): Promise<DnsReplaySummary> {
  const started = Date.now();
  const head = Buffer.alloc(16);
  const fd = openSync(file, 'r');
  let headLength: number;
  try {
    headLength = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const kind = dnsFileKind(head.subarray(0, headLength));
  if (kind === undefined)
    throw new DnsReplayError(
      `${file}: neither a packet capture (pcap, pcapng) nor a dnstap Frame Streams file`,
    );
  deps.progress?.setTotal(statSync(file).size);

  const publisher = createQueryPublisher(
    {
      topic: options.topic,
      maxQueuedRecords: options.maxQueuedRecords,
      maxSendRecords: options.maxSendRecords,
    },
    { producer: deps.producer, log: deps.log },
  );
  let records = 0;
  const emit = (record: DnsQuery) => {
    records++;
    publisher.publish(record);
  };
  const room = () =>
    publisher.hasRoom() ? undefined : new Promise<void>((resolve) => publisher.whenRoom(resolve));
  let units = 0;
  let bytesDone = 0;
  const report = () => deps.progress?.update(bytesDone, records);

  const summary = (partial: Partial<DnsReplaySummary>): DnsReplaySummary => ({
    kind,
    units,
    records,
    paired: 0,
    unpaired: 0,
    unmatchedResponses: 0,
    errors: 0,
    fragmentsReassembled: 0,
    tcpMessages: 0,
    published: publisher.counts().published,
    failed: publisher.counts().failed,
    seconds: (Date.now() - started) / 1000,
    ...partial,
  });

  if (kind === 'fstrm') {
    const assembler = new DnstapQueryAssembler(
      { maxPending: 1_000_000, timeoutMs: options.pairingTimeoutMs },
      emit,
    );
    let malformed = 0;
    await readFstrmFile(
      file,
      async (frame) => {
        if (deps.signal?.aborted) return;
        units++;
        let tap: ReturnType<typeof decodeDnstap>;
        try {
          tap = decodeDnstap(frame);
        } catch (error) {
          if (!(error instanceof DnstapDecodeError)) throw error;
          malformed++;
          return;
        }
        const m = tap.message!;
        // The file's clock: the message's own time (queries and responses each carry theirs); a message
        // without a usable time is stamped with the wall clock.
        const wallNs = BigInt(Date.now()) * NS_PER_MS;
        const atNs =
          m.responseTimeSec !== 0
            ? dnstapTimeNs(m.responseTimeSec, m.responseTimeNsec, wallNs)
            : dnstapTimeNs(m.queryTimeSec, m.queryTimeNsec, wallNs);
        const atMs = Number(atNs / NS_PER_MS);
        if (assembler.message(tap, m, atNs, atMs) !== undefined) malformed++;
        assembler.expire(atMs);
        await room();
      },
      {
        onBytes: (n) => {
          bytesDone = n;
          report();
        },
      },
    );
    assembler.flush();
    await publisher.flush();
    report();
    const stats = assembler.stats();
    return summary({
      paired: stats.pairing.paired,
      unpaired: stats.pairing.timedOut + stats.pairing.evicted + stats.pairing.replaced,
      unmatchedResponses: stats.pairing.unmatchedResponses,
      errors: malformed,
    });
  }

  const decoder = new CaptureDnsDecoder(
    {
      ports: options.ports.split(',').map(Number),
      pairingTimeoutMs: options.pairingTimeoutMs,
      maxPendingQueries: 1_000_000,
      resolverIdentity: options.resolverIdentity,
    },
    emit,
  );
  const stream = createReadStream(file, { highWaterMark: 256 * 1024 });
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of stream) {
      bytesDone += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  }
  try {
    for await (const packet of readPcapStream(counted(), { truncatedTail: 'ignore' })) {
      if (deps.signal?.aborted) break;
      units++;
      decoder.packet(packet);
      if ((units & 0x3ff) === 0) {
        report();
        await room();
      }
    }
  } finally {
    stream.destroy();
  }
  decoder.flush();
  await publisher.flush();
  report();
  const stats = decoder.stats();
  return summary({
    paired: stats.pairing.paired,
    unpaired: stats.pairing.timedOut + stats.pairing.evicted + stats.pairing.replaced,
    unmatchedResponses: stats.pairing.unmatchedResponses,
    errors: Object.values(stats.errors).reduce((a, b) => a + b, 0),
    fragmentsReassembled: stats.fragments.reassembled,
    tcpMessages: stats.tcp.messages,
  });
}
