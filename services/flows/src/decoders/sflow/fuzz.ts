/**
 * Fuzzes the sFlow decoder with mutated datagrams (bit flips, truncations, corrupted lengths and counts,
 * inserted and deleted bytes, appended garbage) of the real captures and the synthetic seeds. Every
 * datagram must decode or be counted as malformed: a throw, a hang or state growing past its bounds fails.
 *
 *   tsx services/flows/src/decoders/sflow/fuzz.ts [--count 1000000] [--seed 1] [--max-agents 4096]
 *
 * Prints a JSON report; exits 1 when a datagram made the decoder throw (the first one is in the report, in
 * hex, with its iteration for replay).
 */

import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { parseFuzzCommandLine, runFuzzScript, seededRandom } from '@kansoku/kit/testing/fuzz';
import { readSflowCapture, sflowCaptureFiles } from './captures.ts';
import { createSflowDecoder } from './decoder.ts';
import { type MutationKind, mutateDatagram } from './mutate.ts';
import { syntheticDatagrams } from './synthetic.ts';

export interface SflowFuzzOptions {
  count: number;
  seed: number;
  maxAgents: number;
  /** Valid datagrams to mutate. */
  seeds: Buffer[];
}

export interface SflowFuzzReport {
  count: number;
  seed: number;
  seeds: number;
  elapsedMs: number;
  datagramsPerSecond: number;
  /** Datagrams that made decode() throw: must be 0. */
  throws: number;
  firstThrow: { iteration: number; kind: MutationKind; error: string; datagramHex: string } | undefined;
  /** Mutated datagrams decoded without a decode error (a mutation may leave a datagram valid). */
  accepted: number;
  rejected: number;
  decodeErrors: Record<string, number>;
  headerErrors: Record<string, number>;
  records: number;
  interfaceCounters: number;
  mutations: Record<string, number>;
  slowestDecodeMs: number;
  agentsTracked: number;
  maxAgents: number;
  agentsEvicted: number;
  heapUsedMbStart: number;
  heapUsedMbEnd: number;
  rssMbMax: number;
}

const MB = 1024 * 1024;

export function runSflowFuzz(options: SflowFuzzOptions): SflowFuzzReport {
  if (options.seeds.length === 0) throw new Error('no seed datagrams to mutate');
  const random = seededRandom(options.seed);
  const decoder = createSflowDecoder({ maxAgents: options.maxAgents });
  const source = { address: parseIpAddress('192.0.2.99'), port: 6343 };
  const mutations: Record<string, number> = {};
  let throws = 0;
  let firstThrow: SflowFuzzReport['firstThrow'];
  let records = 0;
  let slowest = 0;
  let rssMax = process.memoryUsage.rss();
  const heapStart = process.memoryUsage().heapUsed;
  const started = performance.now();

  for (let i = 0; i < options.count; i++) {
    const seed = options.seeds[Math.floor(random() * options.seeds.length)]!;
    const { datagram, kind } = mutateDatagram(seed, random);
    mutations[kind] = (mutations[kind] ?? 0) + 1;
    const before = performance.now();
    try {
      records += decoder.decode(datagram, source, BigInt(i)).records.length;
    } catch (error) {
      throws += 1;
      firstThrow ??= {
        iteration: i,
        kind,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        datagramHex: datagram.toString('hex'),
      };
    }
    const took = performance.now() - before;
    if (took > slowest) slowest = took;
    if ((i & 0xffff) === 0) rssMax = Math.max(rssMax, process.memoryUsage.rss());
  }

  const elapsedMs = performance.now() - started;
  const stats = decoder.stats();
  const rejected = Object.values(stats.totals.decodeErrors).reduce((a, b) => a + b, 0);
  return {
    count: options.count,
    seed: options.seed,
    seeds: options.seeds.length,
    elapsedMs: Math.round(elapsedMs),
    datagramsPerSecond: Math.round(options.count / (elapsedMs / 1000)),
    throws,
    firstThrow,
    accepted: stats.totals.datagrams - rejected,
    rejected,
    decodeErrors: stats.totals.decodeErrors,
    headerErrors: stats.totals.headerErrors,
    records,
    interfaceCounters: stats.totals.interfaceCounters,
    mutations,
    slowestDecodeMs: Math.round(slowest * 1000) / 1000,
    agentsTracked: stats.agents.length,
    maxAgents: options.maxAgents,
    agentsEvicted: stats.agentsEvicted,
    heapUsedMbStart: Math.round(heapStart / MB),
    heapUsedMbEnd: Math.round(process.memoryUsage().heapUsed / MB),
    rssMbMax: Math.round(Math.max(rssMax, process.memoryUsage.rss()) / MB),
  };
}

/** The captures' datagrams (when the folder is there) and the synthetic ones. */
export async function sflowFuzzSeeds(): Promise<Buffer[]> {
  const seeds = syntheticDatagrams();
  for (const file of sflowCaptureFiles()) {
    for (const captured of await readSflowCapture(file)) seeds.push(captured.datagram);
  }
  return seeds;
}

async function main(): Promise<void> {
  const { count, seed, values } = parseFuzzCommandLine({ seed: '1', options: { 'max-agents': '4096' } });
  const maxAgents = Number(values['max-agents']);
  if (!Number.isInteger(maxAgents) || maxAgents < 1) {
    throw new Error(`--max-agents must be a positive integer: ${values['max-agents']}`);
  }
  const seeds = await sflowFuzzSeeds();
  const report = runSflowFuzz({ count, seed, maxAgents, seeds });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (report.throws > 0 || report.agentsTracked > maxAgents) process.exitCode = 1;
}

runFuzzScript(import.meta.url, main, { exitCode: 2, stack: false });
