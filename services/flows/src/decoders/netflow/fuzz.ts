/**
 * Fuzzing of the NetFlow/IPFIX decoder with mutated real packets.
 *
 *   tsx services/flows/src/decoders/netflow/fuzz.ts [--count N] [--seed S] [--captures DIR]
 *   node --expose-gc --import tsx services/flows/src/decoders/netflow/fuzz.ts   (adds heap after GC per 100k)
 *
 * Reads every NetFlow/IPFIX capture of `DIR/flows` (default `$KANSOKU_CAPTURES` or /work/shared/captures),
 * then sends N packets (default 1,000,000) through ONE decoder with small state limits: unmodified packets now
 * and then (so templates keep arriving and data sets decode with them), mostly mutated ones, from a pool of
 * exporter addresses plus random ones. It checks that decode never throws, that no input reaches the decoder's
 * "bug" code, that every record serialises as a contract message, and that exporters, templates, domains and
 * held sets stay within their limits; it prints a JSON summary and exits non-zero on a violation.
 */

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import { FlowRecordSchema } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { tryDecodePacket } from '@kansoku/kit/pcap/packet';
import { readPcapFile } from '@kansoku/kit/pcap/reader';
import { parseFuzzCommandLine, runFuzzScript, seededRandom } from '@kansoku/kit/testing/fuzz';
import type { NetflowDecoderConfig } from './config.ts';
import { createNetflowDecoder, type NetflowExporter } from './decoder.ts';
import { NetflowErrorCode } from './errors.ts';
import { MUTATION_KINDS, type MutationKind, mutatePacket } from './mutate.ts';

export interface CorpusPacket {
  payload: Buffer;
  exporter: NetflowExporter;
}

/** NetFlow/IPFIX payloads of the flow captures in `dir` (sFlow and the decapsulation samples left out). */
export async function loadNetflowCorpus(dir: string): Promise<CorpusPacket[]> {
  const files = readdirSync(dir)
    .filter((name) => /^netflow-.*\.pcap$|__traffic-\d+\.pcap$/.test(name))
    .sort();
  const corpus: CorpusPacket[] = [];
  for (const file of files) {
    for await (const frame of readPcapFile(join(dir, file))) {
      const decoded = tryDecodePacket(frame.linkType, frame.data);
      if (!decoded.ok || decoded.packet.kind !== 'udp') continue;
      corpus.push({
        payload: Buffer.from(decoded.packet.payload),
        exporter: { address: parseIpAddress(decoded.packet.src), port: decoded.packet.srcPort },
      });
    }
  }
  return corpus;
}

/** Limits small enough that a fuzz run reaches every one of them. */
export const FUZZ_LIMITS: Partial<NetflowDecoderConfig> = {
  maxExporters: 64,
  maxTemplatesPerExporter: 32,
  maxDomainsPerExporter: 8,
  maxPendingSetsPerDomain: 8,
  pendingSetTimeoutMs: 5_000,
  maxSamplersPerDomain: 16,
};

export interface FuzzOptions {
  count: number;
  seed: number;
  corpus: readonly CorpusPacket[];
  limits?: Partial<NetflowDecoderConfig>;
  /** Serialise every record to check it is a valid contract message (costs about a third of the run). */
  serialise?: boolean;
  /** Called every `progressEvery` packets. */
  onProgress?: (done: number) => void;
  progressEvery?: number;
}

export interface FuzzReport {
  packets: number;
  mutated: Record<MutationKind, number>;
  unmodified: number;
  records: number;
  /** decode calls that threw: must be 0. */
  thrown: number;
  /** Records that did not serialise as FlowRecord: must be 0. */
  invalidRecords: number;
  decodeErrors: Record<string, number>;
  /** Limit breaches seen at the periodic checks: must be empty. */
  violations: string[];
  maxExporters: number;
  maxTemplatesPerExporter: number;
  maxDomainsPerExporter: number;
  maxPendingSetsPerExporter: number;
  exportersEvicted: number;
  templatesEvicted: number;
  pendingSetsDropped: number;
  elapsedMs: number;
  packetsPerSecond: number;
  heapUsedMb: { start: number; end: number; peak: number };
  rssMb: { start: number; end: number; peak: number };
  /** Heap after a full collection at each progress point, when run with --expose-gc: flat when state is bounded. */
  heapAfterGcMb: number[];
}

const MB = 1024 * 1024;

export function runFuzz(options: FuzzOptions): FuzzReport {
  const { count, corpus } = options;
  if (corpus.length === 0) throw new Error('empty fuzz corpus');
  const limits = { ...FUZZ_LIMITS, ...options.limits };
  const decoder = createNetflowDecoder(limits);
  const random = seededRandom(options.seed);
  const progressEvery = options.progressEvery ?? 100_000;
  const serialise = options.serialise ?? true;
  const mutated = Object.fromEntries(MUTATION_KINDS.map((kind) => [kind, 0])) as Record<MutationKind, number>;
  const report: FuzzReport = {
    packets: 0,
    mutated,
    unmodified: 0,
    records: 0,
    thrown: 0,
    invalidRecords: 0,
    decodeErrors: {},
    violations: [],
    maxExporters: 0,
    maxTemplatesPerExporter: 0,
    maxDomainsPerExporter: 0,
    maxPendingSetsPerExporter: 0,
    exportersEvicted: 0,
    templatesEvicted: 0,
    pendingSetsDropped: 0,
    elapsedMs: 0,
    packetsPerSecond: 0,
    heapUsedMb: { start: 0, end: 0, peak: 0 },
    rssMb: { start: 0, end: 0, peak: 0 },
    heapAfterGcMb: [],
  };
  const gc = (globalThis as { gc?: () => void }).gc;
  const memory = () => process.memoryUsage();
  const startMemory = memory();
  report.heapUsedMb.start = report.heapUsedMb.peak = startMemory.heapUsed / MB;
  report.rssMb.start = report.rssMb.peak = startMemory.rss / MB;

  const check = () => {
    const stats = decoder.stats();
    report.maxExporters = Math.max(report.maxExporters, stats.exporterCount);
    if (stats.exporterCount > limits.maxExporters!)
      report.violations.push(`${stats.exporterCount} exporters`);
    for (const exporter of stats.exporters) {
      report.maxTemplatesPerExporter = Math.max(report.maxTemplatesPerExporter, exporter.activeTemplates);
      report.maxDomainsPerExporter = Math.max(report.maxDomainsPerExporter, exporter.domains);
      report.maxPendingSetsPerExporter = Math.max(report.maxPendingSetsPerExporter, exporter.pendingSets);
      if (exporter.activeTemplates > limits.maxTemplatesPerExporter!) {
        report.violations.push(`${exporter.exporter}: ${exporter.activeTemplates} templates`);
      }
      if (exporter.domains > limits.maxDomainsPerExporter!) {
        report.violations.push(`${exporter.exporter}: ${exporter.domains} domains`);
      }
      if (exporter.pendingSets > limits.maxDomainsPerExporter! * limits.maxPendingSetsPerDomain!) {
        report.violations.push(`${exporter.exporter}: ${exporter.pendingSets} held sets`);
      }
      if (exporter.pendingSets < 0) report.violations.push(`${exporter.exporter}: negative held sets`);
    }
    const used = memory();
    report.heapUsedMb.peak = Math.max(report.heapUsedMb.peak, used.heapUsed / MB);
    report.rssMb.peak = Math.max(report.rssMb.peak, used.rss / MB);
    return stats;
  };

  const started = performance.now();
  let receivedNs = 1_700_000_000_000_000_000n;
  for (let i = 0; i < count; i++) {
    const source = corpus[Math.floor(random() * corpus.length)]!;
    let payload: Buffer;
    if (random() < 0.15) {
      payload = source.payload;
      report.unmodified++;
    } else {
      const kind = MUTATION_KINDS[Math.floor(random() * MUTATION_KINDS.length)]!;
      const other = corpus[Math.floor(random() * corpus.length)]!;
      payload = mutatePacket(source.payload, other.payload, random, kind);
      mutated[kind]++;
    }
    // Mostly the capture's own exporter (so its templates apply), sometimes a stranger (exporter eviction).
    let exporter = source.exporter;
    if (random() < 0.05) {
      const address = new Uint8Array(4);
      address[0] = 10;
      address[1] = Math.floor(random() * 4);
      address[2] = Math.floor(random() * 256);
      address[3] = Math.floor(random() * 256);
      exporter = { address, port: 2055 };
    }
    receivedNs += 1_000_000n;
    try {
      const records = decoder.decode(payload, exporter, receivedNs);
      report.records += records.length;
      if (serialise) {
        for (const record of records) {
          try {
            toBinary(FlowRecordSchema, record);
          } catch {
            report.invalidRecords++;
          }
        }
      }
    } catch {
      report.thrown++;
    }
    report.packets++;
    if ((i + 1) % 1000 === 0) check();
    if ((i + 1) % progressEvery === 0) {
      if (gc !== undefined) {
        gc();
        report.heapAfterGcMb.push(Math.round((memory().heapUsed / MB) * 10) / 10);
      }
      options.onProgress?.(i + 1);
    }
  }
  report.elapsedMs = Math.round(performance.now() - started);
  report.packetsPerSecond = Math.round(report.packets / (report.elapsedMs / 1000));
  const stats = check();
  report.decodeErrors = stats.totals.decodeErrors;
  report.exportersEvicted = stats.exportersEvicted;
  report.templatesEvicted = stats.totals.templatesEvicted;
  report.pendingSetsDropped = stats.totals.pendingSetsDropped;
  const endMemory = memory();
  report.heapUsedMb.end = endMemory.heapUsed / MB;
  report.rssMb.end = endMemory.rss / MB;
  for (const key of ['heapUsedMb', 'rssMb'] as const) {
    for (const at of ['start', 'end', 'peak'] as const)
      report[key][at] = Math.round(report[key][at] * 10) / 10;
  }
  return report;
}

/** Whether a report shows a failure: a throw, a bug code, an invalid record or a limit breach. */
export function fuzzFailures(report: FuzzReport): string[] {
  const failures: string[] = [];
  if (report.thrown > 0) failures.push(`${report.thrown} decode calls threw`);
  const bugs = report.decodeErrors[NetflowErrorCode.DECODER_BUG] ?? 0;
  if (bugs > 0) failures.push(`${bugs} packets hit ${NetflowErrorCode.DECODER_BUG}`);
  if (report.invalidRecords > 0) failures.push(`${report.invalidRecords} records did not serialise`);
  failures.push(...report.violations.slice(0, 20));
  return failures;
}

async function main(): Promise<void> {
  const { count, seed, values } = parseFuzzCommandLine({
    seed: '20240601',
    options: { captures: process.env.KANSOKU_CAPTURES ?? '/work/shared/captures' },
  });
  const corpus = await loadNetflowCorpus(join(values.captures!, 'flows'));
  process.stderr.write(`fuzzing with ${count} packets from a corpus of ${corpus.length}, seed ${seed}\n`);
  const report = runFuzz({
    count,
    seed,
    corpus,
    onProgress: (done) => process.stderr.write(`  ${done} packets\n`),
  });
  process.stdout.write(`${JSON.stringify({ corpus: corpus.length, seed, ...report }, null, 2)}\n`);
  const failures = fuzzFailures(report);
  if (failures.length > 0) {
    process.stderr.write(`FAILED:\n  ${failures.join('\n  ')}\n`);
    process.exitCode = 1;
  }
}

runFuzzScript(import.meta.url, main);
