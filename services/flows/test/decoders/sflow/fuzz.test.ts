/**
 * 50,000 mutated datagrams (bit flips, truncations, corrupted lengths and counts, inserted and deleted
 * bytes, appended garbage) of the real captures and the synthetic seeds: none may make the decoder throw or
 * hang, and its state stays within its bounds. `fuzz.ts` runs the same with a million and more.
 */

import { describe, expect, it } from 'vitest';
import { sflowCaptureFiles } from '../../../src/decoders/sflow/captures.ts';
import { runSflowFuzz, sflowFuzzSeeds } from '../../../src/decoders/sflow/fuzz.ts';
import { SFLOW_ERROR_CODES } from '../../../src/decoders/sflow/index.ts';
import { MUTATION_KINDS } from '../../../src/decoders/sflow/mutate.ts';
import { syntheticDatagrams } from '../../../src/decoders/sflow/synthetic.ts';

const captures = sflowCaptureFiles().length > 0;
if (!captures) console.warn('no sFlow captures (set KANSOKU_CAPTURES): fuzzing the synthetic seeds only');

describe('sFlow decoder fuzzing', () => {
  it(`survives 50,000 mutated datagrams of ${captures ? 'the captures and ' : ''}the synthetic seeds`, {
    timeout: 120_000,
  }, async () => {
    const seeds = await sflowFuzzSeeds();
    const synthetic = syntheticDatagrams().length;
    if (captures) expect(seeds.length).toBeGreaterThan(synthetic);
    else expect(seeds).toHaveLength(synthetic);
    const maxAgents = 64;
    const report = runSflowFuzz({ count: 50_000, seed: 20240607, maxAgents, seeds });

    expect(report.throws, report.firstThrow?.error).toBe(0);
    expect(report.accepted + report.rejected).toBe(50_000);
    // Both outcomes happen: mutations that break the structure and ones that leave it decodable.
    expect(report.rejected).toBeGreaterThan(5_000);
    expect(report.accepted).toBeGreaterThan(5_000);
    expect(report.records).toBeGreaterThan(0);
    for (const code of Object.keys(report.decodeErrors)) expect(SFLOW_ERROR_CODES).toContain(code);
    expect(Object.keys(report.mutations).sort()).toEqual([...MUTATION_KINDS].sort());
    // Bounded state: agents invented by flipped address bits are evicted, never accumulated.
    expect(report.agentsTracked).toBeLessThanOrEqual(maxAgents);
    expect(report.agentsEvicted).toBeGreaterThan(0);
    // No hang: the slowest single datagram is far below anything a collector would notice.
    expect(report.slowestDecodeMs).toBeLessThan(250);
  });
});
