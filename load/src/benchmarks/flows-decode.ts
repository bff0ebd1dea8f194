/**
 * Records per second per core of the flows decoders: NetFlow v9, IPFIX and sFlow packets made with the
 * simulator's encoders (report-shaped flows, 24 records per NetFlow/IPFIX packet, 8 samples per sFlow
 * datagram), decoded in a loop on this one thread. The template-bearing packet goes first, once. Each
 * protocol: a warm-up, then --runs runs of at least --seconds each, the median reported; then the same with
 * each record encoded to protobuf with the collector's own encoder (`encodeFlowRecord`, byte-for-byte
 * what `toBinary` writes), since the collector does both for every record.
 */

import { encodeFlowRecord } from '@kansoku/contracts';
import type { FlowRecord } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { createNetflowDecoder } from '@kansoku/flows/decoders/netflow/index';
import { createSflowDecoder } from '@kansoku/flows/decoders/sflow/index';
import {
  BenchArgumentError,
  type Benchmark,
  intFlag,
  listFlag,
  median,
  type ResultTable,
} from '../benchmark.ts';
import { BENCH_PROTOCOLS, type BenchProtocol, makePacketSet } from '../flows/packets.ts';

const EXPORTER = { address: Uint8Array.of(192, 0, 2, 1), port: 2055 };

type Decode = (packet: Buffer, nowNs: bigint) => FlowRecord[];

function decoderFor(protocol: BenchProtocol): Decode {
  if (protocol === 'sflow') {
    const decoder = createSflowDecoder();
    return (packet, nowNs) => decoder.decode(packet, EXPORTER, nowNs).records;
  }
  const decoder = createNetflowDecoder();
  return (packet, nowNs) => decoder.decode(packet, EXPORTER, nowNs);
}

interface RunSample {
  seconds: number;
  records: number;
  recordsPerSecond: number;
}

/** Decodes the packets in a loop for at least `seconds`; checks the clock every 64 packets. */
function measure(decode: Decode, packets: readonly Buffer[], seconds: number, encode: boolean): RunSample {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  let records = 0;
  let bytes = 0;
  let i = 0;
  const started = process.hrtime.bigint();
  const limit = started + BigInt(Math.round(seconds * 1e9));
  let now = started;
  while (now < limit) {
    for (let k = 0; k < 64; k++) {
      const decoded = decode(packets[i]!, nowNs);
      records += decoded.length;
      if (encode) for (const record of decoded) bytes += encodeFlowRecord(record).length;
      i = i + 1 === packets.length ? 0 : i + 1;
    }
    now = process.hrtime.bigint();
  }
  const elapsed = Number(now - started) / 1e9;
  // `bytes` is read so the encoding cannot be optimised away.
  if (encode && bytes === 0) throw new Error('protobuf encoding produced nothing');
  return { seconds: elapsed, records, recordsPerSecond: records / elapsed };
}

export const benchmark: Benchmark = {
  name: 'flows-decode',
  description:
    'Flows decoders: records/s on one core for NetFlow v9, IPFIX and sFlow (and with protobuf encoding)',
  flags: {
    protocols: `comma-separated, of ${BENCH_PROTOCOLS.join(', ')} (default all)`,
    seconds: 'seconds per run (default 5)',
    runs: 'runs per case, the median is reported (default 3)',
    warmup: 'warm-up seconds per case (default 2)',
    packets: 'distinct data packets decoded in a loop (default 2000)',
  },
  async run(args) {
    const protocols = listFlag(args, 'protocols', [...BENCH_PROTOCOLS]);
    for (const protocol of protocols) {
      if (!BENCH_PROTOCOLS.includes(protocol as BenchProtocol)) {
        throw new BenchArgumentError(`--protocols: unknown protocol "${protocol}"`);
      }
    }
    const seconds = intFlag(args, 'seconds', 5);
    const runs = intFlag(args, 'runs', 3);
    const warmup = intFlag(args, 'warmup', 2);
    const packetCount = intFlag(args, 'packets', 2000);

    const table: ResultTable = {
      title: `Records decoded per second, one thread (median of ${runs} runs of ≥ ${seconds} s)`,
      columns: [
        'protocol',
        'records/packet',
        'packet bytes',
        'records/s',
        'records/s with protobuf encode',
        'encode share',
      ],
      rows: [],
    };
    const results: Record<string, unknown> = {};
    for (const name of protocols) {
      const protocol = name as BenchProtocol;
      const set = makePacketSet({ protocol, packets: packetCount });
      const cases: Record<'decode' | 'decodeEncode', RunSample[]> = { decode: [], decodeEncode: [] };
      for (const encode of [false, true]) {
        // A fresh decoder per case: the setup packet brings the templates, then the warm-up.
        const decode = decoderFor(protocol);
        for (const packet of set.setup) decode(packet, 0n);
        measure(decode, set.data, warmup, encode);
        for (let run = 0; run < runs; run++) {
          const sample = measure(decode, set.data, seconds, encode);
          (encode ? cases.decodeEncode : cases.decode).push(sample);
          process.stderr.write(
            `${protocol}${encode ? ' +encode' : ''} run ${run + 1}: ${Math.round(sample.recordsPerSecond)} records/s\n`,
          );
        }
      }
      const plain = median(cases.decode.map((s) => s.recordsPerSecond));
      const withEncode = median(cases.decodeEncode.map((s) => s.recordsPerSecond));
      const averageBytes = set.data.reduce((sum, p) => sum + p.length, 0) / set.data.length;
      table.rows.push([
        protocol,
        set.recordsPerPacket,
        Math.round(averageBytes),
        Math.round(plain),
        Math.round(withEncode),
        `${Math.round((1 - withEncode / plain) * 100)}%`,
      ]);
      results[protocol] = {
        records_per_second: Math.round(plain),
        records_per_second_with_encode: Math.round(withEncode),
        records_per_packet: set.recordsPerPacket,
        average_packet_bytes: Math.round(averageBytes),
        samples: cases,
      };
    }
    return {
      tables: [table],
      notes: [
        'encode share: the part of the time per record that the protobuf encoding takes when both are done',
      ],
      settings: { seconds, runs, warmup, packets: packetCount },
      protocols: results,
    };
  },
};

export default benchmark;
